import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { resolveConfig } from "../lib/train/config";
import { loadCheckpoint, listCheckpoints, newestCheckpoint, saveCheckpoint } from "../lib/train/checkpoint";
import { findFinishedRun, readMetrics, runId, type MetricsRow } from "../lib/train/run";
import { train, computeGrads, loadRunWeights, type TrainOptions } from "../lib/train/trainer";
import { lookupKind } from "../lib/train/registry";
import { runEnv, KIND_NAMES } from "../lib/experiments/kinds";
import { toyConfig, makeToyTask, type ToyConfig } from "../lib/train/index";
import { tempDirs } from "./support/temp-dirs";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

const quiet: TrainOptions = { progress: false, log: () => {} };

const tmpDir = tempDirs("ifsq-train-");

function cfg(set: string[] = []): ToyConfig {
  return resolveConfig(toyConfig, { preset: "tiny", set });
}

/** Metrics without the wall-clock fields. */
function stable(rows: MetricsRow[]): Record<string, unknown>[] {
  return rows.map(({ time: _t, stepsPerSec: _s, evalSeconds: _e, ...rest }) => rest);
}

/** Every tensor of a checkpoint file except timing-dependent metadata. */
function ckptTensors(file: string): Record<string, number[]> {
  const ck = loadCheckpoint(file);
  return Object.fromEntries(Object.entries(ck.tensors).map(([k, t]) => [k, Array.from(t.data)]));
}

test("the toy task's loss falls; rows carry loss, parts, lr, gradNorm, flops; done.json; the finished run is found and its weights load", async () => {
  const runsDir = tmpDir();
  const c = cfg();
  const task = makeToyTask(c);
  const res = await train(task, { ...quiet, runsDir });
  assert.equal(res.finished, true);
  assert.equal(res.step, 40);
  assert.equal(res.weights, "ema");
  const trainRows = res.metrics.filter((r) => r.type === "train");
  assert.deepEqual(trainRows.map((r) => r.step), [5, 10, 15, 20, 25, 30, 35, 40]);
  for (const r of trainRows) {
    for (const k of ["time", "loss", "mse", "gradNorm", "lr", "flops", "stepsPerSec"]) assert.equal(typeof r[k], "number", `row ${r.step} field ${k}`);
    assert.equal(r.flops, r.step * task.flopsPerStep!);
  }
  const first = trainRows[0].loss as number;
  const last = trainRows[trainRows.length - 1].loss as number;
  assert.ok(last < 0.7 * first, `loss falls: ${first} → ${last}`);
  const evals = res.metrics.filter((r) => r.type === "eval");
  assert.deepEqual(evals.map((r) => r.step), [20, 40]);
  assert.ok((evals[1].evalMse as number) < (evals[0].evalMse as number), "eval mse falls");
  assert.deepEqual(listCheckpoints(path.join(res.runDir, "checkpoints")).map((k) => k.step), [30, 40], "keepCheckpoints=2");
  const done = JSON.parse(fs.readFileSync(path.join(res.runDir, "done.json"), "utf8"));
  assert.equal(done.step, 40);
  assert.equal(done.final.loss, last);
  assert.equal(done.final.evalMse, evals[1].evalMse);

  const found = findFinishedRun("toy", c, { runsDir });
  assert.ok(found);
  assert.equal(found.dir, res.runDir);
  assert.deepEqual(stable(found.metrics), stable(res.metrics));
  assert.equal(findFinishedRun("toy", { ...c, lr: 0.5 }, { runsDir }), null);
  const fresh = makeToyTask(c);
  assert.deepEqual(loadRunWeights(found, fresh.params), { step: 40, weights: "ema" });
  for (const [n, v] of task.params.entries()) assert.deepEqual(Array.from(fresh.params.get(n).dataSync()), Array.from(v.dataSync()), n);
  // evaluate() of the reloaded weights reproduces the logged final eval
  assert.deepEqual(await fresh.evaluate!(40), { evalMse: evals[1].evalMse });
  task.dispose();
  fresh.dispose();
});

