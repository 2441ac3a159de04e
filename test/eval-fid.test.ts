/**
 * FID / IS / precision–recall on real images through a feature network. Properties that do not need a trained
 * network use a fixed random projection; the others use the TEST-ONLY "tiny" classifier (trained in seconds on 3 000
 * images the first time, then reused from its run folder data/runs/featurenet-<hash>/).
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { FAST_ENGINES } from "./engines";
import { loadFashionMnist } from "../lib/data/fashion-mnist";
import type { ImageDataset } from "../lib/data/fashion-mnist";
import { subset } from "../lib/data/batches";
import { Rng } from "../lib/rng";
import { embedImages, evaluateGenerator, featureStats, rFID } from "../lib/eval/features";
import { extractorOf, loadFeatureNet } from "../lib/experiments/featurenet/task";
import { runEnv } from "../lib/experiments/kinds";
import type { FeatureExtractor } from "../lib/eval/features";
import { frechetDistance } from "../lib/eval/fid";
import { precisionRecall } from "../lib/eval/precision-recall";

const quiet = { progress: false } as const;

/** Fixed random projection 1024 → 64 (no training needed). */
function randomProjection(d = 64): FeatureExtractor {
  const r = new Rng(5, "projection");
  const w = tf.keep(tf.tensor2d(Float32Array.from({ length: 1024 * d }, () => r.normal() / 32), [1024, d]));
  return { featureDim: d, id: `proj-${d}`, forward: (x) => ({ features: tf.matMul(tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D, w) }) };
}

function noisy(ds: ImageDataset, sigma: number, seed: number): ImageDataset {
  const r = new Rng(seed, "noise");
  return { ...ds, images: ds.images.map((v) => v + sigma * r.normal()) };
}

/** Separable box blur of radius `r` (edge-clamped), per image. */
function blurred(ds: ImageDataset, radius: number): ImageDataset {
  const out = new Float32Array(ds.images.length);
  const S = 32;
  const tmp = new Float32Array(S * S);
  for (let i = 0; i < ds.n; i++) {
    const o = i * S * S;
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) s += ds.images[o + y * S + Math.min(S - 1, Math.max(0, x + k))];
      tmp[y * S + x] = s / (2 * radius + 1);
    }
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) s += tmp[Math.min(S - 1, Math.max(0, y + k)) * S + x];
      out[o + y * S + x] = s / (2 * radius + 1);
    }
  }
  return { ...ds, images: out };
}

let tiny: FeatureExtractor;
let testSet: ImageDataset;
let trainSet: ImageDataset;

before(async () => {
  await initBackend(FAST_ENGINES[FAST_ENGINES.length - 1], { log: () => {} }); // the default engine: native where built
  tiny = extractorOf(await loadFeatureNet(runEnv({ progress: false }), "tiny"));
  testSet = loadFashionMnist("test", { limit: 600 });
  trainSet = subset(loadFashionMnist("train"), Array.from({ length: 600 }, (_, i) => 10000 + i));
});

test("FID(X, X) = 0, FID is symmetric, random projection features", () => {
  const proj = randomProjection();
  const a = featureStats(testSet, proj, quiet);
  const b = featureStats(trainSet, proj, quiet);
  assert.ok(frechetDistance(a, a) < 1e-6);
  const ab = frechetDistance(a, b);
  assert.ok(Math.abs(ab - frechetDistance(b, a)) < 1e-6 * Math.max(1, ab));
});

test("FID(train subset, test) is small next to corrupted sets; grows monotonically with noise and blur (tiny net)", () => {
  const ref = featureStats(testSet, tiny, quiet);
  const same = frechetDistance(featureStats(trainSet, tiny, quiet), ref);
  const noise = [0.1, 0.2, 0.4, 0.8].map((s) => frechetDistance(featureStats(noisy(testSet, s, 1), tiny, quiet), ref));
  const blur = [1, 2, 3].map((r) => frechetDistance(featureStats(blurred(testSet, r), tiny, quiet), ref));
  for (let i = 1; i < noise.length; i++) assert.ok(noise[i] > noise[i - 1], `noise FIDs ${noise}`);
  for (let i = 1; i < blur.length; i++) assert.ok(blur[i] > blur[i - 1], `blur FIDs ${blur}`);
  assert.ok(same < noise[1] && same < blur[0], `train-vs-test ${same}, noise ${noise}, blur ${blur}`);
});

test("precision/recall: only 3 classes ⇒ recall falls, precision stays (tiny net)", () => {
  const train = loadFashionMnist("train");
  const idx3: number[] = [];
  for (let i = 20000; idx3.length < 600; i++) if (train.labels[i] < 3) idx3.push(i);
  const real = embedImages(testSet, tiny, quiet);
  const all = embedImages(trainSet, tiny, quiet);
  const three = embedImages(subset(train, idx3), tiny, quiet);
  const full = precisionRecall(real.features, real.n, all.features, all.n, real.d);
  const dropped = precisionRecall(real.features, real.n, three.features, three.n, real.d);
  assert.ok(full.recall > 0.5 && full.precision > 0.5, JSON.stringify(full));
  assert.ok(dropped.recall < full.recall - 0.3, `recall ${dropped.recall} vs ${full.recall}`);
  assert.ok(dropped.precision > full.precision - 0.15, `precision ${dropped.precision} vs ${full.precision}`);
});

test("rFID: 0 for identical sets; bad input errors (shapes, too few samples, NaN)", () => {
  const opts = { extractor: tiny, progress: false };
  assert.ok(rFID(testSet, testSet, opts) < 1e-6);
  assert.ok(rFID(testSet, noisy(testSet, 0.3, 2), opts) > 0);
  const small = loadFashionMnist("test", { limit: 100 });
  assert.throws(() => rFID(small, small, opts), /100 samples of dimension 128: a covariance needs at least d \+ 1 = 129 samples/);
  assert.throws(() => rFID(testSet, small, opts), /rFID: originals \[600, 32, 32, 1\] and reconstructions \[100, 32, 32, 1\] differ in shape/);
  const bad = { ...testSet, images: testSet.images.slice() };
  bad.images[1024 * 3 + 5] = NaN;
  assert.throws(() => rFID(testSet, bad, opts), /image 3 holds NaN at value 5/);
});

test("evaluateGenerator: a sampler of real test images scores well and leaks no tensors", async () => {
  const sampler = (n: number, seed: number) => {
    const r = new Rng(seed, "sampler");
    const idx = Array.from({ length: n }, () => r.int(testSet.n));
    return tf.tensor4d(subset(testSet, idx).images, [n, 32, 32, 1]);
  };
  const opts = { extractor: randomProjection(), progress: false, batchSize: 100, reference: testSet };
  await evaluateGenerator(sampler, 200, opts); // burn-in (reference embedding, kernels)
  const before = tf.memory().numTensors;
  const m = await evaluateGenerator(sampler, 300, opts);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(m.fid) && m.fid >= 0);
  assert.ok(m.precision > 0.5, JSON.stringify(m));
  assert.ok(Number.isNaN(m.inceptionScore.mean)); // a projection has no class head
  const withHead = await evaluateGenerator(sampler, 300, { extractor: tiny, progress: false, batchSize: 100, precisionRecall: false, reference: testSet });
  assert.ok(withHead.inceptionScore.mean > 1, JSON.stringify(withHead));
  assert.equal(tf.memory().numTensors, before);
});
