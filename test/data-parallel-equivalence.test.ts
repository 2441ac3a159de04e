/**
 * Every data-parallel kind trained on 2 workers equals its 1-process run (tokenizer, feature net, AR with label,
 * token and residual dropout, DiT with label dropout and flow noise), through trainOrReuse as notebooks call it:
 *   - bit for bit, against one process computing the same two shards in turn (so the worker threads change nothing);
 *   - up to float32 summation order against the unsharded 1-process run (the step-1 loss, on the same weights and
 *     batch, within 1e-5; later steps drift as far as float noise carries: Adam's first steps turn the sign of
 *     near-zero gradient entries into full-size updates, most in the tokenizer).
 * Also: the default worker choice (lib/train/workers) and its record in config.json, and batch-row draws that do not
 * depend on the sharding.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { NATIVE_SKIP } from "./engines";
import { runEnv } from "../lib/experiments/kinds";
import { trainOrReuse } from "../lib/train/reuse";
import { computeGrads, train, type GradResult, type StepContext, type TrainTask } from "../lib/train/trainer";
import { shardBatch, shardRanges } from "../lib/train/data-parallel";
import { resolveConfig } from "../lib/train/config";
import { lookupKind } from "../lib/train/registry";
import { loadCheckpoint } from "../lib/train/checkpoint";
import { chooseWorkers } from "../lib/train/workers";
import { otherTrainers } from "../lib/train/run";
import { spawn } from "child_process";
import { dropoutRows, drawRows, rngRows } from "../lib/batch-rows";
import { Rng } from "../lib/rng";

const quiet = () => {};

/** Trains (kind, overrides at tiny) with `workers` in `runsDir`; returns its train-loss rows, final weights, execution record. */
async function trainWith(runsDir: string, kind: string, overrides: Record<string, unknown>, workers: number) {
  const env = runEnv({ runsDir, log: quiet, progress: false });
  const config = resolveConfig(lookupKind(env.kinds, kind).configDef, { preset: "tiny", overrides }) as Record<string, unknown>;
  const r = await trainOrReuse(env.kinds, kind, config, { runsDir, log: quiet, train: { progress: false }, workers, kindsModule: env.kindsModule });
  assert.equal(r.outcome, "trained");
  const ck = loadCheckpoint(r.finished!.checkpoint);
  const losses = r.finished!.metrics.filter((m) => m.type === "train").map((m) => m.loss as number);
  const execution = JSON.parse(fs.readFileSync(path.join(r.dir, "config.json"), "utf8")).execution;
  return { losses, tensors: ck.tensors, execution };
}

/**
 * One process computing the shards of 2 workers in turn and averaging them as DataParallel does: its run must equal
 * the 2-worker run bit for bit.
 */
async function trainShardedInProcess(runsDir: string, kind: string, overrides: Record<string, unknown>) {
  const env = runEnv({ runsDir, log: quiet, progress: false });
  const spec = lookupKind(env.kinds, kind);
  const config = resolveConfig(spec.configDef, { preset: "tiny", overrides }) as Record<string, unknown>;
  const task = (await spec.makeTask(config)) as TrainTask & { dispose?(): void };
  const N = task.config.batchSize;
  const ranges = shardRanges(N, 2);
  const gradFn = async (step: number, ctx: StepContext): Promise<GradResult> => {
    const full = task.batch(step);
    const rs: GradResult[] = [];
    for (const [lo, hi] of ranges) {
      const b = shardBatch(full, lo, hi, N);
      rs.push(await computeGrads(task, b, { ...ctx, rows: { lo, hi, of: N } }));
      tf.dispose(Object.values(b as object).filter((v) => v instanceof tf.Tensor && !Object.values(full as object).includes(v)));
    }
    task.disposeBatch ? task.disposeBatch(full) : tf.dispose(full as tf.Tensor);
    const [a0, a1] = ranges.map(([lo, hi]) => (hi - lo) / N);
    const grads: Record<string, Float32Array> = {};
    for (const [name, g0] of Object.entries(rs[0].grads)) {
      const g1 = rs[1].grads[name];
      const sum = new Float32Array(g0.length);
      for (let i = 0; i < sum.length; i++) sum[i] = a0 * g0[i] + a1 * g1[i];
      grads[name] = sum;
    }
    const parts: Record<string, number> = {};
    for (const k of Object.keys(rs[0].parts)) parts[k] = a0 * rs[0].parts[k] + a1 * rs[1].parts[k];
    return { loss: a0 * rs[0].loss + a1 * rs[1].loss, parts, grads };
  };
  try {
    const res = await train(task, { runsDir, log: quiet, progress: false, resume: false, gradFn });
    const ck = loadCheckpoint(path.join(res.runDir, "checkpoints", fs.readdirSync(path.join(res.runDir, "checkpoints")).sort().pop()!));
    const losses = res.metrics.filter((m) => m.type === "train").map((m) => m.loss as number);
    return { losses, tensors: ck.tensors };
  } finally {
    task.dispose?.();
  }
}