test("same seed ⇒ same metrics and weights, bit for bit; another seed differs", async () => {
  const runs: MetricsRow[][] = [];
  const weights: number[][] = [];
  for (const seed of [0, 0, 1]) {
    const task = makeToyTask(cfg([`seed=${seed}`, "steps=15"]));
    const res = await train(task, { ...quiet, runsDir: tmpDir() });
    runs.push(res.metrics);
    weights.push(Array.from(task.params.get("fc1.w").dataSync()));
    task.dispose();
  }
  assert.deepEqual(stable(runs[1]), stable(runs[0]));
  assert.deepEqual(weights[1], weights[0]);
  assert.notDeepEqual(stable(runs[2]), stable(runs[0]));
});

test("resume equivalence: 20 steps straight = stopped after 13 (checkpoint at 10) + resumed, metrics and all state bit for bit", async () => {
  // logEvery 4 and ckptEvery 5 leave a half-filled metrics window in the checkpoints; cosine + warm-up exercise lr(step)
  const c = cfg(["steps=20", "logEvery=4", "ckptEvery=5", "evalEvery=10", "keepCheckpoints=5", "schedule=cosine", "warmupSteps=3", "weightDecay=0.01"]);
  const dirA = tmpDir();
  const a = makeToyTask(c);
  const resA = await train(a, { ...quiet, runsDir: dirA });

  const dirB = tmpDir();
  const b1 = makeToyTask(c);
  const stopped = await train(b1, { ...quiet, runsDir: dirB, stopAfter: 13 });
  assert.equal(stopped.finished, false);
  assert.equal(stopped.step, 13);
  assert.ok(stopped.metrics.some((r) => r.step === 12), "a row after the last checkpoint was written before the 'kill'");
  assert.equal(newestCheckpoint(path.join(stopped.runDir, "checkpoints"))!.step, 10);
  b1.dispose();

  const b2 = makeToyTask(c); // a fresh process would rebuild the task from the config
  const resB = await train(b2, { ...quiet, runsDir: dirB });
  assert.equal(resB.resumedFrom, 10);
  assert.equal(resB.finished, true);
  assert.deepEqual(stable(resB.metrics), stable(resA.metrics));
  assert.deepEqual(stable(readMetrics(path.join(resB.runDir, "metrics.jsonl"))), stable(resA.metrics), "the file holds no duplicate rows");
  for (const [n, v] of a.params.entries()) assert.deepEqual(Array.from(b2.params.get(n).dataSync()), Array.from(v.dataSync()), n);
  const lastA = newestCheckpoint(path.join(resA.runDir, "checkpoints"))!;
  const lastB = newestCheckpoint(path.join(resB.runDir, "checkpoints"))!;
  assert.equal(lastB.step, 20);
  assert.deepEqual(ckptTensors(lastB.file), ckptTensors(lastA.file), "params, AdamW moments and t, EMA weights");

  // a finished run is loaded, not retrained
  const b3 = makeToyTask(c);
  const again = await train(b3, { ...quiet, runsDir: dirB });
  assert.equal(again.resumedFrom, 20);
  assert.deepEqual(stable(again.metrics), stable(resA.metrics));
  for (const [n, v] of a.params.entries()) assert.deepEqual(Array.from(b3.params.get(n).dataSync()), Array.from(v.dataSync()), n);
  for (const t of [a, b2, b3]) t.dispose();
});

test("no tensor leak per step: the count after step 2 equals the count after every later step (eval and checkpoint steps included)", async () => {
  const task = makeToyTask(cfg(["steps=12", "ckptEvery=3", "evalEvery=4", "logEvery=2"]));
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  await train(task, { ...quiet, runsDir: tmpDir(), onStep: () => counts.push(tf.memory().numTensors) });
  assert.equal(counts.length, 12);
  assert.deepEqual(counts.slice(1), Array(11).fill(counts[1]), `numTensors per step: ${counts.join(",")}`);
  assert.equal(tf.memory().numTensors, before, "optimizer and EMA state are freed at the end");
  task.dispose();
});

