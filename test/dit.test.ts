/**
 * lib/models/dit.ts: zero output at initialisation, shapes, the hidden states for REPA, the timestep embedding,
 * FLOPs, label dropout, CFG scale 1 = conditional model, clear errors on bad input, and cpu/wasm agreement with
 * finite gradients for every parameter.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { DiT, ditFlops, timestepEmbedding, sincosPosEmbed2d, validateDiTArch, type DiTArch } from "../lib/models/dit";
import { blockMacs } from "../lib/nn/flops";
import { guidedVelocityFn, sampleFlow } from "../lib/flow/sampler";
import { flowPair } from "../lib/flow/path";
import { flowMatchingLoss } from "../lib/flow/loss";

const quiet = { log: () => {} };
const TINY: DiTArch = { gridSize: 8, channels: 4, dim: 32, depth: 2, heads: 2, numClasses: 10, freqDim: 64, absPosEmbed: true, ropeBase: 10000, normEps: 1e-6 };

/** Randomises the zero-initialised layers so the output depends on every input. */
function randomised(arch: DiTArch, seed = 1): DiT {
  const m = new DiT(arch, seed);
  for (const [name, v] of m.params.entries()) {
    if (/adaLN|final\.linear/.test(name)) v.assign(tf.randomNormal(v.shape, 0, 0.1, "float32", seed + v.size));
  }
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of ENGINES) {
  test(`at initialisation the DiT outputs exactly zero (${backend})`, async () => {
    await initBackend(backend, quiet);
    const m = new DiT(TINY, 0);
    const x = tf.randomNormal([3, 8, 8, 4], 0, 1, "float32", 1);
    const out = m.forward(x, [0.1, 0.5, 0.9], [0, 3, 10]);
    assert.deepEqual(out.velocity.shape, [3, 8, 8, 4]);
    assert.equal(maxAbs(out.velocity.dataSync()), 0);
    // every block is the identity at init (all gates zero), so the hidden state after block 2 = the embedded tokens
    const h = m.forward(x, 0.5, [1, 2, 3], { hiddenAfter: 2 });
    const h1 = m.forward(x, 0.5, [1, 2, 3], { hiddenAfter: 1 });
    assert.deepEqual(h.hidden!.shape, [3, 64, 32]);
    assert.equal(maxAbsDiff(h.hidden!.dataSync(), h1.hidden!.dataSync()), 0);
    tf.dispose([x, out.velocity, h.velocity, h.hidden!, h1.velocity, h1.hidden!]);
    m.dispose();
  });

  test(`cpu and wasm agree; every parameter gets a finite gradient (${backend})`, async () => {
    await initBackend(backend, quiet);
    const m = randomised(TINY, 2);
    const x1 = tf.randomNormal([2, 8, 8, 4], 0, 1, "float32", 3);
    const y = tf.tensor1d([4, 10], "int32");
    const { value, grads } = tf.variableGrads(() => {
      const p = flowPair(x1, 5);
      return flowMatchingLoss(m.velocity(p.xt, p.t, y), p.target).loss;
    });
    const byVar = new Map(m.params.entries().map(([n, v]) => [v.name, n]));
    const named = new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k)!, g]));
    for (const name of m.params.names()) {
      const g = named.get(name);
      assert.ok(g, `no gradient for ${name}`);
      assert.ok(Array.from(g.dataSync()).every(Number.isFinite), `non-finite gradient for ${name}`);
    }
    // the null class row gets a gradient from label 10; unused rows none
    const gy = named.get("y_embed.table")!.arraySync() as number[][];
    assert.ok(maxAbs(gy[10]) > 0 && maxAbs(gy[4]) > 0 && maxAbs(gy[0]) === 0);
    // forward values on this backend vs cpu
    const v = m.velocity(x1, 0.3, y);
    const here = Float32Array.from(v.dataSync());
    await initBackend("cpu", quiet);
    const mc = randomised(TINY, 2);
    const xc = tf.tensor4d(Array.from(await x1.data()), [2, 8, 8, 4]);
    const vc = mc.velocity(xc, 0.3, [4, 10]);
    assert.ok(maxAbsDiff(here, vc.dataSync()) < 1e-4, `cpu vs ${backend}: ${maxAbsDiff(here, vc.dataSync())}`);
    tf.dispose([xc, vc]);
    mc.dispose();
    await initBackend(backend, quiet);
    tf.dispose([x1, y, value, ...Object.values(grads), v]);
    m.dispose();
  });
}

