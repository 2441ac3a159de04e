/**
 * lib/flow: the linear path and its target, seeded logit-normal times, the losses, guidance, and the Euler sampler
 * on analytic velocity fields whose endpoints are known exactly. Runs on cpu and wasm.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { interpolate, velocityTarget, flowPair } from "../lib/flow/path";
import { sampleTimesteps, logitNormalDensity } from "../lib/flow/timesteps";
import { flowMatchingLoss, cosineDistance } from "../lib/flow/loss";
import { guideVelocity } from "../lib/flow/cfg";
import { eulerSample, eulerTimes } from "../lib/flow/euler";
import { guidedVelocityFn, sampleFlow, type ConditionalVelocityModel } from "../lib/flow/sampler";

const quiet = { log: () => {} };

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]} (tol ${tol})`);
}

for (const backend of ENGINES) {
  test(`flow path, target and pair (${backend})`, async () => {
    await initBackend(backend, quiet);
    const x0 = tf.tensor2d([[1, 2], [3, 4]]);
    const x1 = tf.tensor2d([[5, 6], [7, 8]]);
    const t = tf.tensor1d([0.25, 1]);
    const xt = interpolate(x0, x1, t);
    close(xt.dataSync(), [2, 3, 7, 8], 1e-6, "x_t");
    const u = velocityTarget(x0, x1);
    close(u.dataSync(), [4, 4, 4, 4], 0, "u");
    tf.dispose([xt, u]);
    // t = 0 is noise, t = 1 is data
    const z = interpolate(x0, x1, tf.tensor1d([0, 0]));
    close(z.dataSync(), x0.dataSync(), 0, "x_0");
    assert.throws(() => interpolate(x0, x1, tf.tensor1d([0.5])), /t has shape \[1\]; expected \[2\]/);
    assert.throws(() => velocityTarget(x0, tf.zeros([2, 3])), /same shape/);

    // same seed ⇒ same pair; x_t and u are consistent with x₀ and the data
    const data = tf.randomNormal([3, 2, 2, 4], 0, 1, "float32", 5);
    const a = flowPair(data, 42);
    const b = flowPair(data, 42);
    const c = flowPair(data, 43);
    close(a.t.dataSync(), b.t.dataSync(), 0, "t");
    close(a.x0.dataSync(), b.x0.dataSync(), 0, "noise");
    assert.notDeepEqual(Array.from(a.t.dataSync()), Array.from(c.t.dataSync()));
    const expXt = interpolate(a.x0, data, a.t);
    close(a.xt.dataSync(), expXt.dataSync(), 1e-6, "pair x_t");
    const expU = tf.sub(data, a.x0);
    close(a.target.dataSync(), expU.dataSync(), 1e-6, "pair u");
    tf.dispose([x0, x1, t, z, data, a.t, a.x0, a.xt, a.target, b.t, b.x0, b.xt, b.target, c.t, c.x0, c.xt, c.target, expXt, expU]);
  });

  test(`logit-normal times are seeded and have the right law (${backend})`, async () => {
    await initBackend(backend, quiet);
    const n = 20000;
    const t = sampleTimesteps(n, 7);
    const v = t.dataSync();
    const again = sampleTimesteps(n, 7);
    close(again.dataSync(), v, 0, "same seed");
    // logit(t) ~ N(0, 1): mean 0, std 1; median t = 0.5; P(t < σ(1)) = Φ(1) ≈ 0.8413
    let m = 0;
    let s = 0;
    let below = 0;
    for (const x of v) {
      assert.ok(x > 0 && x < 1, `t=${x} outside (0, 1)`);
      const l = Math.log(x / (1 - x));
      m += l;
      s += l * l;
      if (x < 1 / (1 + Math.exp(-1))) below++;
    }
    m /= n;
    const sd = Math.sqrt(s / n - m * m);
    assert.ok(Math.abs(m) < 0.03, `mean logit ${m}`);
    assert.ok(Math.abs(sd - 1) < 0.03, `std logit ${sd}`);
    assert.ok(Math.abs(below / n - 0.8413) < 0.01, `P(t < σ(1)) = ${below / n}`);
    const shifted = sampleTimesteps(2000, 7, { mean: 1, std: 0.5 });
    const ms = Array.from(shifted.dataSync()).reduce((acc: number, x: number) => acc + Math.log(x / (1 - x)), 0) / 2000;
    assert.ok(Math.abs(ms - 1) < 0.05, `shifted mean ${ms}`);
    const u = sampleTimesteps(1000, 1, { distribution: "uniform" });
    assert.ok(Array.from(u.dataSync()).every((x) => x >= 0 && x < 1));
    assert.throws(() => sampleTimesteps(0, 1), /n=0 must be a positive integer/);
    assert.throws(() => sampleTimesteps(4, 1, { distribution: "beta" as never }), /distribution="beta"/);
    assert.ok(Math.abs(logitNormalDensity(0.5) - 4 / Math.sqrt(2 * Math.PI)) < 1e-12);
    tf.dispose([t, again, shifted, u]);
  });

  test(`flow-matching loss: MSE and cosine parts (${backend})`, async () => {
    await initBackend(backend, quiet);
    // two positions, two channels: pred (1,0),(0,2); target (1,0),(0,-1)
    const pred = tf.tensor3d([[[1, 0], [0, 2]]]);
    const target = tf.tensor3d([[[1, 0], [0, -1]]]);
    const r = flowMatchingLoss(pred, target);
    // mse = (0+0+0+9)/4; cosine = mean(1−1, 1−(−1)) = 1; loss = mse + 1·cosine
    close(r.mse.dataSync(), [9 / 4], 1e-6, "mse");
    close(r.cosine.dataSync(), [1], 1e-6, "cosine");
    close(r.loss.dataSync(), [9 / 4 + 1], 1e-6, "loss");
    const plain = flowMatchingLoss(pred, target, { cosineWeight: 0 });
    close(plain.loss.dataSync(), [9 / 4], 1e-6, "plain loss");
    const half = flowMatchingLoss(pred, target, { cosineWeight: 0.5 });
    close(half.loss.dataSync(), [9 / 4 + 0.5], 1e-6, "weighted loss");
    // a zero vector has cosine 0 (no NaN): distance 1
    const z = cosineDistance(tf.zeros([1, 2]), tf.ones([1, 2]));
    close(z.dataSync(), [1], 1e-6, "zero vector");
    // the gradient at a zero prediction (the DiT's zero-init output) is finite
    const g = tf.grad((p: tf.Tensor) => flowMatchingLoss(p, target).loss)(tf.zeros([1, 2, 2]));
    assert.ok(Array.from(g.dataSync()).every(Number.isFinite), `gradient at 0: ${g.dataSync()}`);
    g.dispose();
    assert.throws(() => flowMatchingLoss(pred, tf.zeros([1, 2, 3])), /same shape/);
    assert.throws(() => flowMatchingLoss(pred, target, { cosineWeight: -1 }), /cosineWeight=-1/);
    tf.dispose([pred, target, r.loss, r.mse, r.cosine, plain.loss, plain.mse, plain.cosine, half.loss, half.mse, half.cosine, z]);
  });

  test(`guidance: all channels, the official 3-of-4 quirk, scale 1 (${backend})`, async () => {
    await initBackend(backend, quiet);
    const vc = tf.tensor2d([[1, 2, 3, 4]]);
    const vu = tf.tensor2d([[0, 0, 0, 0]]);
    close(guideVelocity(vc, vu, 2).dataSync(), [2, 4, 6, 8], 1e-6, "all channels");
    close(guideVelocity(vc, vu, 2, { guidedChannels: 3 }).dataSync(), [2, 4, 6, 4], 1e-6, "3 of 4");
    close(guideVelocity(vc, vu, 1).dataSync(), [1, 2, 3, 4], 0, "scale 1");
    close(guideVelocity(vc, vu, 0).dataSync(), [0, 0, 0, 0], 0, "scale 0");
    assert.throws(() => guideVelocity(vc, vu, 2, { guidedChannels: 5 }), /guidedChannels=5/);
    assert.throws(() => guideVelocity(vc, vu, NaN), /scale=NaN/);
    tf.dispose([vc, vu]);
  });

  test(`Euler integrates analytic fields to the exact endpoint (${backend})`, async () => {
    await initBackend(backend, quiet);
    assert.deepEqual(eulerTimes(4), [0, 0.25, 0.5, 0.75, 1]);
    const x0 = tf.tensor2d([[0.5, -1, 2]]);
    // constant field: x(1) = x₀ + c
    const c = tf.tensor2d([[1, -2, 0.25]]);
    for (const steps of [1, 7, 50]) {
      const x = eulerSample(() => c.clone(), x0, { steps });
      close(x.dataSync(), [1.5, -3, 2.25], 1e-5, `constant field, ${steps} steps`);
      x.dispose();
    }
    // linear-path field of a point mass at a: v(x, t) = (a − x)/(1 − t). Euler stays on the straight line from x₀
    // to a (the field is constant along it), so it lands on a exactly, for any number of steps.
    const a = tf.tensor2d([[3, 1, -4]]);
    for (const steps of [1, 3, 10, 250]) {
      const x = eulerSample((xx, t) => tf.div(tf.sub(a, xx), 1 - t), x0, { steps });
      close(x.dataSync(), [3, 1, -4], 2e-5, `point mass, ${steps} steps`);
      x.dispose();
    }
    // time grid: v = t gives x₀ + Σ_k t_k·Δt = x₀ + (N − 1)/(2N)
    const steps = 8;
    const x = eulerSample((xx, t) => tf.fill(xx.shape, t), x0, { steps });
    close(x.dataSync(), [0.5, -1, 2].map((v) => v + (steps - 1) / (2 * steps)), 1e-6, "v = t");
    x.dispose();
    // bad input
    assert.throws(() => eulerSample(() => c.clone(), x0, { steps: 0 }), /steps=0 must be a positive integer/);
    assert.throws(() => eulerSample(() => c.clone(), x0, { steps: -3 }), /steps=-3/);
    assert.throws(() => eulerSample(() => c.clone(), x0, { steps: 2.5 }), /steps=2.5/);
    assert.throws(() => eulerSample(() => tf.zeros([2]), x0, { steps: 2 }), /velocity at step 0 has shape \[2\]/);
    tf.dispose([x0, c, a]);
  });

  test(`sampler: CFG scale 1 is the conditional model; no tensor leak per step (${backend})`, async () => {
    await initBackend(backend, quiet);
    // a toy conditional model: v = (μ_y − x), μ_y = y-th row of a table (null class = row K)
    const table = tf.tensor2d([[1, 0], [0, 1], [0, 0]]); // K = 2, null = 2
    const model: ConditionalVelocityModel = {
      nullClass: 2,
      velocity: (x, _t, y) => tf.sub(tf.gather(table, y), x),
    };
    const y = tf.tensor1d([0, 1, 1], "int32");
    const x = tf.randomNormal([3, 2], 0, 1, "float32", 3);
    const cond = guidedVelocityFn(model, y, {})(x, 0.3, 0);
    const s1 = guidedVelocityFn(model, y, { cfgScale: 1 })(x, 0.3, 0);
    close(s1.dataSync(), cond.dataSync(), 0, "scale 1 velocity");
    const direct = model.velocity(x, tf.fill([3], 0.3) as tf.Tensor1D, y);
    close(cond.dataSync(), direct.dataSync(), 0, "conditional");
    // s = 3: v = v_u + 3(v_c − v_u) = −x + 3μ_y
    const s3 = guidedVelocityFn(model, y, { cfgScale: 3 })(x, 0.3, 0);
    const exp3 = tf.sub(tf.mul(tf.gather(table, y), 3), x);
    close(s3.dataSync(), exp3.dataSync(), 1e-6, "scale 3");
    // whole samples: scale 1 equals unguided sampling with the same seed
    const a = sampleFlow(model, y, [2], { steps: 5, seed: 9, cfgScale: 1 });
    const b = sampleFlow(model, y, [2], { steps: 5, seed: 9 });
    close(a.dataSync(), b.dataSync(), 0, "scale-1 samples");
    // tensor count flat across steps
    const counts: number[] = [];
    const c = sampleFlow(model, y, [2], { steps: 6, seed: 1, cfgScale: 2, onStep: () => counts.push(tf.memory().numTensors) });
    assert.equal(new Set(counts).size, 1, `tensor counts per step: ${counts}`);
    const before = tf.memory().numTensors;
    sampleFlow(model, y, [2], { steps: 3, seed: 1, cfgScale: 2 }).dispose();
    assert.equal(tf.memory().numTensors, before, "sampleFlow leaks");
    assert.throws(() => sampleFlow(model, y, [2], { steps: 0 }), /steps=0/);
    tf.dispose([table, y, x, cond, s1, direct, s3, exp3, a, b, c]);
  });
}