test("computeGrads (plain Float32Arrays, the worker-thread unit) drives the same training as local gradients", async () => {
  const c = cfg(["steps=10"]);
  const t1 = makeToyTask(c);
  const r1 = await train(t1, { ...quiet, runsDir: tmpDir() });
  const t2 = makeToyTask(c);
  const b0 = t2.batch(0);
  const n0 = tf.memory().numTensors;
  const g = await computeGrads(t2, b0, { step: 0, seed: 1 });
  assert.equal(tf.memory().numTensors, n0, "computeGrads leaves no tensors");
  t2.disposeBatch!(b0);
  assert.deepEqual(Object.keys(g.grads), ["fc1.w", "fc1.b", "fc2.w", "fc2.b"]);
  assert.equal(g.grads["fc1.w"].length, 4 * 16);
  assert.equal(g.parts.mse, g.loss);
  const r2 = await train(t2, {
    ...quiet,
    runsDir: tmpDir(),
    gradFn: async (i, ctx) => {
      const b = t2.batch(i);
      try {
        return await computeGrads(t2, b, ctx);
      } finally {
        t2.disposeBatch!(b);
      }
    },
  });
  assert.deepEqual(stable(r2.metrics), stable(r1.metrics));
  t1.dispose();
  t2.dispose();
});

test("resume refuses a checkpoint of another config; resume:false starts over; a NaN loss stops with a clear error", async () => {
  const runsDir = tmpDir();
  const c = cfg(["steps=6", "ckptEvery=3"]);
  const t1 = makeToyTask(c);
  const r1 = await train(t1, { ...quiet, runsDir, stopAfter: 4 });
  // plant a checkpoint written for another config into this run folder
  const other = path.join(r1.runDir, "checkpoints", "step-0000005.safetensors");
  await saveCheckpoint(other, { x: { dtype: "float32", shape: [1], data: new Float32Array(1) } }, { kind: "toy", step: 5, configHash: "0".repeat(64) });
  const t2 = makeToyTask(c);
  await assert.rejects(train(t2, { ...quiet, runsDir }), (e: Error) => e.message.includes(other) && /written for config hash 000000000000…, but the current config hashes to/.test(e.message));
  fs.rmSync(other);
  const t3 = makeToyTask(c);
  const r3 = await train(t3, { ...quiet, runsDir, resume: false });
  assert.equal(r3.resumedFrom, 0);
  assert.deepEqual(r3.metrics.filter((r) => r.type === "train").map((r) => r.step), [5, 6]);
  const bad = makeToyTask(cfg(["steps=3", "seed=3"]));
  const nanTask = { ...bad, loss: () => ({ loss: tf.scalar(NaN) as tf.Scalar }) };
  // the NaN scalar is not connected to the parameters, so tfjs itself refuses; a connected NaN is caught by the trainer
  const nanTask2 = { ...bad, loss: (b: { x: tf.Tensor2D; y: tf.Tensor2D }) => ({ loss: tf.mul(bad.mse(b), NaN) as tf.Scalar }) };
  await assert.rejects(train(nanTask, { ...quiet, runsDir }), /connection between any variable and the result/);
  await assert.rejects(train(nanTask2, { ...quiet, runsDir }), /toy: the loss is NaN at step 0/);
  for (const t of [t1, t2, t3, bad]) t.dispose();
});