test("timestep embedding, position embedding, FLOPs and parameter names", async () => {
  await initBackend("cpu", quiet);
  const e = timestepEmbedding(tf.tensor1d([0, 1]), 8);
  const v = e.arraySync() as number[][];
  assert.deepEqual(v[0], [1, 1, 1, 1, 0, 0, 0, 0]); // t = 0: cos 1, sin 0
  // t = 1: frequencies 10000^(−i/4), i = 0..3
  for (let i = 0; i < 4; i++) {
    const f = Math.pow(10000, -i / 4);
    assert.ok(Math.abs(v[1][i] - Math.cos(f)) < 1e-6 && Math.abs(v[1][4 + i] - Math.sin(f)) < 1e-6);
  }
  e.dispose();
  const pos = sincosPosEmbed2d(8, 2); // [4 cells, 8]: cols then rows, each [sin | cos]
  assert.deepEqual(Array.from(pos.subarray(0, 8)), [0, 0, 1, 1, 0, 0, 1, 1]);
  assert.ok(Math.abs(pos[8 + 0] - Math.sin(1)) < 1e-7 && Math.abs(pos[8 + 4] - 0) < 1e-7); // cell (0, 1)
  // FLOPs: embed + t-MLP + blocks + final adaLN + final linear, 2·MAC, training 3×
  const m = new DiT(TINY, 0);
  const f = ditFlops(TINY);
  const T = 64;
  const macs = T * 4 * 32 + (64 * 32 + 32 * 32) + 2 * blockMacs(m.blockConfig, T) + 32 * 64 + T * 32 * 4;
  assert.equal(f.forwardMacs, macs);
  assert.equal(f.trainPerSample, 6 * macs);
  assert.equal(m.blockConfig.mlpHidden, 85); // ⌊2/3·4·32⌋
  const names = m.params.names();
  for (const n of ["x_embed.w", "t_embed.fc1.w", "t_embed.fc2.b", "y_embed.table", "blocks.0.attn.qkv.b", "blocks.1.attn.qNorm.gamma", "blocks.1.adaLN.w", "final.adaLN.w", "final.linear.w"]) {
    assert.ok(names.includes(n), `missing ${n}`);
  }
  assert.deepEqual(m.params.get("y_embed.table").shape, [11, 32]);
  m.dispose();
});

test("label dropout is seeded and hits the null class at the given rate", async () => {
  await initBackend("cpu", quiet);
  const m = new DiT(TINY, 0);
  const y = tf.tensor1d(Array.from({ length: 4000 }, (_, i) => i % 10), "int32");
  const a = m.dropLabels(y, 0.1, 7).dataSync();
  const b = m.dropLabels(y, 0.1, 7).dataSync();
  assert.deepEqual(Array.from(a), Array.from(b));
  const dropped = Array.from(a).filter((v) => v === 10).length / 4000;
  assert.ok(Math.abs(dropped - 0.1) < 0.02, `dropped ${dropped}`);
  Array.from(a).forEach((v, i) => assert.ok(v === 10 || v === i % 10));
  assert.deepEqual(Array.from(m.dropLabels(y, 0, 7).dataSync()), Array.from(y.dataSync()));
  assert.throws(() => m.dropLabels(y, 1.5, 7), /rate=1.5/);
  y.dispose();
  m.dispose();
});

