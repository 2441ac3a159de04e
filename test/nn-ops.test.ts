/**
 * The fast ops of lib/nn (custom gradients for wasm) against the plain tfjs formulation: same values and gradients
 * on cpu within float32 tolerance; the same ops run forward + backward on wasm and agree with cpu; no tensor leaks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { FAST_ENGINES } from "./engines";
import { Rng } from "../lib/rng";
import { matmul, linear, groupMatmul } from "../lib/nn/matmul";
import { attention, attentionTokensFirst, causalMask } from "../lib/nn/attention";
import { ropeTable, applyRope } from "../lib/nn/rope";
import { conv2d, conv2dLayer, upsampleNearest2x, ConvPad } from "../lib/nn/conv";
import { embedding, checkIds } from "../lib/nn/embedding";
import { silu, gelu } from "../lib/nn/activations";
import { groupNorm, rmsNorm, layerNorm } from "../lib/nn/norm";

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;
interface Input {
  shape: number[];
  /** int32 inputs get these values and no gradient */
  ints?: number[];
}
interface Case {
  name: string;
  inputs: Input[];
  fast: Fn;
  ref: Fn;
}
interface Result {
  value: Float32Array;
  shape: number[];
  grads: Float32Array[];
}

const REL = 1e-4;

function values(shape: number[], seed: string): Float32Array {
  const rng = new Rng(7, seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal();
  return v;
}

/** Value of fn and gradients of Σ fn(...)·r (r fixed random) w.r.t. every float input; asserts no tensor leaks. */
function evaluate(c: Case, fn: Fn): Result {
  const before = tf.memory().numTensors;
  const ins = c.inputs.map((inp, i) => (inp.ints ? tf.tensor(inp.ints, inp.shape, "int32") : tf.tensor(values(inp.shape, `${c.name}/${i}`), inp.shape)));
  const floatIdx = c.inputs.map((inp, i) => (inp.ints ? -1 : i)).filter((i) => i >= 0);
  const y = tf.tidy(() => fn(...ins));
  const value = y.dataSync().slice() as Float32Array;
  const shape = y.shape.slice();
  y.dispose();
  const r = tf.tensor(values(shape, `${c.name}/dy`), shape);
  const loss = (...xs: tf.Tensor[]) => {
    const all = ins.slice();
    floatIdx.forEach((k, i) => (all[k] = xs[i]));
    return tf.sum(tf.mul(fn(...all), r));
  };
  const gs = tf.grads(loss)(floatIdx.map((k) => ins[k]));
  const grads = gs.map((g) => g.dataSync().slice() as Float32Array);
  tf.dispose([...gs, ...ins, r]);
  assert.equal(tf.memory().numTensors, before, `${c.name}: tensor leak`);
  return { value, shape, grads };
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string, rel = REL) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < expected.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
  }
  assert.ok(Number.isFinite(maxDiff) && maxDiff <= rel * Math.max(maxRef, 1e-3), `${what}: max |Δ| = ${maxDiff} vs max |ref| = ${maxRef}`);
}

function assertSame(a: Result, b: Result, what: string, rel = REL) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assertClose(a.value, b.value, `${what} value`, rel);
  assert.equal(a.grads.length, b.grads.length);
  a.grads.forEach((g, i) => assertClose(g, b.grads[i], `${what} grad ${i}`, rel));
}

