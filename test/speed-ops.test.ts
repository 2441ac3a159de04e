/**
 * Fast paths added for speed (lib/nn) against the plain tfjs formulation on cpu — same values and gradients within
 * float32 tolerance — and wasm against cpu: fused softmax cross-entropy, the GEMM bias gradient (addBias/sumRows),
 * the norms' variants without affine parameters and on other ranks (the affine rank-3/4 cases are in nn-ops), and
 * edge cases of the stride-2 input gradient by output phases (1-pixel sides, phases without taps, k = 5), the
 * multi-output linearSplit (q/k/v, SwiGLU's W₁/W₃) against separate products.
 * (matmul, conv, attention, norms, activations: test/nn-ops.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES, FAST_ENGINES } from "./engines";
import { Rng } from "../lib/rng";
import { softmaxCrossEntropy } from "../lib/nn/cross-entropy";
import { addBias, sumRows, linearSplit, linear } from "../lib/nn/matmul";
import { swiglu } from "../lib/nn/swiglu";
import { silu } from "../lib/nn/activations";
import { groupNorm, layerNorm, rmsNorm } from "../lib/nn/norm";
import { conv2d, type ConvPad } from "../lib/nn/conv";

function normal(n: number, seed: string, scale = 1): Float32Array {
  const r = new Rng(3, seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rel = 1e-5): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let ref = 1e-6;
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    ref = Math.max(ref, Math.abs(b[i]));
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  assert.ok(d <= rel * ref, `${what}: max |Δ| ${d} vs max |ref| ${ref}`);
}

/** value and gradient of f at x (no leaks) */
function valueAndGrad(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, r?: tf.Tensor): { v: Float32Array; g: Float32Array } {
  const before = tf.memory().numTensors;
  const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => (r ? tf.sum(tf.mul(f(t), r)) : (f(t) as tf.Scalar)))(x);
  const out = { v: value.dataSync().slice() as Float32Array, g: grad.dataSync().slice() as Float32Array };
  tf.dispose([value, grad]);
  assert.equal(tf.memory().numTensors, before, "no tensor leak");
  return out;
}

const N = 7, V = 11;
const targetsOf = () => tf.tensor1d([0, 10, 3, 3, 5, 10, 1], "int32");
const plainCE = (z: tf.Tensor, t: tf.Tensor1D) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(z), tf.oneHot(t, V)), 1)));

test("softmaxCrossEntropy equals logSoftmax + one-hot (values, gradients) on cpu and wasm; large logits stay finite", async () => {
  const res: Record<string, { v: Float32Array; g: Float32Array }> = {};
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    const t = targetsOf();
    const z = tf.tensor2d(normal(N * V, "ce", 3), [N, V]);
    const fast = valueAndGrad((x) => softmaxCrossEntropy(x as tf.Tensor2D, t), z);
    const ref = valueAndGrad((x) => plainCE(x, t), z);
    close(fast.v, ref.v, `${backend} loss`);
    close(fast.g, ref.g, `${backend} gradient`);
    res[backend] = fast;
    const big = tf.mul(z, 1000);
    const l = softmaxCrossEntropy(big as tf.Tensor2D, t);
    assert.ok(Number.isFinite(l.dataSync()[0]), "finite for logits ~1e3");
    tf.dispose([t, z, big, l]);
  }
  for (const e of FAST_ENGINES) {
    close(res[e].v, res.cpu.v, `${e} vs cpu loss`);
    close(res[e].g, res.cpu.g, `${e} vs cpu gradient`, 1e-4);
  }
  assert.throws(() => softmaxCrossEntropy(tf.zeros([2, 3]) as tf.Tensor2D, tf.tensor1d([0, 1, 2], "int32")), /targets must be int32 \[2\]/);
});

test("addBias / sumRows: the GEMM bias gradient equals tfjs's broadcast add on cpu and wasm", async () => {
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    const x = tf.tensor3d(normal(2 * 5 * 4, "x"), [2, 5, 4]);
    const b = tf.tensor1d(normal(4, "b"));
    const r = tf.tensor3d(normal(2 * 5 * 4, "r"), [2, 5, 4]);
    for (const [which, arg] of [["x", x], ["b", b]] as const) {
      const f = (t: tf.Tensor) => (which === "x" ? addBias(t, b) : addBias(x, t));
      const g = (t: tf.Tensor) => (which === "x" ? tf.add(t, b) : tf.add(x, t));
      const fast = valueAndGrad(f, arg, r);
      const ref = valueAndGrad(g, arg, r);
      close(fast.v, ref.v, `${backend} addBias value`);
      close(fast.g, ref.g, `${backend} addBias d${which}`);
    }
    const m = tf.tensor2d(normal(6 * 3, "m"), [6, 3]);
    close(tf.tidy(() => sumRows(m).dataSync()), tf.tidy(() => tf.sum(m, 0).dataSync()), `${backend} sumRows`);
    assert.throws(() => addBias(x, tf.zeros([3])), /bias \[3\] does not fit the last axis of \[2,5,4\]/);
    tf.dispose([x, b, r, m]);
  }
});

