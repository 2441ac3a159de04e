import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { Tokenizer } from "../lib/models/tokenizer";
import { LlamaGen, tokenLayout, codesToTokens, tokensToCodes, indicesToTokenArray, type TokenLayout } from "../lib/models/llamagen";
import { FSQ } from "../lib/quant/fsq";
import { loadFashionMnist } from "../lib/data/fashion-mnist";
import { imageBatch, labelBatch } from "../lib/data/batches";
import { tokenizerArch, resolveTokenizerConfig } from "../lib/experiments/tokenizer/index";
import { resolveArConfig, trainAr, sampleImages, decodeTokens, arConfig } from "../lib/experiments/ar/index";
import { runEnv } from "../lib/experiments/kinds";
import { runId } from "../lib/train/run";
import { configHash } from "../lib/train/config";
import { lookupKind } from "../lib/train/registry";


before(async () => {
  await initBackend("cpu", { log: () => {} });
});

/** Heavy tests run on wasm (tfjs cpu is ~12× slower per training step); cheap ones on cpu; both in the gradient test. */
async function use(backend: "cpu" | "wasm"): Promise<void> {
  await initBackend(backend, { log: () => {} });
}

/** Real tokens: the first n training images quantized by an untrained tiny tokenizer (seeded). */
function realData(n: number, layout?: (fsq: FSQ) => TokenLayout): { tokens: tf.Tensor3D; classes: tf.Tensor1D; layout: TokenLayout; tokenizer: Tokenizer } {
  const tokenizer = new Tokenizer(tokenizerArch(resolveTokenizerConfig({ preset: "tiny" })), 0);
  const l = layout ? layout(tokenizer.fsq) : tokenLayout(tokenizer.fsq);
  const ds = loadFashionMnist("train", { limit: n });
  const idx = Array.from({ length: n }, (_, i) => i);
  const { tokens, classes } = tf.tidy(() => {
    const codes = tokenizer.quantizedLatent(imageBatch(ds, idx));
    return { tokens: codesToTokens(l, codes), classes: labelBatch(ds, idx) };
  });
  return { tokens, classes, layout: l, tokenizer };
}

/** A tiny model whose zero-initialised output heads (and the class embeddings) are randomised, so logits depend on the inputs. */
function tinyModel(groupSizes: number[], seed = 1): LlamaGen {
  const m = new LlamaGen({ dim: 32, depth: 2, heads: 2, headDepth: 1, gridH: 8, gridW: 8, numClasses: 10, groupSizes }, seed);
  for (const [name, v] of m.params.entries()) {
    if (name.startsWith("head.out") || name === "cls_emb") v.assign(tf.randomNormal(v.shape, 0, 0.5, "float32", seed));
  }
  return m;
}

