import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Rng } from "../lib/rng";
import { psnr, psnrPerImage } from "../lib/eval/psnr";
import { ssim, ssimPerImage } from "../lib/eval/ssim";
import { momentsOf } from "../lib/eval/stats";
import { frechetDistance, frechetParts, sqrtPsd } from "../lib/eval/fid";
import { inceptionScore } from "../lib/eval/inception-score";
import { precisionRecall } from "../lib/eval/precision-recall";
import type { ImageArray } from "../lib/eval/images";

const img = (values: number[], n: number, h: number, w: number, c = 1): ImageArray => ({ images: Float32Array.from(values), n, height: h, width: w, channels: c });
const close = (a: number, b: number, tol: number, msg = "") => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b} (tol ${tol})`);

test("PSNR: hand-computed values, ranges, infinity for identical images", () => {
  // a constant error of 0.1 ⇒ MSE = 0.01 ⇒ 20 dB; one pixel off by 0.5 among 4 ⇒ MSE = 1/16 ⇒ 10·log10(16) dB
  const a = img([0, 0, 0, 0, 0, 0, 0, 0], 2, 2, 2);
  const b = img([0.1, 0.1, 0.1, 0.1, 0.5, 0, 0, 0], 2, 2, 2);
  const per = psnrPerImage(a, b);
  close(per[0], 20, 1e-5);
  close(per[1], 10 * Math.log10(16), 1e-9);
  close(psnr(a, b), (20 + 10 * Math.log10(16)) / 2, 1e-5);
  // [-1, 1] inputs: a difference of 0.2 there is 0.1 on [0, 1]
  close(psnr(img([-1, -1], 1, 1, 2), img([-0.8, -0.8], 1, 1, 2), { range: [-1, 1] }), 20, 1e-5);
  assert.equal(psnr(a, a), Infinity);
});

test("SSIM: hand-computed single-window values (7×7, sample covariance)", () => {
  // constant images 0.5 vs 0.25: σ = 0 ⇒ S = (2·0.5·0.25 + C1) / (0.25 + 0.0625 + C1), C1 = 1e-4
  close(ssim(img(new Array(49).fill(0.5), 1, 7, 7), img(new Array(49).fill(0.25), 1, 7, 7)), 0.2501 / 0.3126, 1e-9);
  // 25 ones + 24 zeros vs half of it: μx = 25/49, μy = μx/2, σx² = (25 − 49μx²)/48 = 25/98 (sample variance),
  // σy² = σx²/4, σxy = σx²/2 ⇒ S = (2μxμy + C1)(σx² + C2) / ((μx² + μy² + C1)(1.25σx² + C2)), C2 = 9e-4
  const x = Array.from({ length: 49 }, (_, i) => (i < 25 ? 1 : 0));
  const ux = 25 / 49, uy = ux / 2, vx = 25 / 98; // prettier-ignore
  const expected = ((2 * ux * uy + 1e-4) * (vx + 9e-4)) / ((ux * ux + uy * uy + 1e-4) * (1.25 * vx + 9e-4));
  close(expected, 0.6404995049968704, 1e-15);
  close(ssim(img(x, 1, 7, 7), img(x.map((v) => v / 2), 1, 7, 7)), expected, 1e-9);
  close(ssim(img(x, 1, 7, 7), img(x, 1, 7, 7)), 1, 1e-12);
});

test("SSIM: multi-window images average over the valid region (skimage's crop), channels averaged", () => {
  // reference values from an independent numpy/scipy re-implementation of skimage.structural_similarity
  // (uniform_filter(size=7), cov_norm = 49/48, crop 3 pixels, mean) on these patterns
  const X: number[] = [];
  const Y: number[] = [];
  for (let r = 0; r < 12; r++) for (let c = 0; c < 10; c++) {
    X.push(((r * 7 + c * 3) % 11) / 10);
    Y.push(((r * 5 + c * 2) % 7) / 6);
  }
  close(ssim(img(X, 1, 12, 10), img(Y, 1, 12, 10)), -0.2594783280119313, 1e-6);
  // two channels, interleaved NHWC: channel 0 = (X, Y), channel 1 = (Y, X/2)
  const a: number[] = [];
  const b: number[] = [];
  for (let p = 0; p < 120; p++) {
    a.push(X[p], Y[p]);
    b.push(Y[p], X[p] / 2);
  }
  close(ssim(img(a, 1, 12, 10, 2), img(b, 1, 12, 10, 2)), -0.20840514892933287, 1e-6);
  // per-image values and [-1, 1] mapping
  const per = ssimPerImage(img([...X, ...X], 2, 12, 10), img([...Y, ...X], 2, 12, 10));
  close(per[0], -0.2594783280119313, 1e-6);
  close(per[1], 1, 1e-12);
  close(ssim(img(X.map((v) => 2 * v - 1), 1, 12, 10), img(Y.map((v) => 2 * v - 1), 1, 12, 10), { range: [-1, 1] }), -0.2594783280119313, 1e-6);
});

test("PSNR/SSIM: bad inputs are clear errors", () => {
  const a = img(new Array(64).fill(0), 1, 8, 8);
  assert.throws(() => psnr(a, img(new Array(49).fill(0), 1, 7, 7)), /psnr: image sets differ in shape: \[1, 8, 8, 1\] vs \[1, 7, 7, 1\]/);
  assert.throws(() => ssim(a, img([NaN, ...new Array(63).fill(0)], 1, 8, 8)), /ssim\(b\): value\[0\] is NaN/);
  assert.throws(() => ssim(img(new Array(36).fill(0), 1, 6, 6), img(new Array(36).fill(0), 1, 6, 6)), /smaller than the 7×7 window/);
  assert.throws(() => psnr(img([0, 0, 0], 1, 2, 2), a), /3 values do not match n·h·w·c = 1·2·2·1/);
});

function gaussian(n: number, d: number, seed: number, scale = 1, shift = 0): Float64Array {
  const r = new Rng(seed, "test-gauss");
  return Float64Array.from({ length: n * d }, () => scale * r.normal() + shift);
}

test("stats: mean/covariance match the definition; too few samples and NaN are errors", () => {
  const s = momentsOf([1, 2, 3, 6, 5, 10], 3, 2);
  assert.deepEqual(Array.from(s.mu), [3, 6]);
  // centred: (−2,−4), (0,0), (2,4) ⇒ Σ = [[8, 16], [16, 32]] / 2
  assert.deepEqual(Array.from(s.sigma), [4, 8, 8, 16]);
  assert.throws(() => momentsOf([1, 2, 3, 4], 2, 2), /2 samples of dimension 2: a covariance needs at least d \+ 1 = 3 samples/);
  assert.throws(() => momentsOf([1, 2, NaN, 4, 5, 6], 3, 2), /sample 1, feature 0 is NaN/);
});

test("FID: closed forms, X vs X ≈ 0, symmetric, grows with a mean shift; sqrtPsd squares back", () => {
  // 1-d Gaussians: FID = (μ1−μ2)² + σ1² + σ2² − 2σ1σ2 = (μ1−μ2)² + (σ1−σ2)²
  const a = { mu: Float64Array.of(1), sigma: Float64Array.of(4), n: 10, d: 1 };
  const b = { mu: Float64Array.of(3), sigma: Float64Array.of(9), n: 10, d: 1 };
  close(frechetDistance(a, b), 4 + 1, 1e-12);
  // commuting diagonal covariances
  const c = { mu: Float64Array.of(0, 0), sigma: Float64Array.of(1, 0, 0, 4), n: 10, d: 2 };
  const e = { mu: Float64Array.of(1, 1), sigma: Float64Array.of(9, 0, 0, 16), n: 10, d: 2 };
  const parts = frechetParts(c, e);
  close(parts.meanTerm, 2, 1e-12);
  close(parts.covTerm, (1 - 3) ** 2 + (2 - 4) ** 2, 1e-9);
  const x = momentsOf(gaussian(400, 16, 1), 400, 16);
  const y = momentsOf(gaussian(400, 16, 2, 1.3), 400, 16);
  close(frechetDistance(x, x), 0, 1e-8);
  close(frechetDistance(x, y), frechetDistance(y, x), 1e-8);
  let prev = 0;
  for (const shift of [0.1, 0.3, 1]) {
    const f = frechetDistance(x, momentsOf(gaussian(400, 16, 1, 1, shift), 400, 16));
    close(f, 16 * shift * shift, 1e-8); // same samples shifted: only the mean term remains
    assert.ok(f > prev);
    prev = f;
  }
  const root = sqrtPsd(y.sigma, 16);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let v = 0;
      for (let k = 0; k < 16; k++) v += root[i * 16 + k] * root[k * 16 + j];
      close(v, y.sigma[i * 16 + j], 1e-9);
    }
  }
  assert.throws(() => frechetDistance(a, c), /feature dimensions differ: 1 vs 2/);
  assert.throws(() => frechetDistance(a, { ...b, mu: Float64Array.of(NaN) }), /fid\(b\): mu\[0\] is NaN/);
});

test("Inception score: 1 for constant predictions, K for confident balanced ones", () => {
  const k = 4;
  const constant = Array.from({ length: 8 * k }, (_, i) => (i % k === 0 ? 1 : 0));
  close(inceptionScore(constant, 8, k, { splits: 2 }).mean, 1, 1e-12);
  const balanced = Array.from({ length: 8 * k }, (_, i) => (i % k === Math.floor(i / k) % k ? 1 : 0));
  const is = inceptionScore(balanced, 8, k, { splits: 2 });
  close(is.mean, 4, 1e-12);
  close(is.std, 0, 1e-12);
  assert.throws(() => inceptionScore([0.5, 0.4], 1, 2, { splits: 1 }), /row 0 sums to 0.9/);
});

test("precision/recall: identical sets ⇒ 1/1; a dropped mode ⇒ recall falls, precision stays", async () => {
  await initBackend("cpu", { log: () => {} });
  // 4 well-separated clusters in 8-d
  const d = 8;
  const make = (n: number, seed: number, modes: number[]) => {
    const r = new Rng(seed, "pr");
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const m = modes[i % modes.length];
      for (let j = 0; j < d; j++) out[i * d + j] = r.normal() * 0.3 + (j === m ? 10 : 0);
    }
    return out;
  };
  const real = make(400, 1, [0, 1, 2, 3]);
  const before = tf.memory().numTensors;
  const same = precisionRecall(real, 400, real, 400, d);
  assert.equal(tf.memory().numTensors, before, "precisionRecall leaked tensors");
  assert.equal(same.precision, 1);
  assert.equal(same.recall, 1);
  const full = precisionRecall(real, 400, make(400, 2, [0, 1, 2, 3]), 400, d);
  const dropped = precisionRecall(real, 400, make(400, 3, [0, 1]), 400, d);
  assert.ok(full.precision > 0.75 && full.recall > 0.75, JSON.stringify(full));
  assert.ok(dropped.precision > 0.75, JSON.stringify(dropped));
  assert.ok(dropped.recall < 0.6, JSON.stringify(dropped));
  assert.throws(() => precisionRecall(real, 400, real, 399, d), /precisionRecall\(fake\): 3200 values do not match \[n, d\] = \[399, 8\]/);
});