test("norms without γ/β, and GroupNorm on [B, T, C], equal the plain formulas (values, input gradients) on cpu and wasm", async () => {
  const plainLN = (x: tf.Tensor) => {
    const m = tf.mean(x, -1, true);
    return tf.div(tf.sub(x, m), tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(x, m)), -1, true), 1e-5)));
  };
  const plainRMS = (x: tf.Tensor) => tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6)));
  const plainGN3 = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const [B, T, C] = x.shape;
    const v = tf.reshape(x, [B, T, 2, C / 2]);
    const m = tf.mean(v, [1, 3], true);
    const n = tf.div(tf.sub(v, m), tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(v, m)), [1, 3], true), 1e-6)));
    return tf.add(tf.mul(tf.reshape(n, x.shape), g), b);
  };
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    const x = tf.tensor4d(normal(2 * 3 * 2 * 8, "nx", 2), [2, 3, 2, 8]);
    const r = tf.tensor4d(normal(2 * 3 * 2 * 8, "nr"), [2, 3, 2, 8]);
    const cases: [string, (t: tf.Tensor) => tf.Tensor, (t: tf.Tensor) => tf.Tensor][] = [
      ["layerNorm {}", (t) => layerNorm(t, {}, 1e-5), plainLN],
      ["rmsNorm null", (t) => rmsNorm(t, null, 1e-6), plainRMS],
    ];
    for (const [name, fast, ref] of cases) {
      const a = valueAndGrad(fast, x, r);
      const b = valueAndGrad(ref, x, r);
      close(a.v, b.v, `${backend} ${name} value`);
      close(a.g, b.g, `${backend} ${name} dx`, 1e-4);
    }
    const x3 = tf.tensor3d(normal(2 * 5 * 4, "g3"), [2, 5, 4]);
    const r3 = tf.tensor3d(normal(2 * 5 * 4, "g3r"), [2, 5, 4]);
    const g = tf.tensor1d(normal(4, "g3g"));
    const b = tf.tensor1d(normal(4, "g3b"));
    const fast = valueAndGrad((t) => groupNorm(t, { gamma: g, beta: b }, 2, 1e-6), x3, r3);
    const ref = valueAndGrad((t) => plainGN3(t, g, b), x3, r3);
    close(fast.v, ref.v, `${backend} groupNorm [B,T,C] value`);
    close(fast.g, ref.g, `${backend} groupNorm [B,T,C] dx`, 1e-4);
    assert.throws(() => layerNorm(x, { gamma: tf.ones([3]) }), /layerNorm: gamma has shape \[3\]; expected \[8\]/);
    tf.dispose([x, r, x3, r3, g, b]);
  }
});