test("CFG scale 1 equals the conditional model (velocity and whole samples); no tensor leak per Euler step", async () => {
  await initBackend("cpu", quiet);
  const m = randomised(TINY, 3);
  const y = tf.tensor1d([0, 5, 9], "int32");
  const x = tf.randomNormal([3, 8, 8, 4], 0, 1, "float32", 4);
  const cond = m.velocity(x, 0.4, y);
  const s1 = guidedVelocityFn(m, y, { cfgScale: 1 })(x, 0.4, 0);
  assert.equal(maxAbsDiff(cond.dataSync(), s1.dataSync()), 0);
  // s ≠ 1 really guides: v_u + s(v_c − v_u) from separate conditional and null-class passes
  const vu = m.velocity(x, 0.4, [10, 10, 10]);
  const s2 = guidedVelocityFn(m, y, { cfgScale: 2 })(x, 0.4, 0);
  const exp = tf.add(vu, tf.mul(tf.sub(cond, vu), 2));
  assert.ok(maxAbsDiff(s2.dataSync(), exp.dataSync()) < 1e-5);
  assert.ok(maxAbsDiff(s2.dataSync(), cond.dataSync()) > 1e-3);
  const a = sampleFlow(m, y, [8, 8, 4], { steps: 3, seed: 2, cfgScale: 1 });
  const b = sampleFlow(m, y, [8, 8, 4], { steps: 3, seed: 2 });
  assert.equal(maxAbsDiff(a.dataSync(), b.dataSync()), 0);
  const counts: number[] = [];
  const c = sampleFlow(m, y, [8, 8, 4], { steps: 4, seed: 1, cfgScale: 3, onStep: () => counts.push(tf.memory().numTensors) });
  assert.equal(new Set(counts).size, 1, `tensor counts per step: ${counts}`);
  tf.dispose([y, x, cond, s1, vu, s2, exp, a, b, c]);
  m.dispose();
});

test("bad input is a clear error: shapes, class range, times, hidden layer, architecture", async () => {
  await initBackend("cpu", quiet);
  const m = new DiT(TINY, 0);
  const x = tf.zeros([2, 8, 8, 4]);
  assert.throws(() => m.forward(tf.zeros([2, 8, 8, 3]), 0.5, [0, 1]), /x has shape \[2,8,8,3\]; expected \[batch, 8, 8, 4\]/);
  assert.throws(() => m.forward(tf.zeros([2, 64, 4]), 0.5, [0, 1]), /expected \[batch, 8, 8, 4\]/);
  assert.throws(() => m.forward(tf.zeros([2, 8, 8, 4], "int32"), 0.5, [0, 1]), /dtype int32; expected float32/);
  assert.throws(() => m.forward(x, 0.5, [0, 11]), /labels.*\[1\]=11 is out of range; expected an integer in \[0, 11\)/);
  assert.throws(() => m.forward(x, 0.5, [0, -1]), /\[1\]=-1 is out of range/);
  assert.throws(() => m.forward(x, 0.5, [0]), /1 labels for a batch of 2/);
  assert.throws(() => m.forward(x, 0.5, tf.tensor1d([0, 1])), /labels must be an int32 tensor/);
  assert.throws(() => m.forward(x, 1.5, [0, 1]), /t=1.5 must lie in \[0, 1\]/);
  assert.throws(() => m.forward(x, [0.5, -0.1], [0, 1]), /t\[1\]=-0.1/);
  assert.throws(() => m.forward(x, tf.zeros([3]) as tf.Tensor1D, [0, 1]), /t has shape \[3\]; expected \[2\]/);
  assert.throws(() => m.forward(x, 0.5, [0, 1], { hiddenAfter: 3 }), /hiddenAfter=3 must be a block number in 1…2/);
  assert.throws(() => validateDiTArch({ ...TINY, heads: 3 }), /heads=3 must divide dim=32/);
  assert.throws(() => validateDiTArch({ ...TINY, dim: 24, heads: 4 }), /head dim dim\/heads = 6 must be a multiple of 4/);
  assert.throws(() => validateDiTArch({ ...TINY, depth: 0 }), /depth=0 must be a positive integer/);
  assert.throws(() => sampleFlow(m, tf.tensor1d([0], "int32"), [8, 8, 4], { steps: 0 }), /steps=0 must be a positive integer/);
  // nothing leaked by the failed calls
  const before = tf.memory().numTensors;
  assert.throws(() => m.forward(x, 0.5, [0, 99]), /out of range/);
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  m.dispose();
});