test("a training process killed with SIGKILL mid-run resumes to the same metrics and weights as an uninterrupted run", async () => {
  // a checkpoint every step, so the kill often lands inside a checkpoint write
  const set = ["steps=80", "ckptEvery=1", "logEvery=3", "evalEvery=0", "seed=5"];
  const c = cfg(set);
  const runsDir = tmpDir();
  const root = path.resolve(__dirname, "..");
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/train.ts"), "toy", "--preset", "tiny", ...set.flatMap((s) => ["--set", s]), "--runs-dir", runsDir, "--backend", "cpu", "--quiet"], {
    cwd: root,
    stdio: "ignore",
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const runDir = path.join(runsDir, runId("toy", c));
  const ckDir = path.join(runDir, "checkpoints");
  let killedAt = -1;
  try {
    for (let i = 0; i < 3000 && killedAt < 0 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const newest = newestCheckpoint(ckDir);
      if (newest && newest.step >= 15) {
        child.kill("SIGKILL");
        killedAt = newest.step;
      }
    }
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
  const code = await exited;
  assert.ok(killedAt >= 15 && killedAt < 80, `killed mid-run (newest checkpoint ${killedAt}, exit ${code})`);
  assert.ok(!fs.existsSync(path.join(runDir, "done.json")));

  const resumed = makeToyTask(c);
  const r = await train(resumed, { ...quiet, runsDir });
  assert.ok(r.resumedFrom >= 15, `resumed from ${r.resumedFrom}`);
  const straight = makeToyTask(c);
  const s = await train(straight, { ...quiet, runsDir: tmpDir() });
  assert.deepEqual(stable(r.metrics), stable(s.metrics));
  for (const [n, v] of straight.params.entries()) assert.deepEqual(Array.from(resumed.params.get(n).dataSync()), Array.from(v.dataSync()), n);
  resumed.dispose();
  straight.dispose();
});

test("wasm: the same training runs leak-free and matches cpu to float tolerance", async () => {
  const c = cfg(["steps=10", "logEvery=5"]);
  const cpuTask = makeToyTask(c);
  const onCpu = await train(cpuTask, { ...quiet, runsDir: tmpDir() });
  cpuTask.dispose();
  try {
    await initBackend("wasm", { log: () => {} });
    const task = makeToyTask(c);
    const counts: number[] = [];
    const onWasm = await train(task, { ...quiet, runsDir: tmpDir(), onStep: () => counts.push(tf.memory().numTensors) });
    assert.deepEqual(counts.slice(1), Array(9).fill(counts[1]));
    const a = onCpu.metrics.filter((r) => r.type === "train");
    const b = onWasm.metrics.filter((r) => r.type === "train");
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs((b[i].loss as number) - (a[i].loss as number)) < 1e-4 * Math.abs(a[i].loss as number), `step ${a[i].step}: wasm ${b[i].loss} vs cpu ${a[i].loss}`);
    task.dispose();
  } finally {
    await initBackend("cpu", { log: () => {} });
  }
});

test("a run folder is locked while training; a stale lock (dead process) is taken over", async () => {
  const runsDir = tmpDir();
  const c = cfg(["steps=4"]);
  const dir = path.join(runsDir, runId("toy", c));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "train.lock"), `${process.ppid}\n`); // another live process holds it
  const t1 = makeToyTask(c);
  await assert.rejects(train(t1, { ...quiet, runsDir }), new RegExp(`is being trained by process ${process.ppid}`));
  fs.writeFileSync(path.join(dir, "train.lock"), "2147483646\n"); // no such process
  const r = await train(t1, { ...quiet, runsDir });
  assert.equal(r.finished, true);
  assert.ok(!fs.existsSync(path.join(dir, "train.lock")), "released at the end");
  t1.dispose();
});

test("the kind registry: explicit (every kind listed in lib/experiments/kinds.ts), unknown kinds list the known ones", () => {
  const kinds = runEnv().kinds;
  assert.deepEqual([...kinds.keys()], [...KIND_NAMES]);
  assert.equal(lookupKind(kinds, "toy").configDef, toyConfig);
  assert.throws(() => lookupKind(kinds, "tokeniser"), /unknown train kind "tokeniser" \(did you mean "tokenizer"\?\).*known kinds: .*toy/);
});

test("evalAt: evaluations after exactly those completed steps (and at the end); a step beyond the run is an error", async () => {
  const task = makeToyTask(cfg(["steps=12", "evalEvery=0", "evalAt=2,5,9", "logEvery=4"]));
  const res = await train(task, { ...quiet, runsDir: tmpDir() });
  assert.deepEqual(res.metrics.filter((r) => r.type === "eval").map((r) => r.step), [2, 5, 9, 12]);
  task.dispose();
  const bad = makeToyTask(cfg(["steps=12", "evalAt=5,13"]));
  await assert.rejects(train(bad, { ...quiet, runsDir: tmpDir() }), /evalAt has step\(s\) 13 beyond steps=12/);
  bad.dispose();
});

