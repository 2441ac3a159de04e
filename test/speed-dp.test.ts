/**
 * Data parallelism over worker threads (lib/train/data-parallel): batch sharding, and 2 workers giving the same
 * gradients and the same training updates as one process on the same batches (float32 tolerance), on cpu (toy
 * task) and on wasm (benchmark workload B, tiny); workers load the TypeScript sources through tsx.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { DataParallel, shardBatch, shardRanges } from "../lib/train/data-parallel";
import { computeGrads, train } from "../lib/train/trainer";
import { resolveConfig } from "../lib/train/config";
import { makeToyTask, toyConfig } from "../lib/train/toy";
import { benchBConfig, makeBenchB } from "../bench/workloads";

function maxRelDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), "same gradient names");
  let worst = 0;
  for (const k of Object.keys(a)) {
    let ref = 1e-6;
    let d = 0;
    for (let i = 0; i < a[k].length; i++) {
      ref = Math.max(ref, Math.abs(a[k][i]));
      d = Math.max(d, Math.abs(a[k][i] - b[k][i]));
    }
    worst = Math.max(worst, d / ref);
  }
  return worst;
}

test("shardRanges splits a batch into contiguous near-equal parts; shardBatch slices batch-major tensors", async () => {
  await initBackend("cpu", { log: () => {} });
  assert.deepEqual(shardRanges(7, 2), [[0, 4], [4, 7]]);
  assert.deepEqual(shardRanges(6, 3), [[0, 2], [2, 4], [4, 6]]);
  assert.deepEqual(shardRanges(5, 1), [[0, 5]]);
  const before = tf.memory().numTensors;
  const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
  const table = tf.tensor1d([9, 9, 9]); // first axis ≠ batch: kept as is
  const b = shardBatch({ x, nested: [x], table, n: 3 }, 1, 3, 4);
  assert.deepEqual(Array.from(b.x.dataSync()), [3, 4, 5, 6]);
  assert.deepEqual(Array.from(b.nested[0].dataSync()), [3, 4, 5, 6]);
  assert.equal(b.table, table);
  assert.equal(b.n, 3);
  tf.dispose([x, table, b.x, b.nested[0]]);
  assert.equal(tf.memory().numTensors, before);
});

test("cpu: 2 workers give the gradients and the training run of 1 process (toy task)", async () => {
  await initBackend("cpu", { log: () => {} });
  const cfg = resolveConfig(toyConfig, { preset: "tiny", overrides: { steps: 3, batchSize: 10, ckptEvery: 0, evalEvery: 0, emaDecay: 0 } });
  const task = makeToyTask(cfg);
  const dp = await DataParallel.start({ kind: "toy", config: cfg, params: task.params, workers: 2, backend: "cpu", kindsModule: require.resolve("../lib/experiments/kinds") });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-dp-"));
  try {
    const ctx = { step: 2, seed: 11 };
    const local = await computeGrads(task, task.batch(2), ctx);
    const par = await dp.gradients(task.params, 2, ctx);
    assert.ok(Math.abs(local.loss - par.loss) <= 1e-6 * Math.abs(local.loss), `loss ${local.loss} vs ${par.loss}`);
    assert.ok(maxRelDiff(local.grads, par.grads) < 1e-5, "gradients agree");
    assert.equal(dp.lastTiming?.workerMs.length, 2);

    // three optimizer steps through the trainer: gradFn from the pool vs local gradients
    const quiet = { progress: false, log: () => {} } as const;
    const a = await train(task, { ...quiet, runsDir: path.join(dir, "dp"), resume: false, gradFn: dp.gradFn(task.params) });
    const task2 = makeToyTask(cfg);
    const b = await train(task2, { ...quiet, runsDir: path.join(dir, "local"), resume: false });
    const lossA = a.metrics.filter((r) => r.type === "train").map((r) => r.loss as number);
    const lossB = b.metrics.filter((r) => r.type === "train").map((r) => r.loss as number);
    lossA.forEach((l, i) => assert.ok(Math.abs(l - lossB[i]) <= 1e-5 * Math.abs(lossB[i]), `train loss row ${i}: ${l} vs ${lossB[i]}`));
    for (const [name, v] of task.params.entries()) {
      const x = v.dataSync();
      const y = task2.params.get(name).dataSync();
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 1e-5 * Math.max(1, Math.abs(y[i])), `${name}[${i}]: ${x[i]} vs ${y[i]}`);
    }
    task2.dispose();
  } finally {
    await dp.close();
    task.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("wasm: 2 workers give the gradients of 1 process on workload B (tiny); errors name the worker", async () => {
  await initBackend("wasm", { log: () => {} });
  const cfg = resolveConfig(benchBConfig, { preset: "tiny", overrides: { batchSize: 6 } });
  const task = makeBenchB(cfg);
  const dp = await DataParallel.start({ kind: "bench-b", config: cfg, params: task.params, workers: 2, kindsModule: require.resolve("../bench/workloads") });
  try {
    const ctx = { step: 1, seed: 3 };
    const b = task.batch(1);
    const local = await computeGrads(task, b, ctx);
    task.disposeBatch!(b);
    const par = await dp.gradients(task.params, 1, ctx);
    assert.ok(Math.abs(local.loss - par.loss) <= 1e-5 * Math.abs(local.loss), `loss ${local.loss} vs ${par.loss}`);
    assert.ok(maxRelDiff(local.grads, par.grads) < 1e-4, "gradients agree");
    assert.ok(dp.heaps.every((h) => typeof h === "number" && h > 0), "workers report their wasm heap");
  } finally {
    await dp.close();
    task.dispose();
  }
  await assert.rejects(
    DataParallel.start({ kind: "no-such-kind", config: cfg, params: task.params, workers: 1, kindsModule: require.resolve("../bench/workloads") }),
    /worker 0: unknown train kind "no-such-kind"/,
  );
  await assert.rejects(DataParallel.start({ kind: "bench-b", config: cfg, params: task.params, workers: 8, kindsModule: require.resolve("../bench/workloads") }), /batchSize=6 must be an integer ≥ workers=8/);
});