const tfPad = (p: ConvPad) =>
  typeof p === "string" ? p : ([[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);

/** Plain formulation of nearest ×2 upsampling whose cpu gradient is right (concat), for reference. */
function upsampleRef(x: tf.Tensor): tf.Tensor {
  const [B, H, W, C] = x.shape;
  const cols = tf.reshape(tf.concat([x, x], 3), [B, H, 1, 2 * W * C]);
  return tf.reshape(tf.concat([cols, cols], 2), [B, 2 * H, 2 * W, C]);
}

function groupNormRef(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, G: number, eps: number): tf.Tensor {
  const [B, H, W, C] = x.shape;
  const t = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [B, G, (C / G) * H * W]);
  const mean = tf.mean(t, 2, true);
  const v = tf.mean(tf.square(tf.sub(t, mean)), 2, true);
  const n = tf.div(tf.sub(t, mean), tf.sqrt(tf.add(v, eps)));
  return tf.add(tf.mul(tf.transpose(tf.reshape(n, [B, C, H, W]), [0, 2, 3, 1]), gamma), beta);
}

const convCases: [number[], number, 1 | 2, ConvPad][] = [
  [[2, 7, 9, 3], 3, 1, "same"],
  [[2, 7, 9, 3], 3, 1, "valid"],
  [[2, 7, 9, 3], 3, 2, "same"],
  [[2, 7, 9, 3], 3, 2, "valid"],
  [[2, 8, 8, 3], 3, 2, [0, 1, 0, 1]],
  [[1, 8, 6, 2], 3, 2, [1, 1, 1, 1]],
  [[2, 5, 5, 3], 1, 1, "same"],
  [[1, 9, 7, 2], 4, 2, [1, 2, 0, 1]],
  [[1, 6, 6, 2], 3, 1, [3, 0, 1, 2]], // top pad > k−1: input gradient falls back to conv2dTranspose
];

const CASES: Case[] = [
  { name: "matmul 2d", inputs: [{ shape: [5, 7] }, { shape: [7, 3] }], fast: (a, b) => matmul(a, b), ref: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) },
  {
    name: "matmul [..,k]x[k,n]",
    inputs: [{ shape: [2, 3, 7] }, { shape: [7, 4] }],
    fast: (a, b) => matmul(a, b),
    ref: (a, b) => tf.reshape(tf.matMul(tf.reshape(a, [6, 7]) as tf.Tensor2D, b as tf.Tensor2D), [2, 3, 4]),
  },
  {
    name: "matmul batched rank 4",
    inputs: [{ shape: [2, 3, 5, 7] }, { shape: [2, 3, 7, 4] }],
    fast: (a, b) => matmul(a, b),
    ref: (a, b) => tf.matMul(a as tf.Tensor4D, b as tf.Tensor4D),
  },
  {
    name: "linear with bias",
    inputs: [{ shape: [3, 5, 6] }, { shape: [6, 4] }, { shape: [4] }],
    fast: (x, w, b) => linear(x, { w, b }),
    ref: (x, w, b) => tf.add(tf.reshape(tf.matMul(tf.reshape(x, [15, 6]) as tf.Tensor2D, w as tf.Tensor2D), [3, 5, 4]), b),
  },
  {
    name: "groupMatmul",
    inputs: [{ shape: [5, 3, 4] }, { shape: [3, 4, 6] }],
    fast: (a, b) => groupMatmul(a as tf.Tensor3D, b as tf.Tensor3D),
    // c[m, g, n] = Σ_k a[m, k, g]·b[k, g, n]
    ref: (a, b) => tf.transpose(tf.matMul(tf.transpose(a, [2, 0, 1]) as tf.Tensor3D, tf.transpose(b, [1, 0, 2]) as tf.Tensor3D), [1, 0, 2]),
  },
  ...(["grouped", "batched"] as const).map(
    (impl): Case => ({
      name: `attention causal ${impl}`,
      inputs: [{ shape: [2, 3, 5, 4] }, { shape: [2, 3, 7, 4] }, { shape: [2, 3, 7, 4] }],
      fast: (q, k, v) => attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, { causal: true, impl }),
      ref: (q, k, v) => {
        const s = tf.add(tf.div(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), 2), causalMask(5, 7));
        return tf.matMul(tf.softmax(s) as tf.Tensor4D, v as tf.Tensor4D);
      },
    }),
  ),
  ...(["grouped", "batched"] as const).map(
    (impl): Case => ({
      name: `attentionTokensFirst causal ${impl}`,
      inputs: [{ shape: [2, 5, 3, 4] }, { shape: [2, 7, 3, 4] }, { shape: [2, 7, 3, 4] }],
      fast: (q, k, v) => attentionTokensFirst(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, { causal: true, impl }),
      ref: (q, k, v) => {
        const h = (t: tf.Tensor) => tf.transpose(t, [0, 2, 1, 3]) as tf.Tensor4D;
        const s = tf.add(tf.div(tf.matMul(h(q), h(k), false, true), 2), causalMask(5, 7));
        return h(tf.matMul(tf.softmax(s) as tf.Tensor4D, h(v)));
      },
    }),
  ),
  {
    name: "applyRope tokens-first layout equals heads-first",
    inputs: [{ shape: [2, 6, 3, 8] }],
    fast: (x) => {
      const rope = ropeTable({ gridH: 2, gridW: 4, headDim: 8, prefix: 1 });
      const y = applyRope(x, rope, 2, "BTHD");
      rope.dispose();
      return y;
    },
    ref: (x) => {
      const rope = ropeTable({ gridH: 2, gridW: 4, headDim: 8, prefix: 1 });
      const y = tf.transpose(applyRope(tf.transpose(x, [0, 2, 1, 3]), rope, 2), [0, 2, 1, 3]);
      rope.dispose();
      return y;
    },
  },
  {
    name: "attention with mask, grouped",
    inputs: [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }, { shape: [2, 2, 3, 4] }, { shape: [2, 1, 1, 3] }],
    fast: (q, k, v, m) => attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, { mask: m, impl: "grouped" }),
    ref: (q, k, v, m) => tf.matMul(tf.softmax(tf.add(tf.div(tf.matMul(q as tf.Tensor4D, k as tf.Tensor4D, false, true), 2), m)) as tf.Tensor4D, v as tf.Tensor4D),
  },
  ...convCases.map(([xs, k, stride, pad]): Case => ({
    name: `conv2d x[${xs}] k${k} s${stride} pad ${JSON.stringify(pad)}`,
    inputs: [{ shape: xs }, { shape: [k, k, xs[3], 5] }],
    fast: (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, { stride, pad }),
    ref: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, tfPad(pad)),
  })),
  {
    name: "conv2dLayer with bias",
    inputs: [{ shape: [2, 5, 6, 3] }, { shape: [3, 3, 3, 4] }, { shape: [4] }],
    fast: (x, w, b) => conv2dLayer(x as tf.Tensor4D, { w, b }, { pad: "same" }),
    ref: (x, w, b) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same"), b),
  },
  { name: "upsampleNearest2x", inputs: [{ shape: [2, 3, 5, 2] }], fast: (x) => upsampleNearest2x(x as tf.Tensor4D), ref: upsampleRef },
  {
    name: "embedding (duplicate ids)",
    inputs: [{ shape: [6, 4] }, { shape: [2, 5], ints: [0, 3, 3, 5, 1, 3, 0, 2, 5, 5] }],
    fast: (t, ids) => embedding(t, ids),
    ref: (t, ids) => tf.reshape(tf.gather(t, tf.reshape(ids, [-1])), [2, 5, 4]),
  },
  {
    name: "groupNorm",
    inputs: [{ shape: [2, 3, 5, 6] }, { shape: [6] }, { shape: [6] }],
    fast: (x, g, b) => groupNorm(x, { gamma: g, beta: b }, 3, 1e-6),
    ref: (x, g, b) => groupNormRef(x, g, b, 3, 1e-6),
  },
  {
    name: "rmsNorm",
    inputs: [{ shape: [3, 4, 8] }, { shape: [8] }],
    fast: (x, g) => rmsNorm(x, g, 1e-6),
    ref: (x, g) => tf.mul(tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), 2, true), 1e-6))), g),
  },
  {
    name: "layerNorm",
    inputs: [{ shape: [3, 4, 8] }, { shape: [8] }, { shape: [8] }],
    fast: (x, g, b) => layerNorm(x, { gamma: g, beta: b }, 1e-5),
    ref: (x, g, b) => {
      const m = tf.mean(x, -1, true);
      const v = tf.mean(tf.square(tf.sub(x, m)), -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, m), tf.sqrt(tf.add(v, 1e-5))), g), b);
    },
  },
  { name: "silu", inputs: [{ shape: [4, 7] }], fast: (x) => silu(x), ref: (x) => tf.div(x, tf.add(tf.exp(tf.neg(x)), 1)) },
  {
    name: "gelu (tanh)",
    inputs: [{ shape: [4, 7] }],
    fast: (x) => gelu(x),
    ref: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1)),
  },
];