test("emaWarmup: the EMA follows the weights early (decay (1+t)/(10+t)) and the run still resumes bit for bit", async () => {
  const c = cfg(["steps=10", "emaDecay=0.99", "emaWarmup=true", "ckptEvery=5"]);
  const plain = makeToyTask(cfg(["steps=10", "emaDecay=0.99", "ckptEvery=5"]));
  const warm = makeToyTask(c);
  const [rp, rw] = [await train(plain, { ...quiet, runsDir: tmpDir() }), await train(warm, { ...quiet, runsDir: tmpDir() })];
  // with d = 0.99 the plain EMA after 10 steps is ~90 % the initial weights; the warmed-up one is not
  const init = makeToyTask(c);
  const dist = (t: typeof plain) => Math.hypot(...t.params.entries().flatMap(([n, v]) => Array.from(v.dataSync()).map((x, i) => x - init.params.get(n).dataSync()[i])));
  assert.ok(dist(warm) > 3 * dist(plain), `moved ${dist(warm)} vs ${dist(plain)}`);
  const dir = tmpDir();
  const a = makeToyTask(c);
  await train(a, { ...quiet, runsDir: dir, stopAfter: 7 });
  const b = makeToyTask(c);
  const rb = await train(b, { ...quiet, runsDir: dir });
  assert.equal(rb.resumedFrom, 5);
  for (const [n, v] of warm.params.entries()) assert.deepEqual(Array.from(b.params.get(n).dataSync()), Array.from(v.dataSync()), n);
  void rp, rw;
  for (const t of [plain, warm, init, a, b]) t.dispose();
});

test("a gradient norm that overflows float32 stops training with an error (the clipped update would silently be zero)", async () => {
  const runsDir = tmpDir();
  const c = cfg();
  const task = makeToyTask(c);
  const loss0 = task.loss;
  // finite loss, gradient entries of 1e20 on every parameter: Σ‖g‖² ≈ 1e40·size overflows float32 (max ≈ 3.4e38)
  task.loss = (b, ctx) => {
    const r = loss0(b, ctx);
    const blow = tf.addN([...task.params.entries()].map(([, v]) => tf.mul(tf.sum(v), 1e20))) as tf.Scalar;
    return { loss: tf.add(tf.mul(r.loss, 0), blow) as tf.Scalar };
  };
  const before = [...task.params.entries()].map(([n, v]) => [n, Array.from(v.dataSync())] as const);
  await assert.rejects(train(task, { ...quiet, runsDir }), /toy: the gradient norm is Infinity at step 0 \(loss finite\): float32 overflowed/);
  for (const [n, v] of before) assert.deepEqual(Array.from(task.params.get(n).dataSync()), v, `${n} unchanged: the step was not taken`);
  task.dispose();
});

test("task.prepare runs once before the first step, outside the run's clock (and not at all for a finished run)", async () => {
  const runsDir = tmpDir();
  const c = cfg(["steps=4", "evalEvery=0"]);
  const task = makeToyTask(c);
  const calls: number[] = [];
  let stepsDone = 0;
  task.prepare = async () => {
    calls.push(stepsDone);
    await new Promise((r) => setTimeout(r, 400));
  };
  const res = await train(task, { ...quiet, runsDir, onStep: (n) => (stepsDone = n) });
  assert.deepEqual(calls, [0], "called once, before step 1");
  const done = JSON.parse(fs.readFileSync(path.join(res.runDir, "done.json"), "utf8"));
  assert.ok(done.time < 0.4, `the run's time ${done.time} s leaves out the 0.4 s of prepare`);
  await train(task, { ...quiet, runsDir });
  assert.deepEqual(calls, [0], "a finished run is loaded without preparing");
});