test("conv2d stride-2 input gradient by phases: 1-pixel sides, phases without taps, k = 5 (cpu, vs tf.conv2d autodiff)", async () => {
  await initBackend("cpu", { log: () => {} });
  const cases: [number[], number, ConvPad][] = [
    [[2, 1, 5, 3], 3, "same"],
    [[1, 6, 1, 2], 3, "same"],
    [[2, 5, 6, 3], 1, "valid"], // 1×1, stride 2: odd rows/columns of dx get nothing
    [[1, 9, 8, 2], 5, "same"],
    [[1, 7, 7, 2], 2, [1, 0, 0, 1]],
  ];
  for (const [xs, k, pad] of cases) {
    const x = tf.tensor4d(normal(xs.reduce((a, b) => a * b), `cx${xs}${k}`), xs as [number, number, number, number]);
    const w = tf.tensor4d(normal(k * k * xs[3] * 4, `cw${xs}${k}`), [k, k, xs[3], 4]);
    const tfPad = typeof pad === "string" ? pad : ([[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
    const y = tf.conv2d(x, w, 2, tfPad);
    const r = tf.tensor(normal(y.size, `cr${xs}${k}`), y.shape);
    const fast = valueAndGrad((t) => conv2d(t as tf.Tensor4D, w, { stride: 2, pad }), x, r);
    const ref = valueAndGrad((t) => tf.conv2d(t as tf.Tensor4D, w, 2, tfPad), x, r);
    close(fast.v, ref.v, `x[${xs}] k${k} pad ${JSON.stringify(pad)} value`);
    close(fast.g, ref.g, `x[${xs}] k${k} pad ${JSON.stringify(pad)} dx`, 1e-4);
    tf.dispose([x, w, y, r]);
  }
});

test("linearSplit equals separate products of the weight's column blocks (values; gradients of x, W, b); swiglu equals its formula", async () => {
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    const x = tf.tensor3d(normal(2 * 3 * 5, "lsx"), [2, 3, 5]);
    const w = tf.tensor2d(normal(5 * 9, "lsw"), [5, 9]);
    const b = tf.tensor1d(normal(9, "lsb"));
    const rs = [2, 3, 4].map((n, i) => tf.tensor3d(normal(2 * 3 * n, `lsr${i}`), [2, 3, n]));
    const sizes = [2, 3, 4];
    const offs = [0, 2, 5];
    for (const withBias of [true, false]) {
      const fast = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => linearSplit(xx, { w: ww, b: withBias ? bb : undefined }, sizes);
      const ref = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        sizes.map((n, i) => tf.add(tf.reshape(tf.matMul(tf.reshape(xx, [6, 5]) as tf.Tensor2D, tf.slice(ww, [0, offs[i]], [5, n]) as tf.Tensor2D), [2, 3, n]), withBias ? tf.slice(bb, [offs[i]], [n]) : 0));
      const loss = (f: typeof fast) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.addN(f(xx, ww, bb).map((y, i) => tf.sum(tf.mul(y, rs[i])))) as tf.Scalar;
      const before = tf.memory().numTensors;
      const args = withBias ? [x, w, b] : [x, w];
      const wrap = (f: typeof fast) => (...t: tf.Tensor[]) => loss(f)(t[0], t[1], t[2] ?? b);
      const gf = tf.grads(wrap(fast))(args);
      const gr = tf.grads(wrap(ref))(args);
      const vf = tf.tidy(() => tf.concat(fast(x, w, b).map((y) => tf.reshape(y, [-1]))).dataSync());
      const vr = tf.tidy(() => tf.concat(ref(x, w, b).map((y) => tf.reshape(y, [-1]))).dataSync());
      close(vf, vr, `${backend} linearSplit bias=${withBias} value`);
      ["x", "W", "b"].slice(0, args.length).forEach((n, i) => close(gf[i].dataSync(), gr[i].dataSync(), `${backend} linearSplit bias=${withBias} d${n}`, 1e-4));
      tf.dispose([...gf, ...gr]);
      assert.equal(tf.memory().numTensors, before, "no tensor leak");
    }
    assert.throws(() => linearSplit(x, { w }, [4, 4]), /weight \[5,9\] does not fit input \[2,3,5\] and parts \[4,4\]/);
    // swiglu(x) = (silu(x·W₁ + b₁) ⊙ (x·W₃ + b₃))·W₂ + b₂
    const p = {
      w1: { w: tf.tensor2d(normal(5 * 6, "s1"), [5, 6]), b: tf.tensor1d(normal(6, "s1b")) },
      w3: { w: tf.tensor2d(normal(5 * 6, "s3"), [5, 6]), b: tf.tensor1d(normal(6, "s3b")) },
      w2: { w: tf.tensor2d(normal(6 * 5, "s2"), [6, 5]), b: tf.tensor1d(normal(5, "s2b")) },
    };
    const r = tf.tensor3d(normal(30, "sr"), [2, 3, 5]);
    const fastS = valueAndGrad((t) => swiglu(t, p), x, r);
    const refS = valueAndGrad((t) => linear(tf.mul(silu(linear(t, p.w1)), linear(t, p.w3)), p.w2), x, r);
    close(fastS.v, refS.v, `${backend} swiglu value`);
    close(fastS.g, refS.g, `${backend} swiglu dx`, 1e-4);
    tf.dispose([x, w, b, r, ...rs, p.w1.w, p.w1.b, p.w3.w, p.w3.b, p.w2.w, p.w2.b]);
  }
});

test("conv2d filter gradient of a one-channel input (an image model's first layer) equals tf.conv2d autodiff on cpu; wasm = cpu", async () => {
  const cases: [number[], number, ConvPad][] = [
    [[2, 6, 5, 1], 3, "same"],
    [[2, 6, 5, 1], 3, "valid"],
    [[1, 7, 7, 1], 1, "same"],
    [[2, 5, 6, 1], 4, [2, 1, 0, 3]],
  ];
  const res: Record<string, Float32Array[]> = {};
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    res[backend] = [];
    for (const [xs, k, pad] of cases) {
      const x = tf.tensor4d(normal(xs.reduce((a, b) => a * b), `c1x${xs}${k}`), xs as [number, number, number, number]);
      const w = tf.tensor4d(normal(k * k * 3, `c1w${xs}${k}`), [k, k, 1, 3]);
      const tfPad = typeof pad === "string" ? pad : ([[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]]);
      const y = tf.conv2d(x, w, 1, tfPad);
      const r = tf.tensor(normal(y.size, `c1r${xs}${k}`), y.shape);
      const fast = valueAndGrad((t) => conv2d(x, t as tf.Tensor4D, { pad }), w, r);
      if (backend === "cpu") {
        const ref = valueAndGrad((t) => tf.conv2d(x, t as tf.Tensor4D, 1, tfPad), w, r);
        close(fast.g, ref.g, `x[${xs}] k${k} pad ${JSON.stringify(pad)} dW`, 1e-4);
      }
      res[backend].push(fast.g);
      tf.dispose([x, w, y, r]);
    }
  }
  for (const e of FAST_ENGINES) res.cpu.forEach((g, i) => close(res[e][i], g, `case ${i}: ${e} vs cpu dW`, 1e-4));
});
