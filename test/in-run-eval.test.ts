/**
 * In-run evaluation of the generators (lib/experiments/generator `inRunEvaluation`):
 *   - on the run's data-parallel workers (EvalPool) it gives the same row and sample snapshot as in this process,
 *     for AR and DiT: every sampling batch is drawn by a worker, the images are the same to the bit;
 *   - the guided variant only at the steps of evalGuidedAt; the snapshot is the first k·C of the class-balanced
 *     samples, grouped by class, the same noise at every step;
 *   - bad settings are refused with the value and what was expected;
 *   - the end-of-budget CFG check after training draws the same samples as the in-run guided variant would;
 * and embedSamples with several sampler calls in flight embeds the batches in order.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { runEnv } from "../lib/experiments/kinds";
import { resolveConfig } from "../lib/train/config";
import { lookupKind } from "../lib/train/registry";
import { DataParallel } from "../lib/train/data-parallel";
import { Run } from "../lib/train/run";
import { loadRunWeights, type EvalPool, type TrainTask } from "../lib/train/trainer";
import { reuseRun } from "../lib/experiments/env";
import { cfgEndOfRun } from "../lib/experiments/convergence/cfg-end";
import { manifestDifferences, readRunFidManifests } from "../lib/eval/fid-manifest";
import type { ConvergenceRun } from "../lib/experiments/convergence/runs";
import { readSampleSnapshots } from "../lib/experiments/sample-snapshots";
import { embedSamples } from "../lib/eval/features";
import { convergenceRun } from "../lib/experiments/convergence/grid";

const quiet = () => {};
// one runs folder for every test here: the tiny tokenizer and feature network are trained once
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-inrun-"));
after(() => fs.rmSync(runsDir, { recursive: true, force: true }));
const EVAL = { steps: 4, evalAt: [2], evalSamples: 130, sampleBatch: 65, evalGridPerClass: 1, evalGuidedScale: 2, evalGuidedAt: [4] };

for (const kind of ["ar", "dit"] as const) {
  test(`${kind}: the in-run evaluation on 2 data-parallel workers equals the one in this process (gFID, guided gFID, snapshot)`, async () => {
    await initBackend("wasm", { log: quiet });
    const env = runEnv({ runsDir, log: quiet, progress: false });
    const spec = lookupKind(env.kinds, kind);
    const config = resolveConfig(spec.configDef, { preset: "tiny", overrides: EVAL }) as Record<string, unknown>;
    const task = (await spec.makeTask(config)) as TrainTask & { dispose(): void };
    let dp: DataParallel | null = null;
    try {
      const runDir = Run.locate(kind, config, runsDir).dir;
      // away from the initialisation (adaLN-Zero would make the DiT ignore its class, and CFG a no-op)
      tf.tidy(() => task.params.names().forEach((n, i) => task.params.get(n).assign(tf.add(task.params.get(n), tf.randomNormal(task.params.get(n).shape, 0, 0.05, "float32", i)))));
      await task.prepare!();
      const net = fs.readdirSync(runsDir).find((d) => d.startsWith("featurenet-"));
      assert.ok(net && fs.existsSync(path.join(runsDir, net, "test-embedding.bin")), "prepare trained the feature network and embedded the test split");
      const local2 = await task.evaluate!(2);
      const snapLocal = readSampleSnapshots(runDir);
      const local4 = await task.evaluate!(4);
      fs.rmSync(path.join(runDir, "samples"), { recursive: true });

      dp = await DataParallel.start({ kind, config, params: task.params, workers: 2, kindsModule: env.kindsModule!, runsDir });
      const calls: number[] = [];
      const inner = dp.evalPool(task.params);
      const pool: EvalPool = { workers: 2, call: (m, a) => (calls.push((a as { classes: Int32Array }).classes.length), inner.call(m, a)) };
      const before = tf.memory().numTensors;
      const pooled2 = await task.evaluate!(2, pool);
      const pooled4 = await task.evaluate!(4, pool);
      assert.equal(tf.memory().numTensors, before, "no tensor is left behind by a pooled evaluation");
      const snapPooled = readSampleSnapshots(runDir);

      assert.deepEqual(calls, [65, 65, 65, 65, 65, 65], "every batch is drawn by a worker: 2 at step 2, 2 + 2 guided at step 4");
      for (const [a, b] of [[local2, pooled2], [local4, pooled4]]) {
        assert.ok(Number.isFinite(a.gfid) && a.gfid > 0, `gFID ${a.gfid}`);
        assert.equal(b.gfid, a.gfid, "gFID on the workers = in this process, to the bit");
        assert.equal(b.gfidGuided, a.gfidGuided);
        assert.equal(a.evalWorkers, 1);
        assert.equal(b.evalWorkers, 2);
      }
      assert.equal(local2.gfidGuided, undefined, "no guided gFID at step 2 (evalGuidedAt = [4])");
      assert.ok(Number.isFinite(local4.gfidGuided) && local4.gfidGuided !== local4.gfid, `guided gFID at step 4: ${local4.gfidGuided} vs ${local4.gfid}`);

      assert.deepEqual(snapLocal.map((s) => s.step), [2]);
      assert.deepEqual(snapPooled.map((s) => s.step), [2, 4]);
      assert.deepEqual(snapPooled[0].classes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "one sample of every class, in class order");
      assert.deepEqual(snapPooled[0].shape, [10, 32, 32, 1]);
      assert.deepEqual(Array.from(snapPooled[0].pixels), Array.from(snapLocal[0].pixels), "the snapshot drawn on a worker = the local one");
      assert.deepEqual(Array.from(snapPooled[1].pixels), Array.from(snapPooled[0].pixels), "the same weights and noise at steps 2 and 4 draw the same snapshot");
    } finally {
      await dp?.close();
      task.dispose();
    }
  });
}

for (const kind of ["ar", "dit"] as const) {
  test(`${kind}: the end-of-budget CFG check (convergence/cfg-end) equals the in-run guided gFID of the last step, and is read back from the run folder`, async () => {
    await initBackend("wasm", { log: quiet });
    const env = runEnv({ runsDir, log: quiet, progress: false });
    const spec = lookupKind(env.kinds, kind);
    const plain = { steps: 4, evalAt: [2], evalSamples: 130, sampleBatch: 65, evalGridPerClass: 1 };
    const config = resolveConfig(spec.configDef, { preset: "tiny", overrides: plain }) as Record<string, unknown> & { steps: number; seed: number };
    const { run } = await reuseRun(env, kind, config);
    const conv = { label: `${kind} test`, kind, seed: config.seed, runDir: run.dir, config, planned: { index: 0, label: `${kind} test`, kind, config, id: path.basename(run.dir) } } as unknown as ConvergenceRun;
    const first = await cfgEndOfRun(env, conv, 2);
    assert.equal(first.cached, false);
    assert.ok(Number.isFinite(first.gfid) && first.gfid > 0 && first.seconds > 0, JSON.stringify(first));
    const again = await cfgEndOfRun(env, conv, 2);
    assert.deepEqual(again, { scale: 2, gfid: first.gfid, seconds: 0, cached: true, manifest: first.manifest });
    // how the gFIDs were measured is in the run folder: the in-run one (written when training started) and the check's
    const recorded = readRunFidManifests(run.dir)!;
    assert.deepEqual(Object.keys(recorded).sort(), ["gfid", "gfidCfgEnd@2"]);
    assert.deepEqual([recorded.gfid.samples, recorded.gfid.guidanceScale, recorded["gfidCfgEnd@2"].guidanceScale, recorded.gfid.classes], [130, 1, 2, "class i mod 10 for sample i"]);
    assert.deepEqual(manifestDifferences(recorded.gfid, recorded["gfidCfgEnd@2"]), ["guidanceScale"]);
    // the same run's final weights evaluated in-run with the guided variant at its last step: the same samples
    const guidedCfg = resolveConfig(spec.configDef, { preset: "tiny", overrides: { ...plain, evalGuidedScale: 2, evalGuidedAt: [4] } }) as Record<string, unknown>;
    const task = (await spec.makeTask(guidedCfg)) as TrainTask & { dispose(): void };
    try {
      loadRunWeights(run, task.params);
      const row = await task.evaluate!(4);
      assert.equal(first.gfid, row.gfidGuided, "to the bit");
      assert.notEqual(row.gfidGuided, row.gfid);
    } finally {
      task.dispose();
    }
    const scales = JSON.parse(fs.readFileSync(path.join(run.dir, "cfg-end.json"), "utf8"));
    assert.deepEqual(scales.map((e: { scale: number }) => e.scale), [2]);
    await assert.rejects(cfgEndOfRun(env, conv, NaN), /scale=NaN; expected a finite CFG scale/);
    // a torn or foreign file is not trusted: the check runs again and rewrites it
    fs.writeFileSync(path.join(run.dir, "cfg-end.json"), "[{\"scale\": 2, \"gf");
    const redone = await cfgEndOfRun(env, conv, 2);
    assert.equal(redone.cached, false);
    assert.equal(redone.gfid, first.gfid);
    assert.equal((await cfgEndOfRun(env, conv, 2)).cached, true);
  });
}

test("in-run evaluation refuses guided steps it never evaluates and a sample grid larger than the first batch", async () => {
  await initBackend("wasm", { log: quiet });
  {
    const env = runEnv({ runsDir, log: quiet, progress: false });
    const spec = lookupKind(env.kinds, "dit");
    const make = async (o: Record<string, unknown>) => spec.makeTask(resolveConfig(spec.configDef, { preset: "tiny", overrides: { ...EVAL, ...o } }));
    await assert.rejects(make({ evalGuidedAt: [3] }), /evalGuidedAt has step\(s\) 3 where the run does not evaluate; expected steps of evalAt, multiples of evalEvery=0, or steps=4/);
    await assert.rejects(make({ evalGridPerClass: 7 }), /evalGridPerClass=7 needs 70 samples from the first sampling batch, but sampleBatch=65/);
  }
});

test("the convergence runs evaluate without CFG in-run (the CFG check runs after training), in batches of sampleBatch", () => {
  for (const kind of ["ar", "dit"] as const) {
    for (const seed of [0, 1]) {
      const o = convergenceRun(kind, "quick", seed).overrides as { evalGuidedScale?: number; sampleBatch: number; evalSamples: number };
      assert.equal(o.evalGuidedScale, undefined, `${kind} seed ${seed}`);
      assert.equal(o.evalSamples / o.sampleBatch, 2, "two batches: one per worker");
    }
  }
});

test("embedSamples with sampler calls in flight embeds the batches in order, as one at a time", async () => {
  await initBackend("wasm", { log: quiet });
  const ex = { featureDim: 2, id: "mean-and-max", forward: (x: tf.Tensor4D) => ({ features: tf.stack([tf.mean(x, [1, 2, 3]), tf.max(x, [1, 2, 3])], 1) as tf.Tensor2D }) };
  const seen: number[] = [];
  // later batches answer first: a worker pool does not keep the order
  const sampler = async (n: number, seed: number, at: { b: number; lo: number }) => {
    seen.push(at.b);
    await new Promise((r) => setTimeout(r, 40 - 10 * at.b));
    return tf.fill([n, 4, 4, 1], (at.lo + (seed % 7)) / 100) as tf.Tensor4D; // images live on [−1, 1]
  };
  const one = await embedSamples(sampler, 35, ex, { batchSize: 10, seed: 3 });
  const before = tf.memory().numTensors;
  const three = await embedSamples(sampler, 35, ex, { batchSize: 10, seed: 3, concurrency: 3 });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(Array.from(three.features), Array.from(one.features));
  assert.ok(Math.abs(one.features[2 * 34] - (30 + ((3 * 1000003 + 3) % 7)) / 100) < 1e-6, `sample 34 comes from batch 3 (lo 30): ${one.features[2 * 34]}`);
  assert.deepEqual(seen, [0, 1, 2, 3, 0, 1, 2, 3]);
  await assert.rejects(embedSamples(sampler, 5, ex, { concurrency: 0 }), /concurrency=0; expected a positive integer/);
});