function arrays(ts: tf.Tensor[]): Float32Array[] {
  return ts.map((t) => t.dataSync() as Float32Array);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("token layout: vocabularies come from the tokenizer's FSQ; tokens ⇄ codes ⇄ indices are exact", async () => {
  await use("cpu");
  const { tokens, layout, tokenizer } = realData(4);
  assert.deepEqual(layout.groupSizes, [17, 17, 17, 17]);
  assert.deepEqual(tokenLayout(tokenizer.fsq, "factorized", 2).groupSizes, [289, 289]);
  assert.deepEqual(tokenLayout(new FSQ({ levels: [5, 5, 5], bound: "ifsq" }), "single").groupSizes, [125]);
  assert.throws(() => tokenLayout(tokenizer.fsq, "single"), /vocabulary of 83521 .*above 16384.*factorized/);
  assert.throws(() => tokenLayout(tokenizer.fsq, "factorized", 3), /channelsPerGroup=3 must be a positive divisor of the latent dim d=4/);
  // codes → tokens → codes round trip, and tokenizer indices → tokens (plain integer arithmetic) agree
  const x = imageBatch(loadFashionMnist("train", { limit: 4 }), [0, 1, 2, 3]);
  const enc = tokenizer.encode(x);
  const back = tokensToCodes(layout, tokens, 8, 8);
  assert.equal(maxAbsDiff(back.dataSync(), enc.codes.dataSync()), 0);
  assert.deepEqual(indicesToTokenArray(layout, enc.indices.dataSync() as Int32Array), tokens.dataSync());
  const two = tokenLayout(tokenizer.fsq, "factorized", 2);
  const t2 = codesToTokens(two, enc.codes);
  assert.deepEqual(indicesToTokenArray(two, enc.indices.dataSync() as Int32Array), t2.dataSync());
  tf.dispose([x, enc.codes, enc.indices, enc.preQuant, enc.bounded, back, t2, tokens]);
  tokenizer.dispose();
});

test("causality: changing a later token never changes earlier logits (trunk and intra-position head)", async () => {
  await use("cpu");
  const { tokens, classes, layout, tokenizer } = realData(2);
  const m = tinyModel(layout.groupSizes);
  const base = tokens.arraySync() as number[][][];
  const j = 37;
  const changed = base.map((seq) => seq.map((pos, k) => (k === j ? pos.map((v) => (v + 5) % 17) : pos)));
  const a = m.forward(classes, tokens).logits;
  const t2 = tf.tensor3d(changed, undefined, "int32");
  const b = m.forward(classes, t2).logits;
  const [A, Bv] = [arrays(a), arrays(b)];
  const G = 4;
  const V = 17;
  const T = 64;
  for (let g = 0; g < G; g++) {
    for (let bb = 0; bb < 2; bb++) {
      for (let k = 0; k < T; k++) {
        const o = (bb * T + k) * V;
        const d = maxAbsDiff(A[g].subarray(o, o + V), Bv[g].subarray(o, o + V));
        if (k < j || (k === j && g === 0)) assert.ok(d < 1e-5, `group ${g} position ${k} changed by ${d} though only position ${j} changed`);
      }
    }
  }
  // later positions do see the change
  const after = (g: number) => maxAbsDiff(A[g].subarray((j + 1) * V, T * V), Bv[g].subarray((j + 1) * V, T * V));
  assert.ok(after(0) > 1e-3, "positions after j depend on it");
  // intra-position: changing sub-token 2 of position j changes only slot 3 at that position
  const sub = base.map((seq) => seq.map((pos, k) => (k === j ? pos.map((v, g) => (g === 2 ? (v + 3) % 17 : v)) : pos)));
  const t3 = tf.tensor3d(sub, undefined, "int32");
  const c = arrays(m.forward(classes, t3).logits);
  const at = (arr: Float32Array) => arr.subarray(j * V, (j + 1) * V);
  for (const g of [0, 1, 2]) assert.ok(maxAbsDiff(at(A[g]), at(c[g])) < 1e-5, `slot ${g} does not see sub-token 2`);
  assert.ok(maxAbsDiff(at(A[3]), at(c[3])) > 1e-4, "slot 3 sees sub-token 2");
  tf.dispose([...a, ...b, t2, t3, tokens, classes]);
  m.dispose();
  tokenizer.dispose();
});

test("KV-cache sampling gives the same tokens as full recomputation (fixed seed, CFG, temperature, top-k, top-p)", async () => {
  await use("wasm");
  const m = tinyModel([17, 17, 17, 17], 2);
  const classes = [0, 3, 9, 10];
  const opts = { seed: 11, cfgScale: 2.5, temperature: 0.9, topK: 12, topP: 0.95 };
  const withCache = await m.generate(classes, { ...opts, kvCache: true });
  const without = await m.generate(classes, { ...opts, kvCache: false });
  assert.deepEqual(withCache, without);
  assert.equal(withCache.length, 4 * 64 * 4);
  assert.deepEqual(await m.generate(classes, { ...opts }), withCache, "same seed, same tokens");
  assert.notDeepEqual(await m.generate(classes, { ...opts, seed: 12 }), withCache, "another seed, other tokens");
  m.dispose();
});

test("sampling logits are the teacher-forced ones: greedy tokens are the argmax of forward() on them (trunk and head KV caches)", async () => {
  await use("wasm");
  const m = tinyModel([17, 17, 17, 17], 2);
  // random weights everywhere (the output layers start at zero, where every token is an argmax)
  let i = 0;
  for (const [, v] of m.params.entries()) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.3, "float32", 100 + i++)));
  const classes = [0, 3, 9];
  const toks = await m.generate(classes, { seed: 5, temperature: 0 });
  const T = m.seqLen;
  const G = m.numGroups;
  const logits = tf.tidy(() => m.forward(tf.tensor1d(classes, "int32"), tf.tensor3d(toks, [3, T, G], "int32")).logits.map((l) => l.arraySync() as number[][][]));
  let worst = 0;
  for (let b = 0; b < 3; b++) {
    for (let k = 0; k < T; k++) {
      for (let g = 0; g < G; g++) {
        const row = logits[g][b][k];
        // the chosen token's teacher-forced logit is the row's maximum (up to float order between the two paths)
        worst = Math.max(worst, Math.max(...row) - row[toks[(b * T + k) * G + g]]);
      }
    }
  }
  assert.ok(worst < 1e-4, `a greedy token is ${worst} below its row's maximum teacher-forced logit`);
  m.dispose();
});

