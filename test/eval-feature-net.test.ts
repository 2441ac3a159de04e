import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { FAST_ENGINES } from "./engines";
import { Classifier, DEFAULT_CLASSIFIER_ARCH, meanPool2 } from "../lib/models/classifier";
import { classifierArch, featureNetConfig, featureNetConfigOf } from "../lib/experiments/featurenet/config";
import { clearFeatureNetCache, extractorOf, loadFeatureNet } from "../lib/experiments/featurenet/task";
import { runEnv } from "../lib/experiments/kinds";
import { reuseRun } from "../lib/experiments/env";
import { resolveConfig } from "../lib/train/config";
import { loadRunWeights } from "../lib/train/trainer";
import { runId } from "../lib/train/run";

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

test("classifier: the same features on cpu, wasm and native", async () => {
  const x = Float32Array.from({ length: 2 * 1024 }, (_, i) => Math.sin(i * 0.37));
  const run = async (backend: "cpu" | "wasm" | "native") => {
    await initBackend(backend, { log: () => {} });
    const net = new Classifier(DEFAULT_CLASSIFIER_ARCH, 11);
    const f = tf.tidy(() => Array.from(net.forward(tf.tensor4d(x, [2, 32, 32, 1])).features.dataSync()));
    net.dispose();
    return f;
  };
  const a = await run("cpu");
  for (const e of FAST_ENGINES) {
    const b = await run(e);
    const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    assert.ok(maxDiff < 1e-4, `max |cpu − ${e}| = ${maxDiff}`);
  }
});

test("feature net kind: trained by the one trainer, deterministic from the seed, no tensor leak per step", async () => {
  await initBackend("wasm", { log: () => {} });
  const config = resolveConfig(featureNetConfig, { preset: "tiny", overrides: { trainLimit: 256, steps: 4, warmupSteps: 2, testLimit: 200, logEvery: 1 } });
  const roots = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), "fnet-")));
  try {
    const nets: Classifier[] = [];
    for (const runsDir of roots) {
      const counts: number[] = [];
      const env = runEnv({ runsDir, log: () => {}, progress: false });
      const { run, reused } = await reuseRun(env, "featurenet", config, { progress: false, onStep: () => counts.push(tf.memory().numTensors) });
      assert.equal(reused, false);
      assert.deepEqual(counts.slice(1), new Array(counts.length - 1).fill(counts[0]), `tensors per step: ${counts.join(",")}`);
      const losses = run.metrics.filter((r) => r.type === "train").map((r) => r.loss as number);
      assert.ok(losses[0] > 1.5 && losses[0] < 3, `starts near ln 10 = 2.30 (got ${losses[0]})`);
      assert.ok(Number(run.done.final.testAccuracy) > 0, "the test accuracy is recorded at the end");
      const net = new Classifier(classifierArch(config), config.seed);
      loadRunWeights(run, net.params);
      nets.push(net);
    }
    assert.deepEqual(weights(nets[0]), weights(nets[1]));
    assert.notDeepEqual(weights(nets[0]), weights(new Classifier(classifierArch(config), config.seed)));
    for (const n of nets) n.dispose();
  } finally {
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  }
});

test("loadFeatureNet: trained once as a run (announced), memoised in the process, then reused from its run folder", async () => {
  await initBackend("wasm", { log: () => {} });
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), "fnet-"));
  try {
    const lines: string[] = [];
    const env = runEnv({ runsDir, log: (l) => lines.push(l), progress: false });
    const first = await loadFeatureNet(env, "tiny");
    assert.match(lines[0], /feature net: training the "tiny" classifier \(46 steps on 3000 train images, TEST-ONLY tiny variant\) as run featurenet-[0-9a-f]{12}/);
    assert.equal(path.basename(first.dir), first.runId);
    assert.ok(first.testAccuracy > 0.3 && first.testAccuracy < 1, `tiny accuracy ${first.testAccuracy}`);
    assert.equal(await loadFeatureNet(env, "tiny"), first, "memoised in the process");
    const n = lines.length;
    const w1 = weights(first.net);
    clearFeatureNetCache();
    const again = await loadFeatureNet(env, "tiny");
    assert.equal(lines.length, n, "no training the second time");
    assert.deepEqual(weights(again.net), w1);
    assert.equal(again.testAccuracy, first.testAccuracy);
    assert.equal(extractorOf(again).id, first.runId);
    assert.notEqual(runId("featurenet", featureNetConfigOf("tiny")), runId("featurenet", featureNetConfigOf("full")));
    clearFeatureNetCache();
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});
