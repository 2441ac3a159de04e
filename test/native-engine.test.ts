import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "path";
import { Worker } from "worker_threads";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ADDON_PATH, nativeKernelsActive, probeNativeAddon } from "../lib/native-engine";
import { NATIVE_SKIP } from "./engines";

const quiet = { log: () => {} };
const skip = NATIVE_SKIP ?? false;

/** Deterministic values in [-0.5, 0.5). */
function rnd(shape: number[], seed: number): tf.Tensor {
  let s = seed;
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    v[i] = s / 2147483648 - 0.5;
  }
  return tf.tensor(v, shape);
}

type Case = { name: string; run: () => tf.Tensor[] };
const MATMULS: [string, number[], number[], boolean, boolean][] = [
  ["a·b", [3, 5, 7], [3, 7, 4], false, false],
  ["aᵀ·b", [3, 7, 5], [3, 7, 4], true, false],
  ["a·bᵀ", [3, 5, 7], [3, 4, 7], false, true],
  ["aᵀ·bᵀ rank 4", [2, 3, 7, 5], [2, 3, 4, 7], true, true],
  ["batched a · shared b", [3, 5, 7], [7, 4], false, false],
  ["batched aᵀ · shared bᵀ", [3, 7, 5], [4, 7], true, true],
  ["shared a · batched b", [5, 7], [3, 7, 4], false, false],
  ["leading 1 · batched b", [1, 3, 5, 7], [3, 7, 4], false, false],
  ["2-d broadcast (wasm's own kernel)", [2, 1, 5, 7], [3, 7, 4], false, false],
];
const CONVS: [number, "same" | "valid", number, number, number][] = [
  [1, "same", 3, 3, 5],
  [2, "same", 3, 4, 6],
  [2, "valid", 3, 2, 3],
  [1, "valid", 1, 4, 6], // pointwise: plain GEMM path
  [1, "same", 3, 1, 4], // one input channel
];
const CASES: Case[] = [
  ...MATMULS.map(([name, sa, sb, ta, tb]) => ({
    name: `matMul ${name}`,
    run: () => {
      const [a, b] = [rnd(sa, 1), rnd(sb, 2)];
      if (sa.length !== sb.length) return [tf.matMul(a, b, ta, tb)]; // tfjs's own gradient does not reduce broadcast batch dims
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([a, b]);
      return [tf.matMul(a, b, ta, tb), value, ...grads];
    },
  })),
  ...CONVS.map(([s, pad, k, C, O]) => ({
    name: `conv2d k${k} s${s} ${pad} ${C}→${O}`,
    run: () => {
      const [x, w] = [rnd([2, 7, 6, C], 3) as tf.Tensor4D, rnd([k, k, C, O], 4) as tf.Tensor4D];
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad)));
      const { value, grads } = tf.valueAndGrads(f)([x, w]);
      return [tf.conv2d(x, w, s, pad), value, ...grads];
    },
  })),
];

const REDUCTIONS: [string, number[], number | number[], boolean][] = [
  ["last axis", [6, 37], -1, false],
  ["middle axis", [4, 5, 6], 1, false],
  ["a block of axes, keepDims", [3, 4, 5, 2], [1, 2], true],
  ["first axis", [5, 3], 0, true],
  ["every axis", [3, 17], [0, 1], false],
  ["two separate axes (wasm's own kernel)", [3, 4, 5], [0, 2], false],
];
CASES.push(
  ...REDUCTIONS.map(([name, shape, axis, keep]) => ({
    name: `sum and max over ${name}`,
    run: () => {
      const x = rnd(shape, 5);
      return [tf.sum(x, axis, keep), tf.max(x, axis, keep)];
    },
  })),
);