test("single-index mode: one token per position, KV cache = recomputation, forward shape [B, T, V]", async () => {
  await use("wasm");
  const m = tinyModel([125], 3);
  const toks = await m.generate([1, 2], { seed: 4, cfgScale: 1.5 });
  assert.deepEqual(await m.generate([1, 2], { seed: 4, cfgScale: 1.5, kvCache: false }), toks);
  const t = tf.tensor3d(toks, [2, 64, 1], "int32");
  const c = tf.tensor1d([1, 2], "int32");
  const { logits } = m.forward(c, t);
  assert.equal(logits.length, 1);
  assert.deepEqual(logits[0].shape, [2, 64, 125]);
  tf.dispose([t, c, ...logits]);
  m.dispose();
});

test("CFG scale 1 equals the conditional model: the [cond; null] path at s = 1 gives the conditional tokens", async () => {
  await use("wasm");
  const m = tinyModel([17, 17, 17, 17], 4);
  const classes = [2, 5, 7];
  const cond = await m.generate(classes, { seed: 8, cfgScale: 1 });
  const guided = await m.generate(classes, { seed: 8, cfgScale: 1, forceGuidance: true });
  assert.deepEqual(guided, cond);
  // and guidance changes something at s = 3 (the null class differs from the real ones)
  assert.notDeepEqual(await m.generate(classes, { seed: 8, cfgScale: 3 }), cond);
  m.dispose();
});

test("bad input is a clear error: class out of range, wrong sequence length or groups, token out of range, vocabulary mismatch", async () => {
  await use("cpu");
  const m = tinyModel([17, 17, 17, 17]);
  const good = tf.zeros([2, 64, 4], "int32") as tf.Tensor3D;
  const cls = (v: number[]) => tf.tensor1d(v, "int32");
  assert.throws(() => m.forward(cls([0, 11]), good), /class\[1\]=11 is out of range; expected an integer in \[0, 10\) or 10 \(the null class\)/);
  assert.throws(() => m.forward(cls([-1, 0]), good), /class\[0\]=-1/);
  assert.throws(() => m.forward(tf.tensor1d([0, 1]) as tf.Tensor1D, good), /classes have dtype float32; expected int32/);
  assert.throws(() => m.forward(cls([0, 1]), tf.zeros([2, 63, 4], "int32") as tf.Tensor3D), /tokens have shape \[2,63,4\]; expected \[2, 64, 4\] \(the 8×8 grid in raster order, 4 sub-tokens per position\)/);
  assert.throws(() => m.forward(cls([0, 1]), tf.zeros([2, 64, 1], "int32") as tf.Tensor3D), /expected \[2, 64, 4\]/);
  assert.throws(() => m.forward(cls([0]), good), /expected \[1, 64, 4\]/);
  const bad = tf.tensor3d(Int32Array.from({ length: 2 * 64 * 4 }, (_, i) => (i === 4 * 10 + 2 ? 17 : 0)), [2, 64, 4], "int32");
  assert.throws(() => m.forward(cls([0, 1]), bad), /tokens\[0, 10, 2\]=17 is out of range; expected \[0, 17\) for sub-token 2/);
  await assert.rejects(() => m.generate([0, 10, 12]), /class\[2\]=12 is out of range/);
  await assert.rejects(() => m.generate([0], { topP: 2 }), /topP=2/);
  // a model trained on 17-level tokens with a 9-level tokenizer
  const other = tokenLayout(new FSQ({ levels: [9, 9, 9, 9], bound: "ifsq" }));
  assert.throws(() => m.checkLayout(other), /sub-token vocabularies \[17, 17, 17, 17\] do not match the tokenizer's \[9, 9, 9, 9\]/);
  assert.throws(() => new LlamaGen({ dim: 24, depth: 1, heads: 4, headDepth: 1, gridH: 8, gridW: 8, numClasses: 10, groupSizes: [17, 17] }), /head dim 24\/4=6 must be a multiple of 4/);
  assert.throws(() => new LlamaGen({ dim: 32, depth: 1, heads: 2, headDepth: 1, gridH: 8, gridW: 8, numClasses: 10, groupSizes: [83521] }), /single vocabulary 83521 > 16384/);
  // the AR config's tokenizer id must match its tokenizer config
  assert.throws(() => resolveArConfig({ preset: "tiny", set: ["tokenizerRun=tokenizer-000000000000"] }), /tokenizerRun="tokenizer-000000000000" does not match the tokenizer config/);
  tf.dispose([good, bad]);
  m.dispose();
});

test("forward + backward on wasm and cpu: every parameter gets a finite gradient, and the backends agree", async () => {
  const result: Record<string, { loss: number; grads: Record<string, Float32Array> }> = {};
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    const { tokens, classes, layout, tokenizer } = realData(4);
    const m = tinyModel(layout.groupSizes, 5);
    const { value, grads } = tf.variableGrads(() => m.loss(classes, tokens, { seed: 1, labelDropout: 0.5, tokenDropout: 0.1, residDropout: 0.1 }).loss, m.params.variables());
    const named: Record<string, Float32Array> = {};
    const byVar = new Map(m.params.entries().map(([n, v]) => [v.name, n]));
    for (const [k, g] of Object.entries(grads)) named[byVar.get(k)!] = g.dataSync() as Float32Array;
    for (const n of m.params.names()) {
      assert.ok(named[n], `${backend}: no gradient for ${n}`);
      assert.ok(named[n].every(Number.isFinite), `${backend}: non-finite gradient for ${n}`);
    }
    assert.ok(named["tok_emb"].some((v) => v !== 0), "the embedding gets a gradient (scatterND)");
    result[backend] = { loss: value.dataSync()[0], grads: named };
    tf.dispose([value, ...Object.values(grads), tokens, classes]);
    m.dispose();
    tokenizer.dispose();
  }
  await initBackend("cpu", { log: () => {} });
  assert.ok(Math.abs(result.cpu.loss - result.wasm.loss) < 1e-4, `loss cpu ${result.cpu.loss} vs wasm ${result.wasm.loss}`);
  for (const n of Object.keys(result.cpu.grads)) {
    const a = result.cpu.grads[n];
    const b = result.wasm.grads[n];
    const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
    assert.ok(maxAbsDiff(a, b) / scale < 1e-3, `${n}: cpu and wasm gradients differ by ${maxAbsDiff(a, b)} (scale ${scale})`);
  }
});