const cpuResults = new Map<string, Result>();

test("cpu: every fast op equals the plain tfjs formulation (values and gradients)", async () => {
  await initBackend("cpu", { log: () => {} });
  for (const c of CASES) {
    const fast = evaluate(c, c.fast);
    assertSame(fast, evaluate(c, c.ref), c.name);
    cpuResults.set(c.name, fast);
  }
});

test("activations hit known values", async () => {
  await initBackend("cpu", { log: () => {} });
  const x = tf.tensor1d([-2, 0, 1]);
  assertClose(silu(x).dataSync() as Float32Array, new Float32Array([-0.23840584, 0, 0.7310586]), "silu", 1e-6);
  assertClose(gelu(x).dataSync() as Float32Array, new Float32Array([-0.04540231, 0, 0.84119199]), "gelu", 1e-5);
  x.dispose();
});

for (const engine of FAST_ENGINES)
test(`${engine}: the same ops run forward + backward and agree with cpu`, async () => {
  await initBackend(engine, { log: () => {} });
  for (const c of CASES) {
    const cpu = cpuResults.get(c.name);
    assert.ok(cpu, `no cpu result for ${c.name}`);
    assertSame(evaluate(c, c.fast), cpu, `${engine} ${c.name}`);
  }
});

test("gradients are lazy: a constant input gets no gradient work", async () => {
  await initBackend("cpu", { log: () => {} });
  const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
  const w = tf.ones([3, 3, 2, 3]) as tf.Tensor4D;
  const convs = async (fn: () => void) => (await tf.profile(fn)).kernels.filter((k) => k.name === "Conv2D").length;
  // forward 1 + input gradient 1 (flipped filter) + filter gradient 1 (batch/channel-swapped conv)
  assert.equal(await convs(() => tf.grads((x, w) => tf.sum(conv2d(x as tf.Tensor4D, w as tf.Tensor4D)))([x, w]).forEach((g) => g.dispose())), 3);
  assert.equal(await convs(() => tf.grad((w) => tf.sum(conv2d(x, w as tf.Tensor4D)))(w).dispose()), 2);
  assert.equal(await convs(() => tf.grad((x) => tf.sum(conv2d(x as tf.Tensor4D, w)))(x).dispose()), 2);
  const kernels = async (fn: () => void) => (await tf.profile(fn)).kernelNames;
  const onlyW = await kernels(() => tf.grad((w) => tf.sum(conv2d(x, w as tf.Tensor4D)))(w).dispose());
  assert.ok(!onlyW.includes("Reverse"), `input gradient computed: ${onlyW}`);
  tf.dispose([x, w]);
});