const BROADCASTS: [number[], number[]][] = [
  [[4, 6], [4, 6]],
  [[3, 5, 4, 2], [3, 1, 4, 1]],
  [[3, 5], [5]],
  [[3, 1], [1, 4]],
  [[2, 3, 4], []],
  [[], [2, 3]],
  [[1], [1]],
];
CASES.push(
  ...BROADCASTS.map(([sa, sb]) => ({
    name: `add/sub/mul/div [${sa}] with [${sb}]`,
    run: () => {
      const [a, b] = [rnd(sa, 8), tf.add(rnd(sb, 9), 2)]; // b away from 0 for the division
      return [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.div(a, b), tf.sub(b, a), tf.div(b, a)];
    },
  })),
);

function results(): Map<string, Float32Array[]> {
  const out = new Map<string, Float32Array[]>();
  for (const c of CASES) {
    const ts = tf.tidy(() => c.run());
    out.set(c.name, ts.map((t) => t.dataSync().slice() as Float32Array));
    tf.dispose(ts);
  }
  return out;
}

test("native kernels (every matMul transpose/broadcast variant; conv2d and both gradients; sum/max over blocks of axes; broadcast arithmetic) equal tfjs cpu", { skip }, async () => {
  await initBackend("cpu", quiet);
  const ref = results();
  await initBackend("native", quiet);
  assert.ok(nativeKernelsActive());
  const before = tf.memory().numTensors;
  const got = results();
  assert.equal(tf.memory().numTensors, before, "no tensor leak");
  for (const [name, rs] of ref) {
    const gs = got.get(name)!;
    rs.forEach((r, j) => {
      assert.equal(gs[j].length, r.length, `${name} output ${j}: length`);
      const scale = Math.max(1, ...Array.from(r, Math.abs));
      for (let i = 0; i < r.length; i++) assert.ok(Math.abs(gs[j][i] - r[i]) <= 1e-5 * scale, `${name} output ${j}[${i}]: native ${gs[j][i]} vs cpu ${r[i]}`);
    });
  }
});

test("switching native → wasm puts the wasm kernels back, and native → wasm → native gives the same numbers", { skip }, async () => {
  await initBackend("native", quiet);
  const nativeMm = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm"), "native registers the filter gradient wasm lacks");
  const a = rnd([4, 6, 5], 7);
  const x = Array.from(tf.matMul(a, a, true, false).dataSync());
  await initBackend("wasm", quiet);
  assert.ok(!nativeKernelsActive());
  assert.notEqual(tf.getKernel("BatchMatMul", "wasm")!.kernelFunc, nativeMm, "wasm's own BatchMatMul restored");
  assert.equal(tf.getKernel("Conv2DBackpropFilter", "wasm"), undefined, "wasm has no filter gradient kernel of its own");
  const y = Array.from(tf.matMul(a, a, true, false).dataSync());
  await initBackend("native", quiet);
  const z = Array.from(tf.matMul(a, a, true, false).dataSync());
  a.dispose();
  assert.deepEqual(z, x);
  y.forEach((v, i) => assert.ok(Math.abs(v - x[i]) < 1e-5, `wasm ${v} vs native ${x[i]}`));
});

test("the addon loads and computes in a worker thread (context-aware Node-API module)", { skip }, async () => {
  const code = `
    const { parentPort, workerData } = require("worker_threads");
    const a = require(workerData);
    a.setThreads(1);
    const x = new Float32Array([1, 2, 3, 4, 5, 6]), c = new Float32Array(4);
    a.gemm(1, 2, 2, 3, 0, 1, x, 0, x, 0, c); // x [2,3] · xᵀ
    parentPort.postMessage(Array.from(c));`;
  const w = new Worker(code, { eval: true, workerData: ADDON_PATH });
  const got = await new Promise((resolve, reject) => { w.once("message", resolve); w.once("error", reject); });
  await w.terminate();
  assert.deepEqual(got, [14, 32, 32, 77]);
});

test("a missing addon is a reason naming the file and the command that builds it", () => {
  const r = probeNativeAddon(path.join(__dirname, "no-such-addon.node"));
  assert.ok("reason" in r);
  assert.match(r.reason, /no-such-addon\.node is not built; enable it with: bash scripts\/setup.sh/);
});
