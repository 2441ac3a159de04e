import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ParamStore } from "../lib/nn/params";
import { AdamW } from "../lib/nn/adamw";
import { EMA, emaDecayAt } from "../lib/nn/ema";
import { clipByGlobalNorm, globalNorm } from "../lib/nn/clip";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-6, what = "") {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

function storeWith(values: Record<string, number[]>): ParamStore {
  const s = new ParamStore(0);
  for (const [name, v] of Object.entries(values)) s.add(name, [v.length], "zeros").assign(tf.tensor1d(v));
  return s;
}

test("AdamW: two steps match the hand-computed torch.optim.AdamW values (decoupled decay, bias correction)", () => {
  const store = storeWith({ w: [1, -2] });
  const opt = new AdamW(store, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decay: () => true });
  const g1 = tf.tensor1d([0.5, -0.25]);
  opt.step({ w: g1 });
  // t=1: m̂ = g, v̂ = g², so θ = θ·(1 − ηλ) − η·g/(|g| + ε)
  close(store.get("w").dataSync(), [0.899000002, -1.898000004], 1e-7, "step 1");
  const g2 = tf.tensor1d([0.1, 0.3]);
  opt.step({ w: g2 });
  close(store.get("w").dataSync(), [0.8177969063826518, -1.910396476543747], 1e-6, "step 2");
  const st = opt.getState();
  close(st["m/w"].dataSync(), [0.055, 0.0075], 1e-6, "m");
  close(st["v/w"].dataSync(), [0.00025975, 0.0001524375], 1e-6, "v");
  assert.equal(st.t.dataSync()[0], 2);
  assert.equal(st.t.dtype, "int32");
  tf.dispose([g1, g2, ...Object.values(st)]);
  opt.dispose();
  store.dispose();
});

test("AdamW: weight decay skips rank-1 tensors by default; missing gradients leave a parameter alone", () => {
  const store = new ParamStore(0);
  store.add("w", [1, 2], "ones");
  store.add("b", [2], "ones");
  const opt = new AdamW(store, { lr: 0.5, weightDecay: 0.1 });
  assert.equal(opt.isDecayed("w"), true);
  assert.equal(opt.isDecayed("b"), false);
  tf.tidy(() => opt.step({ w: tf.zeros([1, 2]), b: tf.zeros([2]) }));
  close(store.get("w").dataSync(), [0.95, 0.95], 1e-7, "w decayed"); // 1·(1 − 0.5·0.1), zero gradient
  close(store.get("b").dataSync(), [1, 1], 0, "b not decayed");
  tf.tidy(() => opt.step({ w: tf.zeros([1, 2]) }));
  close(store.get("b").dataSync(), [1, 1], 0, "b without gradient");
  assert.throws(() => tf.tidy(() => opt.step({ nope: tf.zeros([2]) })), /unknown parameter "nope"/);
  assert.throws(() => tf.tidy(() => opt.step({ b: tf.zeros([3]) })), /"b" has shape \[3\], parameter has \[2\]/);
  opt.dispose();
  store.dispose();
});

test("AdamW: state round trip continues identically; a step leaks no tensors", () => {
  const mk = () => storeWith({ a: [0.3, -0.7, 1.1], c: [2] });
  const grads = (k: number) => ({ a: tf.tensor1d([0.1 * k, -0.2, 0.05 * k * k]), c: tf.tensor1d([Math.sin(k)]) });
  const s1 = mk();
  const o1 = new AdamW(s1, { lr: 0.01, weightDecay: 0.1, decay: () => true });
  for (let k = 1; k <= 3; k++) tf.tidy(() => o1.step(grads(k)));
  const state = o1.getState();
  const s2 = mk();
  for (const [n, v] of s1.entries()) s2.get(n).assign(v);
  const o2 = new AdamW(s2, { lr: 0.01, weightDecay: 0.1, decay: () => true });
  o2.setState(state);
  tf.dispose(Object.values(state));
  const before = tf.memory().numTensors;
  for (let k = 4; k <= 6; k++) {
    tf.tidy(() => o1.step(grads(k)));
    tf.tidy(() => o2.step(grads(k)));
  }
  assert.equal(tf.memory().numTensors, before, "no tensor leak per step");
  assert.deepEqual(Array.from(s2.get("a").dataSync()), Array.from(s1.get("a").dataSync()));
  assert.deepEqual(Array.from(s2.get("c").dataSync()), Array.from(s1.get("c").dataSync()));
  assert.throws(() => o2.setState({}), /missing: m\/a, m\/c, v\/a, v\/c, t/);
  for (const x of [o1, o2, s1, s2]) x.dispose();
});

test("AdamW and EMA free all their tensors on dispose", () => {
  const store = storeWith({ a: [1, 2, 3], b: [4] });
  const n0 = tf.memory().numTensors;
  const opt = new AdamW(store, { lr: 0.1 });
  const ema = new EMA(store, 0.5);
  assert.equal(tf.memory().numTensors, n0 + 2 * 2 + 2, "two moments per parameter, one EMA copy per parameter");
  tf.tidy(() => opt.step({ a: tf.ones([3]), b: tf.ones([1]) }));
  ema.update();
  opt.dispose();
  ema.dispose();
  assert.equal(tf.memory().numTensors, n0);
  store.dispose();
});