test("bad inputs are clear errors", async () => {
  await initBackend("cpu", { log: () => {} });
  tf.tidy(() => {
    assert.throws(() => matmul(tf.zeros([2, 3]), tf.zeros([4, 5])), /inner dimensions differ/);
    assert.throws(() => matmul(tf.zeros([2, 2, 3]), tf.zeros([3, 3, 5])), /batch dimensions must be equal/);
    assert.throws(() => conv2d(tf.zeros([1, 4, 4, 2]) as tf.Tensor4D, tf.zeros([3, 3, 3, 1]) as tf.Tensor4D), /x has 2 channels/);
    assert.throws(() => conv2d(tf.zeros([1, 4, 4, 2]) as tf.Tensor4D, tf.zeros([3, 3, 2, 1]) as tf.Tensor4D, { stride: 3 as 1 }), /stride=3/);
    assert.throws(() => conv2d(tf.zeros([1, 4, 4, 2]) as tf.Tensor4D, tf.zeros([3, 3, 2, 1]) as tf.Tensor4D, { pad: [1, 1, -1, 0] }), /pad=/);
    assert.throws(() => embedding(tf.zeros([4, 2]), tf.zeros([3])), /ids must be int32/);
    assert.throws(() => groupNorm(tf.zeros([1, 2, 2, 6]), { gamma: tf.ones([6]), beta: tf.zeros([6]) }, 4), /groups=4 must divide the 6 channels/);
  });
  assert.throws(() => checkIds([0, 5, 2], 4, "tokens"), /tokens\[1\]=5 is out of range; expected an integer in \[0, 4\)/);
});