test("trainAr (tiny): trains the tokenizer run it names, caches its tokens, loss falls on real tokens, no tensor leak per step; a finished run is reused", async () => {
  await use("wasm");
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-ar-"));
  const overrides = { steps: 30, trainLimit: 512, tokenizer: { steps: 4, trainLimit: 512 } };
  const cfg = resolveArConfig({ preset: "tiny", overrides });
  assert.equal(cfg.tokenizerRun, runId("tokenizer", cfg.tokenizer));
  assert.equal(cfg.tokenizerHash, configHash(cfg.tokenizer));
  assert.equal(lookupKind(runEnv({ runsDir }).kinds, "ar").configDef, arConfig);
  const counts: number[] = [];
  const ar = await trainAr(runEnv({ runsDir, log: () => {}, progress: false }), { config: cfg, train: { progress: false, onStep: () => counts.push(tf.memory().numTensors) } });
  assert.equal(ar.reused, false);
  assert.equal(path.basename(ar.tokenizerRunDir), cfg.tokenizerRun);
  assert.ok(fs.existsSync(path.join(ar.tokenizerRunDir, "done.json")), "the tokenizer run finished");
  assert.ok(fs.existsSync(path.join(ar.tokenizerRunDir, "tokens-train-n512.bin")), "tokens cached next to the tokenizer run");
  const stored = JSON.parse(fs.readFileSync(path.join(ar.runDir, "config.json"), "utf8"));
  assert.equal(stored.config.tokenizerRun, cfg.tokenizerRun, "the AR run records its tokenizer");
  assert.deepEqual(counts.slice(1), new Array(counts.length - 1).fill(counts[1]), `tensors per step: ${counts.join(",")}`);
  const rows = ar.metrics.filter((r) => r.type === "train");
  const first = rows[0].loss as number;
  const last = rows[rows.length - 1].loss as number;
  assert.ok(first > 9 && first < 12, `starts near 4·ln 17 = 11.33 (got ${first})`);
  assert.ok(last < first - 1, `loss falls on real tokens: ${first} → ${last}`);
  assert.equal(rows[rows.length - 1].flops, 30 * ar.model.flops().trainPerSample * cfg.batchSize);
  for (const k of ["ce0", "ce1", "ce2", "ce3"]) assert.equal(typeof rows[0][k], "number");
  // sampling to images
  const x = await sampleImages(ar, [0, 1, 2], { seed: 1, cfgScale: 2 });
  assert.deepEqual(x.shape, [3, 32, 32, 1]);
  assert.ok((x.dataSync() as Float32Array).every(Number.isFinite));
  const y = await sampleImages(ar, [0, 1, 2], { seed: 1, cfgScale: 2 });
  assert.deepEqual(Array.from(y.dataSync()), Array.from(x.dataSync()), "seeded");
  tf.dispose([x, y]);
  const weights = ar.model.params.get("tok_emb").dataSync().slice();
  ar.dispose();
  // reuse: the finished run and the cached tokens are loaded, nothing is retrained
  const again = await trainAr(runEnv({ runsDir, log: () => assert.fail("no log line expected on reuse"), progress: false }), { config: cfg });
  assert.equal(again.reused, true);
  assert.deepEqual(again.model.params.get("tok_emb").dataSync(), weights);
  assert.throws(() => decodeTokens(again, new Int32Array(64 * 4), 2), /size|shape|values/i);
  again.dispose();
  fs.rmSync(runsDir, { recursive: true, force: true });
});
