import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { Classifier, DEFAULT_CLASSIFIER_ARCH, meanPool2 } from "../lib/models/classifier";
import { clearFeatureNetCache, FEATURE_NET_PRESETS, featureNetDir, featureNetHash, loadOrTrainFeatureNet, trainFeatureNet } from "../lib/eval/feature-net";
import type { FeatureNetConfig } from "../lib/eval/feature-net";

/** 4 steps on 256 images: enough to test the machinery, not a usable network. */
const micro: FeatureNetConfig = { ...FEATURE_NET_PRESETS.tiny, trainLimit: 256, warmupSteps: 2 };

const weights = (c: Classifier) => c.params.entries().map(([n, v]) => [n, Array.from(v.dataSync())] as const);

test("classifier: shapes, same seed ⇒ same weights, mean-pool values", async () => {
  await initBackend("cpu", { log: () => {} });
  const a = new Classifier(DEFAULT_CLASSIFIER_ARCH, 3);
  const b = new Classifier(DEFAULT_CLASSIFIER_ARCH, 3);
  assert.deepEqual(weights(a), weights(b));
  const out = tf.tidy(() => {
    const o = a.forward(tf.zeros([2, 32, 32, 1]) as tf.Tensor4D);
    return [o.features.shape, o.logits.shape];
  });
  assert.deepEqual(out, [[2, 128], [2, 10]]);
  assert.throws(() => a.forward(tf.zeros([1, 28, 28, 1]) as tf.Tensor4D), /input must be \[B, 32, 32, 1\], got \[1, 28, 28, 1\]/);
  const p = tf.tidy(() => Array.from(meanPool2(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1])).dataSync()));
  assert.deepEqual(p, [3.5, 5.5, 11.5, 13.5]);
  a.dispose();
  b.dispose();
});

test("classifier: the same features on cpu and wasm", async () => {
  const x = Float32Array.from({ length: 2 * 1024 }, (_, i) => Math.sin(i * 0.37));
  const run = async (backend: "cpu" | "wasm") => {
    await initBackend(backend, { log: () => {} });
    const net = new Classifier(DEFAULT_CLASSIFIER_ARCH, 11);
    const f = tf.tidy(() => Array.from(net.forward(tf.tensor4d(x, [2, 32, 32, 1])).features.dataSync()));
    net.dispose();
    return f;
  };
  const a = await run("cpu");
  const b = await run("wasm");
  const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(maxDiff < 1e-4, `max |cpu − wasm| = ${maxDiff}`);
});

test("feature net training: deterministic from the seed, no leaked tensors", async () => {
  await initBackend("wasm", { log: () => {} });
  const before = tf.memory().numTensors;
  const r1 = trainFeatureNet(micro, { progress: false, testLimit: 200 });
  const nParams = r1.net.params.names().length;
  assert.equal(tf.memory().numTensors, before + nParams, "only the network's variables remain");
  const r2 = trainFeatureNet(micro, { progress: false, testLimit: 200 });
  assert.deepEqual(weights(r1.net), weights(r2.net));
  assert.ok(r1.finalLoss < 2.3, `loss ${r1.finalLoss}`);
  assert.notDeepEqual(weights(r1.net), weights(new Classifier(micro.arch, micro.seed)));
  r1.net.dispose();
  r2.net.dispose();
});

test("feature net cache: trained once, then loaded from disk with the same weights; corruption is an error", async () => {
  await initBackend("wasm", { log: () => {} });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "fnet-"));
  const lines: string[] = [];
  assert.throws(() => loadOrTrainFeatureNet({ config: micro, root, train: false }), /no cached feature network in .*custom-/);
  const first = loadOrTrainFeatureNet({ config: micro, root, log: (l) => lines.push(l), progress: false, testLimit: 200 });
  assert.match(lines[0], /feature net: training the "custom" classifier \(4 steps on 256 train images\)/);
  const w1 = weights(first.net);
  assert.equal(first.dir, featureNetDir("custom", micro, root));
  assert.equal(loadOrTrainFeatureNet({ config: micro, root }), first, "memoised in the process");
  clearFeatureNetCache();
  const again = loadOrTrainFeatureNet({ config: micro, root, log: (l) => lines.push(l), train: false });
  assert.equal(lines.length, 2, "no training the second time");
  assert.deepEqual(weights(again.net), w1);
  assert.equal(again.testAccuracy, first.testAccuracy);
  assert.notEqual(featureNetHash(micro), featureNetHash({ ...micro, seed: micro.seed + 1 }));
  // a truncated weights file
  clearFeatureNetCache();
  const wf = path.join(first.dir, "weights.bin");
  fs.truncateSync(wf, 1000);
  assert.throws(() => loadOrTrainFeatureNet({ config: micro, root, train: false }), /weights\.bin: 1000 bytes, the manifest needs \d+; the file is truncated or corrupted/);
  fs.rmSync(root, { recursive: true, force: true });
});