/** max |a − b| / max(1, |b|) over every parameter tensor of the two checkpoints ("params/…" sections). */
function maxParamDiff(a: Record<string, { data: ArrayLike<number> }>, b: Record<string, { data: ArrayLike<number> }>): number {
  const names = Object.keys(b).filter((n) => n.startsWith("params/"));
  assert.ok(names.length > 0, "the checkpoint holds parameters");
  let worst = 0;
  for (const n of names) {
    const x = a[n].data;
    const y = b[n].data;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  }
  return worst;
}

const CASES: { kind: string; overrides: Record<string, unknown> }[] = [
  { kind: "tokenizer", overrides: { steps: 4, logEvery: 1, ckptEvery: 0 } },
  { kind: "featurenet", overrides: { steps: 4, logEvery: 1, batchSize: 16 } },
  { kind: "ar", overrides: { steps: 4, logEvery: 1, labelDropout: 0.5, tokenDropout: 0.3, residDropout: 0.3, emaDecay: 0.9 } },
  { kind: "dit", overrides: { steps: 4, logEvery: 1, labelDropout: 0.5 } },
];

// every kind on wasm; on the native engine (BLAS kernels in each worker thread too) the DiT, where it is built
const RUNS = [...CASES.map((c) => ({ ...c, engine: "wasm" as const })), ...(NATIVE_SKIP ? [] : CASES.filter((c) => c.kind === "dit").map((c) => ({ ...c, engine: "native" as const })))];
for (const c of RUNS) {
  test(`${c.kind} (${c.engine}): 2 data-parallel workers train the 1-process run (bit for bit on the same shards; float32 order against the unsharded batch)`, async () => {
    await initBackend(c.engine, { log: quiet });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `ifsq-dpeq-${c.kind}-`));
    try {
      const one = await trainWith(path.join(root, "one"), c.kind, c.overrides, 1);
      // the generators' tokenizer run (trained above) is copied, not retrained, for the other runs
      for (const dir of ["two", "seq"]) {
        fs.mkdirSync(path.join(root, dir));
        for (const d of fs.readdirSync(path.join(root, "one"))) if (!d.startsWith(`${c.kind}-`)) fs.cpSync(path.join(root, "one", d), path.join(root, dir, d), { recursive: true });
      }
      const two = await trainWith(path.join(root, "two"), c.kind, c.overrides, 2);
      const seq = await trainShardedInProcess(path.join(root, "seq"), c.kind, c.overrides);
      assert.equal(one.execution.workers, 1);
      assert.equal(two.execution.workers, 2, `config.json records 2 workers: ${JSON.stringify(two.execution)}`);
      assert.equal(two.execution.backend, c.engine, `config.json records the engine: ${JSON.stringify(two.execution)}`);
      assert.equal(two.losses.length, 4);
      assert.deepEqual(two.losses, seq.losses, "2 workers = the same shards in one process, bit for bit (losses)");
      assert.equal(maxParamDiff(two.tensors, seq.tensors), 0, "… and final weights");
      const rel = two.losses.map((l, i) => (l - one.losses[i]) / one.losses[i]);
      console.log(`${c.kind}: 2 workers vs unsharded 1 process: relative loss difference per step ${rel.map((r) => r.toExponential(1)).join(" ")}; final weights ${maxParamDiff(two.tensors, one.tensors).toExponential(1)}`);
      assert.ok(Math.abs(rel[0]) <= 1e-5, `step 1 (same weights, same batch): loss ${two.losses[0]} (2 workers) vs ${one.losses[0]} (1 process)`);
      rel.forEach((r, i) => assert.ok(Math.abs(r) <= 2e-3, `step ${i + 1}: loss ${two.losses[i]} (2 workers) vs ${one.losses[i]} (1 process)`));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}

test("a 2-worker run with per-shard noise would differ: the shards' draws are the whole batch's rows", async () => {
  await initBackend("wasm", { log: quiet });
  const before = tf.memory().numTensors;
  const whole = tf.randomNormal([6, 3], 0, 1, "float32", 7);
  const top = drawRows([2, 3], { lo: 4, hi: 6, of: 6 }, (s) => tf.randomNormal(s, 0, 1, "float32", 7));
  assert.deepEqual(Array.from(top.dataSync()), Array.from(whole.dataSync().slice(12)));
  const x = tf.ones([6, 4]);
  const full = tf.dropout(x, 0.5, undefined, 9);
  const part = tf.tidy(() => dropoutRows(tf.ones([3, 4]), 0.5, 9, { lo: 3, hi: 6, of: 6 }));
  assert.deepEqual(Array.from(part.dataSync()), Array.from(full.dataSync().slice(12)));
  const unsharded = dropoutRows(x, 0.5, 9, undefined);
  assert.deepEqual(Array.from(unsharded.dataSync()), Array.from(full.dataSync()), "unsharded: tf.dropout's mask");
  const seq = Array.from({ length: 5 }, () => 0).map(((r) => () => r.next())(new Rng(3, "u")));
  assert.deepEqual(rngRows(new Rng(3, "u"), 2, { lo: 1, hi: 3, of: 5 }), seq.slice(1, 3));
  assert.throws(() => rngRows(new Rng(3, "u"), 3, { lo: 1, hi: 3, of: 5 }), /name 2 rows, but the tensor has 3/);
  tf.dispose([whole, top, x, full, part, unsharded]);
  assert.equal(tf.memory().numTensors, before);
});

test("default workers: 2 on ≥ 2 cores for long wasm/cpu/native runs; 1 for short runs, one core, native engines, row-coupled losses; IFSQ_WORKERS overrides", () => {
  const long = { kind: "dit", backend: "wasm", batchSize: 32, flops: 1e14, cores: 2 };
  assert.equal(chooseWorkers(long).workers, 2);
  assert.equal(chooseWorkers({ ...long, backend: "cpu" }).workers, 2);
  assert.equal(chooseWorkers({ ...long, flops: 1e11 }).workers, 1, "a run of seconds stays in-process");
  assert.match(chooseWorkers({ ...long, flops: 1e11 }).reason, /short run/);
  assert.equal(chooseWorkers({ ...long, cores: 1 }).workers, 1);
  assert.equal(chooseWorkers({ ...long, backend: "tensorflow" }).workers, 1);
  assert.equal(chooseWorkers({ ...long, backend: "native" }).workers, 2, "native: 2 workers × 1 BLAS thread");
  assert.match(chooseWorkers({ ...long, backend: "native" }).reason, /native engine .*2 data-parallel workers/);
  assert.equal(chooseWorkers({ ...long, flops: 3e12 }).workers, 2, "2 min of wasm training");
  assert.equal(chooseWorkers({ ...long, backend: "native", flops: 3e12 }).workers, 1, "the same FLOPs are a short run on native");
  assert.equal(chooseWorkers({ ...long, batchSize: 1 }).workers, 1);
  const teacher = chooseWorkers({ ...long, kind: "teacher", dataParallel: "its NT-Xent loss couples rows", workers: 2 });
  assert.equal(teacher.workers, 1);
  assert.match(teacher.reason, /NT-Xent.*IFSQ_WORKERS=2 ignored/);
  assert.equal(chooseWorkers({ ...long, workers: 1 }).workers, 1);
  assert.equal(chooseWorkers({ ...long, flops: 1e11, workers: 3 }).workers, 3, "an explicit count wins over the short-run rule");
  const saved = process.env.IFSQ_WORKERS;
  try {
    process.env.IFSQ_WORKERS = "1";
    assert.equal(chooseWorkers(long).workers, 1);
    process.env.IFSQ_WORKERS = "two";
    assert.throws(() => chooseWorkers(long), /IFSQ_WORKERS="two" is not a worker count; expected a positive integer/);
  } finally {
    if (saved === undefined) delete process.env.IFSQ_WORKERS;
    else process.env.IFSQ_WORKERS = saved;
  }
  assert.throws(() => chooseWorkers({ ...long, workers: 0 }), /workers=0 is not a worker count/);
});

test("default workers leave a core to every other process training in the runs folder (otherTrainers reads live train.locks)", async () => {
  const long = { kind: "dit", backend: "wasm", batchSize: 32, flops: 1e14, cores: 2 };
  const one = chooseWorkers({ ...long, busy: [4242] });
  assert.equal(one.workers, 1);
  assert.match(one.reason, /1 other process training now \(pid 4242\) on 2 cores/);
  assert.equal(chooseWorkers({ ...long, cores: 4, busy: [1, 2] }).workers, 2, "4 cores, 2 busy: 2 are free");
  assert.equal(chooseWorkers({ ...long, cores: 4, busy: [1, 2, 3] }).workers, 1);
  assert.equal(chooseWorkers({ ...long, busy: [4242], workers: 2 }).workers, 2, "an explicit count wins");

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-busy-"));
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    const lock = (run: string, text: string) => {
      fs.mkdirSync(path.join(dir, run), { recursive: true });
      fs.writeFileSync(path.join(dir, run, "train.lock"), text);
    };
    assert.deepEqual(otherTrainers(dir), []);
    const now = new Date().toISOString(); // after the child started
    lock("ar-aaaaaaaaaaaa", `${child.pid}\n${os.hostname()}\n${now}\n`);
    lock("dit-bbbbbbbbbbbb", `${child.pid}\n${os.hostname()}\n${now}\n`); // nested: the same process
    lock("tokenizer-cccccccccccc", `${process.pid}\n${os.hostname()}\n${now}\n`); // this process
    lock("tokenizer-dddddddddddd", `99999999\n${os.hostname()}\n${now}\n`); // gone
    lock("featurenet-eeeeeeeeeeee", `${child.pid}\nanother-host\n${now}\n`); // cannot be told
    lock("teacher-ffffffffffff", ""); // ownerless
    lock("dit-111111111111", `${process.ppid}\n${os.hostname()}\n2001-01-01T00:00:00Z\n`); // a live PID that started after its lock: reused
    fs.mkdirSync(path.join(dir, "ar-000000000000")); // no lock
    assert.deepEqual(otherTrainers(dir), [child.pid]);
    assert.deepEqual(otherTrainers(path.join(dir, "missing")), []);
  } finally {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
