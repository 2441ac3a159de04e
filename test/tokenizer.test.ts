import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { Tokenizer, DEFAULT_TOKENIZER_ARCH, tokenizerFlops, validateTokenizerArch, type TokenizerArch } from "../lib/models/tokenizer";

const TINY: TokenizerArch = { ...DEFAULT_TOKENIZER_ARCH, channels: [8, 16, 16], resBlocks: 1, midBlocks: 1, levels: [17, 17, 17, 17], latentDim: 4 };

function images(n: number, seed = 1): tf.Tensor4D {
  return tf.tidy(() => tf.tanh(tf.randomNormal([n, 32, 32, 1], 0, 1, "float32", seed)) as tf.Tensor4D);
}

test("tiny tokenizer: f = 4, shapes of encode/decode, codes on the grid, indices in range", async () => {
  await initBackend("cpu", { log: () => {} });
  const tok = new Tokenizer(TINY, 7);
  assert.equal(tok.factor, 4);
  assert.equal(tok.gridSize, 8);
  assert.deepEqual(tok.latentShape, [8, 8, 4]);
  assert.ok(Math.abs(tok.bitsPerImage - 64 * 4 * Math.log2(17)) < 1e-9);
  const x = images(3);
  const enc = tok.encode(x);
  assert.deepEqual(enc.codes.shape, [3, 8, 8, 4]);
  assert.deepEqual(enc.preQuant.shape, [3, 8, 8, 4]);
  assert.deepEqual(enc.bounded.shape, [3, 8, 8, 4]);
  assert.deepEqual(enc.indices.shape, [3, 8, 8]);
  assert.equal(enc.indices.dtype, "int32");
  const codes = enc.codes.dataSync();
  const bounded = enc.bounded.dataSync();
  for (let i = 0; i < codes.length; i++) {
    assert.ok(Math.abs(codes[i] * 8 - Math.round(codes[i] * 8)) < 1e-5, `code ${codes[i]} is not k/8`);
    assert.ok(Math.abs(bounded[i]) < 1, `iFSQ bounded value ${bounded[i]} outside (−1, 1)`);
    // codes are the rounded bounded values
    assert.ok(Math.abs(codes[i] - Math.round(bounded[i] * 8) / 8) < 1e-6);
  }
  for (const v of enc.indices.dataSync()) assert.ok(v >= 0 && v < 17 ** 4);
  const y = tok.decode(enc.codes);
  assert.deepEqual(y.shape, [3, 32, 32, 1]);
  tf.dispose([x, enc.codes, enc.indices, enc.preQuant, enc.bounded, y]);
  tok.dispose();
});

test("decodeIndices(indices) equals decode(codes) exactly", async () => {
  await initBackend("cpu", { log: () => {} });
  for (const bound of ["tanh", "ifsq"] as const) {
    // mixed levels (an even one for tanh) exercise the mixed-radix basis
    const levels = bound === "tanh" ? [5, 3, 7, 4] : [5, 3, 7, 9];
    const tok = new Tokenizer({ ...TINY, bound, levels }, 3);
    const x = images(2, 5);
    const enc = tok.encode(x);
    const a = tok.decode(enc.codes);
    const b = tok.decodeIndices(enc.indices);
    assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
    tf.dispose([x, enc.codes, enc.indices, enc.preQuant, enc.bounded, a, b]);
    tok.dispose();
  }
});

test("same seed ⇒ same weights whatever the bound; parameter names are stable", async () => {
  await initBackend("cpu", { log: () => {} });
  const a = new Tokenizer({ ...TINY, bound: "tanh" }, 11);
  const b = new Tokenizer({ ...TINY, bound: "ifsq" }, 11);
  assert.deepEqual(a.params.names(), b.params.names());
  assert.ok(a.params.names().includes("enc.down0.downsample.w"));
  assert.ok(a.params.names().includes("dec.up1.upsample.w"));
  assert.ok(a.params.names().includes("enc.quant_conv.w"));
  for (const [n, v] of a.params.entries()) assert.deepEqual(Array.from(v.dataSync()), Array.from(b.params.get(n).dataSync()), n);
  a.dispose();
  b.dispose();
});