test("EMA: θ̄ ← d·θ̄ + (1−d)·θ; swapIn/swapOut, withWeights, copyTo, state", async () => {
  const store = storeWith({ p: [1, 2] });
  const ema = new EMA(store, 0.9);
  store.get("p").assign(tf.tensor1d([3, 4]));
  ema.update();
  close(ema.get("p").dataSync(), [1.2, 2.2], 1e-7, "after 1 update"); // 0.9·1 + 0.1·3, 0.9·2 + 0.1·4
  ema.update();
  close(ema.get("p").dataSync(), [1.38, 2.38], 1e-6, "after 2 updates"); // 0.9·1.2 + 0.1·3
  ema.swapIn();
  close(store.get("p").dataSync(), [1.38, 2.38], 1e-6, "swapped in");
  assert.throws(() => ema.update(), /swapOut\(\) first/);
  ema.swapOut();
  close(store.get("p").dataSync(), [3, 4], 0, "swapped out");
  const seen = await ema.withWeights(() => Array.from(store.get("p").dataSync()));
  close(seen, [1.38, 2.38], 1e-6, "withWeights");
  close(store.get("p").dataSync(), [3, 4], 0, "after withWeights");
  const other = storeWith({ p: [0, 0] });
  ema.copyTo(other);
  close(other.get("p").dataSync(), [1.38, 2.38], 1e-6, "copyTo");
  const st = ema.getState();
  assert.deepEqual(Object.keys(st), ["p", "updates"]);
  const ema2 = new EMA(other, 0.9);
  ema2.setState(st);
  tf.dispose(Object.values(st));
  assert.equal(ema2.updates, 2);
  close(ema2.get("p").dataSync(), [1.38, 2.38], 1e-6, "setState");
  assert.throws(() => new EMA(store, 1), /decay=1 must be in \[0, 1\)/);
  const n0 = tf.memory().numTensors;
  ema.update();
  ema.swapIn();
  ema.swapOut();
  assert.equal(tf.memory().numTensors, n0, "update/swap leak nothing");
  for (const x of [ema, ema2, store, other]) x.dispose();
});

test("clipByGlobalNorm: scales by maxNorm/(‖g‖+1e-6) only when the norm exceeds maxNorm", () => {
  const grads = { a: tf.tensor1d([3]), b: tf.tensor2d([[4]]) };
  const n0 = tf.memory().numTensors;
  const r = clipByGlobalNorm(grads, 1);
  close(r.norm.dataSync(), [5], 1e-7, "norm");
  close(r.grads.a.dataSync(), [3 / (5 + 1e-6)], 1e-7, "a");
  close(r.grads.b.dataSync(), [4 / (5 + 1e-6)], 1e-7, "b");
  assert.deepEqual(r.grads.b.shape, [1, 1]);
  const loose = clipByGlobalNorm(grads, 10);
  close(loose.grads.a.dataSync(), [3], 0, "unclipped");
  const off = clipByGlobalNorm(grads, 0);
  close(off.grads.b.dataSync(), [4], 0, "off");
  close(off.norm.dataSync(), [5], 1e-7, "norm when off");
  tf.dispose([r.norm, loose.norm, off.norm, ...Object.values(r.grads), ...Object.values(loose.grads), ...Object.values(off.grads)]);
  assert.equal(tf.memory().numTensors, n0, "clip leaks nothing");
  const z = globalNorm({});
  assert.equal(z.dataSync()[0], 0);
  tf.dispose([z, grads.a, grads.b]);
});

test("EMA warm-up: decay min(d, (1+t)/(10+t)) per update; update(decay) uses the given decay", () => {
  assert.equal(emaDecayAt(0.99, 0, true), 0.1);
  assert.equal(emaDecayAt(0.99, 8, true), 0.5);
  assert.equal(emaDecayAt(0.99, 89, true), 90 / 99); // still warming up: d is reached at t = (10d − 1)/(1 − d) = 890
  assert.equal(emaDecayAt(0.99, 1000, true), 0.99);
  assert.equal(emaDecayAt(0.9, 1000, true), 0.9);
  assert.equal(emaDecayAt(0.99, 0, false), 0.99);
  const store = storeWith({ p: [1, 2] });
  const ema = new EMA(store, 0.9);
  store.get("p").assign(tf.tensor1d([3, 4]));
  ema.update(emaDecayAt(0.9, ema.updates, true)); // d = 0.1: 0.1·1 + 0.9·3
  close(ema.get("p").dataSync(), [2.8, 3.8], 1e-6, "after a warm-up update");
  assert.throws(() => ema.update(1), /decay=1/);
  ema.dispose();
  store.dispose();
});