test("FLOP count matches a hand count for a minimal architecture", () => {
  // channels [4, 8], no res blocks, d = 2: enc conv_in 1→4 @32², down 4→4 @16², conv_out 4→4 @16², quant 4→2 @16²;
  // dec post 2→2, conv_in 2→8 @16², no blocks except level-0 transitions: level1 (resBlocks+1 = 1 block 8→8 @16²),
  // upsample 8→8 @32², level0 block 8→4 @32² (+1×1 skip), conv_out 4→1 @32².
  const arch: TokenizerArch = { ...DEFAULT_TOKENIZER_ARCH, channels: [4, 8], resBlocks: 0, midBlocks: 0, levels: [5, 5], latentDim: 2, normGroups: 4 };
  const s1 = 32 * 32;
  const s2 = 16 * 16;
  // encoder: resBlocks 0 so no channel change before the downsample: conv_in 1→4, down 4→4, conv_out 4→4, quant 4→2
  const enc = 9 * 1 * 4 * s1 + 9 * 4 * 4 * s2 + 9 * 4 * 4 * s2 + 1 * 4 * 2 * s2;
  const dec =
    1 * 2 * 2 * s2 + 9 * 2 * 8 * s2 + (9 * 8 * 8 * s2 + 9 * 8 * 8 * s2) + 9 * 8 * 8 * s1 + (9 * 8 * 4 * s1 + 9 * 4 * 4 * s1 + 8 * 4 * s1) + 9 * 4 * 1 * s1;
  const f = tokenizerFlops(arch);
  assert.equal(f.encoder, 2 * enc);
  assert.equal(f.decoder, 2 * dec);
  assert.equal(f.trainPerImage, 3 * 2 * (enc + dec));
});

test("forward + backward on cpu and wasm: every parameter gets a finite gradient, and the backends agree", async () => {
  const results: { loss: number; gradNorms: Record<string, number> }[] = [];
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    const tok = new Tokenizer(TINY, 5);
    const x = images(2, 9);
    const vars = tok.params.variables();
    const { value, grads } = tf.variableGrads(() => tok.loss(x).loss, vars);
    const byVar = new Map(tok.params.entries().map(([n, v]) => [v.name, n]));
    const gradNorms: Record<string, number> = {};
    for (const [k, g] of Object.entries(grads)) gradNorms[byVar.get(k)!] = Math.sqrt(tf.tidy(() => tf.sum(tf.square(g))).dataSync()[0]);
    assert.equal(Object.keys(gradNorms).length, tok.params.names().length, `${backend}: some parameters got no gradient`);
    for (const [n, v] of Object.entries(gradNorms)) assert.ok(Number.isFinite(v), `${backend}: gradient of ${n} is ${v}`);
    // the encoder learns through the straight-through estimator
    assert.ok(gradNorms["enc.conv_in.w"] > 0, `${backend}: no gradient reaches the encoder`);
    results.push({ loss: value.dataSync()[0], gradNorms });
    tf.dispose([x, value, ...Object.values(grads)]);
    tok.dispose();
  }
  const [c, w] = results;
  assert.ok(Math.abs(c.loss - w.loss) < 1e-4 * Math.max(1, c.loss), `loss cpu ${c.loss} vs wasm ${w.loss}`);
  for (const n of Object.keys(c.gradNorms)) {
    const a = c.gradNorms[n];
    const b = w.gradNorms[n];
    // rounding can flip on a float tie between backends; allow a small relative difference
    assert.ok(Math.abs(a - b) <= 2e-2 * Math.max(a, b) + 1e-6, `${n}: grad norm cpu ${a} vs wasm ${b}`);
  }
});

test("bad inputs are clear errors: image size, channels, rank, dtype, latent shapes, architecture", async () => {
  await initBackend("cpu", { log: () => {} });
  const tok = new Tokenizer(TINY, 1);
  const bad = [tf.zeros([2, 28, 28, 1]), tf.zeros([2, 32, 32, 3]), tf.zeros([32, 32, 1]), tf.zeros([1, 32, 32, 1], "int32")];
  assert.throws(() => tok.encode(bad[0] as tf.Tensor4D), /shape \[2,28,28,1\]; expected \[batch, 32, 32, 1\]/);
  assert.throws(() => tok.encode(bad[1] as tf.Tensor4D), /shape \[2,32,32,3\]; expected \[batch, 32, 32, 1\]/);
  assert.throws(() => tok.loss(bad[2] as unknown as tf.Tensor4D), /shape \[32,32,1\]; expected \[batch, 32, 32, 1\]/);
  assert.throws(() => tok.encode(bad[3] as tf.Tensor4D), /dtype int32; expected float32/);
  const z = tf.zeros([1, 8, 8, 3]);
  assert.throws(() => tok.decode(z as tf.Tensor4D), /codes has shape \[1,8,8,3\]; expected \[batch, 8, 8, 4\]/);
  const idx = tf.zeros([1, 4, 4], "int32");
  assert.throws(() => tok.decodeIndices(idx as tf.Tensor3D), /indices have shape \[1,4,4\]; expected \[batch, 8, 8\]/);
  tf.dispose([...bad, z, idx]);
  tok.dispose();
  assert.throws(() => validateTokenizerArch({ ...TINY, levels: [17, 17, 17] }), /levels=\[17,17,17\] must have one level per latent channel \(latentDim=4\)/);
  assert.throws(() => validateTokenizerArch({ ...TINY, imageSize: 30 }), /imageSize=30 is not divisible by the downsampling factor f=4/);
  assert.throws(() => validateTokenizerArch({ ...TINY, channels: [8, 12, 16] }), /channels\[1\]=12 is not divisible by normGroups=8/);
  assert.throws(() => new Tokenizer({ ...TINY, bound: "ifsq", levels: [16, 16, 16, 16] }), /levels\[0\]=16/);
});
