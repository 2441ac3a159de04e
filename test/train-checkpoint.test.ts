import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import {
  saveCheckpoint,
  loadCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  checkpointFileName,
  CheckpointError,
  CheckpointCorruptError,
  newestIntactCheckpoint,
  type CkptTensor,
} from "../lib/train/checkpoint";
import { writeFileAtomic } from "../lib/atomic";
import { createHash } from "crypto";
import { spawn } from "child_process";
import { Run, RunFileError, readMetrics, findFinishedRun, runId } from "../lib/train/run";
import { tempDirs } from "./support/temp-dirs";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

const tmpDir = tempDirs("ifsq-ckpt-");

const META = { kind: "toy", step: 12, configHash: "ab".repeat(32), rngState: [1, 2, 3, 4], slots: { optimizer: ["m/w", "v/w", "t"] }, extra: { note: "x", n: 0.1 } };

test("checkpoint round trip: float32/int32/bool tensors, scalars, meta; safetensors layout", async () => {
  const dir = tmpDir();
  const file = path.join(dir, checkpointFileName(12));
  const w = tf.tensor2d([[1.5, -2.25, 3e-8], [4, 5, Math.PI]]);
  const t = tf.scalar(7, "int32");
  const m = tf.tensor1d([true, false, true], "bool");
  await saveCheckpoint(file, { "params/w": w, "optim/t": t, mask: m, raw: { dtype: "float32", shape: [0], data: new Float32Array(0) } }, META);
  assert.equal(path.basename(file), "step-0000012.safetensors");
  assert.deepEqual(fs.readdirSync(dir), ["step-0000012.safetensors"], "no temp file left behind");
  const ck = loadCheckpoint(file, { kind: "toy", configHash: META.configHash });
  assert.deepEqual(Array.from(ck.tensors["params/w"].data), Array.from(w.dataSync()));
  assert.deepEqual(ck.tensors["params/w"].shape, [2, 3]);
  assert.equal(ck.tensors["optim/t"].dtype, "int32");
  assert.deepEqual(ck.tensors["optim/t"].shape, []);
  assert.deepEqual(Array.from(ck.tensors["optim/t"].data), [7]);
  assert.deepEqual(Array.from(ck.tensors.mask.data), [1, 0, 1]);
  assert.equal(ck.tensors.mask.dtype, "bool");
  assert.deepEqual(ck.tensors.raw.shape, [0]);
  assert.equal(ck.meta.step, 12);
  assert.deepEqual(ck.meta.rngState, [1, 2, 3, 4]);
  assert.deepEqual(ck.meta.extra, { note: "x", n: 0.1 });
  assert.equal(ck.meta.format, "ifsq-checkpoint");
  // layout: u64 LE header length, JSON header padded to 8, then data
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(buf.toString("utf8", 8, 8 + n));
  assert.deepEqual(header["params/w"], { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header["optim/t"], { dtype: "I32", shape: [], data_offsets: [24, 28] });
  assert.equal(buf.length, 8 + n + 24 + 4 + 3);
  assert.equal(buf.readFloatLE(8 + n + 4), -2.25);
  tf.dispose([w, t, m]);
});

test("a truncated checkpoint is a clear error naming the file, wherever it is cut", () => {
  const dir = tmpDir();
  const data: Record<string, CkptTensor> = { w: { dtype: "float32", shape: [64], data: new Float32Array(64).fill(1) } };
  const bytes = encodeCheckpoint(data, META);
  const n = Number(bytes.readBigUInt64LE(0));
  for (const cut of [0, 5, 8, 8 + Math.floor(n / 2), 8 + n, bytes.length - 1]) {
    const file = path.join(dir, `cut-${cut}.safetensors`);
    fs.writeFileSync(file, bytes.subarray(0, cut));
    assert.throws(
      () => loadCheckpoint(file),
      (e: Error) => e instanceof CheckpointError && e.message.includes(file) && /truncated/.test(e.message),
      `cut at ${cut}`,
    );
  }
  const file = path.join(dir, "cut-data.safetensors");
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
  assert.throws(() => loadCheckpoint(file), /truncated: expected 256 bytes of tensor data, found 246 \(10 missing\)/);
  assert.throws(() => loadCheckpoint(path.join(dir, "absent.safetensors")), /absent\.safetensors: cannot be read/);
});

test("corrupted data, a garbage file and trailing bytes are errors; the checksum catches flipped bits", () => {
  const bytes = encodeCheckpoint({ w: { dtype: "float32", shape: [4], data: new Float32Array([1, 2, 3, 4]) } }, META);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3] ^= 0x10;
  assert.throws(() => decodeCheckpoint(flipped, "f.safetensors"), /checkpoint f.safetensors: corrupted: the file's SHA-256 is [0-9a-f]{16}…, the header says [0-9a-f]{16}… \(the tensor data differs from what was written\)/);
  assert.throws(() => decodeCheckpoint(Buffer.concat([bytes, Buffer.from([0])]), "g"), /corrupted: 1 unexpected bytes/);
  assert.throws(() => decodeCheckpoint(Buffer.from("hello world, not a checkpoint"), "h"), /checkpoint h: corrupted: header length \d+ is implausible/);
  const noMeta = Buffer.alloc(8 + 8);
  noMeta.writeBigUInt64LE(8n);
  noMeta.write('{"a":1} ', 8);
  assert.throws(() => decodeCheckpoint(noMeta, "i"), /checkpoint i: not an ifsq checkpoint/);
});

test("validation: wrong config hash, kind, names, shapes and dtypes are clear errors", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "c.safetensors");
  await saveCheckpoint(file, { "params/w": { dtype: "float32", shape: [2, 3], data: new Float32Array(6) }, t: { dtype: "int32", shape: [], data: new Int32Array(1) } }, META);
  assert.throws(
    () => loadCheckpoint(file, { configHash: "cd".repeat(32) }),
    (e: Error) => e.message.includes(file) && /written for config hash abababababab…, but the current config hashes to cdcdcdcdcdcd…/.test(e.message),
  );
  assert.throws(() => loadCheckpoint(file, { kind: "ar" }), /is for kind "toy", not "ar"/);
  assert.throws(
    () => loadCheckpoint(file, { tensors: { "params/w": { shape: [3, 2] }, t: { shape: [], dtype: "float32" }, "params/b": { shape: [3] } } }),
    /does not match the model: "params\/w" has shape \[2,3\], expected \[3,2\]; "t" has dtype int32, expected float32; missing "params\/b"/,
  );
  assert.throws(() => loadCheckpoint(file, { tensors: { "params/w": { shape: [2, 3] } } }), /unexpected "t"/);
});

test("atomic writes replace whole files; pruning keeps the newest K and removes stale temps", () => {
  const dir = tmpDir();
  const f = path.join(dir, "a.json");
  writeFileAtomic(f, "one");
  writeFileAtomic(f, "two");
  assert.equal(fs.readFileSync(f, "utf8"), "two");
  for (const s of [5, 10, 15, 20]) fs.writeFileSync(path.join(dir, checkpointFileName(s)), "x");
  fs.writeFileSync(path.join(dir, `.${checkpointFileName(25)}.123.0.tmp`), "partial");
  pruneCheckpoints(dir, 2);
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [15, 20]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ["a.json", "step-0000015.safetensors", "step-0000020.safetensors"]);
});

test("run folders: id from kind + config hash, config guard, metrics with a torn last line, finished-run lookup", () => {
  const runsDir = tmpDir();
  const cfg = { steps: 3, lr: 0.1, nested: { a: 1 } };
  const run = Run.open("toy", cfg, runsDir);
  assert.match(path.basename(run.dir), /^toy-[0-9a-f]{12}$/);
  assert.equal(path.basename(run.dir), runId("toy", { nested: { a: 1 }, lr: 0.1, steps: 3 }));
  assert.deepEqual(JSON.parse(fs.readFileSync(run.configPath, "utf8")).config, cfg);
  run.appendMetrics({ type: "train", step: 1, time: 0.1, loss: 2 });
  run.appendMetrics({ type: "train", step: 2, time: 0.2, loss: 1 });
  fs.appendFileSync(run.metricsPath, '{"type":"train","st');
  assert.deepEqual(readMetrics(run.metricsPath).map((r) => r.step), [1, 2]);
  assert.deepEqual(run.truncateMetrics(1).map((r) => r.step), [1]);
  assert.equal(fs.readFileSync(run.metricsPath, "utf8").trim().split("\n").length, 1);
  fs.writeFileSync(run.metricsPath, '{"step":1}\nbroken\n{"step":2}\n');
  assert.throws(() => readMetrics(run.metricsPath), /metrics.jsonl:2: not a JSON line/);
  assert.equal(findFinishedRun("toy", cfg, { runsDir }), null);
  // the same folder with a different config (a hand edit) is refused
  fs.writeFileSync(run.configPath, JSON.stringify({ kind: "toy", config: { steps: 4 } }));
  assert.throws(() => Run.open("toy", cfg, runsDir), /holds a different config/);
  assert.throws(() => runId("a/b", cfg), /must contain only letters/);
});

/** A version-1 file (what the code wrote before the whole-file checksum): only the data is checksummed. */
function encodeV1(values: Float32Array, step: number): Buffer {
  const data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const meta = { format: "ifsq-checkpoint", version: 1, kind: "toy", step, configHash: META.configHash, createdAt: "2025-01-01T00:00:00.000Z", dataBytes: data.length, dataSha256: createHash("sha256").update(data).digest("hex") };
  let json = JSON.stringify({ __metadata__: { ifsq: JSON.stringify(meta) }, w: { dtype: "F32", shape: [values.length], data_offsets: [0, data.length] } });
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([prefix, Buffer.from(json), data]);
}

/** `bytes` with the first occurrence of `from` replaced by `to` (same length, so nothing else moves). */
function edit(bytes: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const at = bytes.indexOf(from);
  assert.ok(at >= 0, `${from} is in the file`);
  const out = Buffer.from(bytes);
  out.write(to, at, "latin1");
  return out;
}

test("the checksum covers the header: the probe's step 20 → 28 edit, a shape edit and a renamed file are refused; version-1 files still load", async () => {
  const dir = tmpDir();
  const file = path.join(dir, checkpointFileName(20));
  await saveCheckpoint(file, { "params/w": { dtype: "float32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) } }, { ...META, step: 20 });
  const good = fs.readFileSync(file);
  assert.match(good.toString("latin1", 8, 8 + Number(good.readBigUInt64LE(0))), /"ifsq_sha256":"[0-9a-f]{64}"/);
  assert.equal(loadCheckpoint(file).meta.version, 2);

  fs.writeFileSync(file, edit(good, '\\"step\\":20', '\\"step\\":28'));
  assert.throws(
    () => loadCheckpoint(file),
    (e: Error) => e instanceof CheckpointCorruptError && e.message.startsWith(`checkpoint ${file}: corrupted: the file's SHA-256 is `) && e.message.endsWith("(the tensor data is intact: the header was changed after writing)"),
  );
  fs.writeFileSync(file, edit(good, '"shape":[2,3]', '"shape":[3,2]'));
  assert.throws(() => loadCheckpoint(file), /the header was changed after writing/);
  fs.writeFileSync(file, edit(good, '"ifsq_sha256":"', '"ifsq_sha256" "'));
  assert.throws(() => loadCheckpoint(file), CheckpointCorruptError);

  // a whole, valid file under another step's name
  const renamed = path.join(dir, checkpointFileName(30));
  fs.writeFileSync(renamed, good);
  assert.throws(
    () => loadCheckpoint(renamed),
    (e: Error) => e instanceof CheckpointCorruptError && e.message === `checkpoint ${renamed}: the file name says step 30, the header says step 20; the file was renamed or edited after writing`,
  );

  // version 1: still read (data checksum, name/step check); a newer version is refused with what to do
  const v1 = path.join(dir, checkpointFileName(7));
  fs.writeFileSync(v1, encodeV1(new Float32Array([0.5, -1]), 7));
  assert.deepEqual(Array.from(loadCheckpoint(v1).tensors.w.data), [0.5, -1]);
  fs.writeFileSync(v1, edit(encodeV1(new Float32Array([0.5, -1]), 7), '\\"step\\":7', '\\"step\\":8'));
  assert.throws(() => loadCheckpoint(v1), /the file name says step 7, the header says step 8/);
  fs.writeFileSync(v1, edit(encodeV1(new Float32Array([0.5, -1]), 7), '\\"version\\":1', '\\"version\\":3'));
  assert.throws(
    () => loadCheckpoint(v1),
    (e: Error) => e instanceof CheckpointError && !(e instanceof CheckpointCorruptError) && /format version 3 is not supported \(this code reads versions 1, 2\); it was written by a newer version/.test(e.message),
  );
});

test("newestIntactCheckpoint skips damaged newer files (listing them) but not a checkpoint of another config", async () => {
  const dir = tmpDir();
  for (const step of [10, 20, 30]) await saveCheckpoint(path.join(dir, checkpointFileName(step)), { w: { dtype: "float32", shape: [1], data: new Float32Array([step]) } }, { ...META, step });
  const f30 = path.join(dir, checkpointFileName(30));
  const f20 = path.join(dir, checkpointFileName(20));
  fs.writeFileSync(f30, fs.readFileSync(f30).subarray(0, 50));
  const b20 = fs.readFileSync(f20);
  b20[b20.length - 1] ^= 1;
  fs.writeFileSync(f20, b20);
  const r = newestIntactCheckpoint(dir, { configHash: META.configHash });
  assert.equal(r.ck?.meta.step, 10);
  assert.deepEqual(r.skipped.map((s) => s.file), [f30, f20]);
  assert.match(r.skipped[0].reason, /truncated/);
  assert.match(r.skipped[1].reason, /corrupted: the file's SHA-256/);
  assert.throws(() => newestIntactCheckpoint(dir, { configHash: "cd".repeat(32) }), /written for config hash abababababab…/);
});

test("a damaged config.json or done.json is an error naming the file and how to recover; the checkpoints stay", async () => {
  const runsDir = tmpDir();
  const cfg = { steps: 3, lr: 0.1 };
  const run = Run.open("toy", cfg, runsDir);
  await saveCheckpoint(path.join(run.checkpointsDir, checkpointFileName(3)), { w: { dtype: "float32", shape: [1], data: new Float32Array(1) } }, { ...META, step: 3, configHash: run.hash });
  run.markDone({ step: 3, time: 1, finishedAt: "now", final: { loss: 1 } });
  assert.equal(findFinishedRun("toy", cfg, { runsDir })?.checkpoint, path.join(run.checkpointsDir, checkpointFileName(3)));

  fs.writeFileSync(run.configPath, '{"kind":"toy","config":{"steps":3');
  const configMsg = `${run.configPath} is damaged: not valid JSON (`;
  const configFix = `; it only records the run's config and is written again from it: delete it (rm ${run.configPath}) and run again; the checkpoints are kept, and each is checked against the config's full hash when loaded`;
  for (const f of [() => Run.open("toy", cfg, runsDir), () => findFinishedRun("toy", cfg, { runsDir })]) {
    assert.throws(f, (e: Error) => e instanceof RunFileError && e.message.startsWith(configMsg) && e.message.endsWith(configFix));
  }
  fs.rmSync(run.configPath); // the advice
  assert.equal(Run.open("toy", cfg, runsDir).dir, run.dir);
  assert.equal(findFinishedRun("toy", cfg, { runsDir })?.done.step, 3, "checkpoints and done.json survived");

  fs.writeFileSync(run.donePath, "");
  assert.throws(
    () => run.readDone(),
    (e: Error) =>
      e instanceof RunFileError &&
      e.message.startsWith(`${run.donePath} is damaged: not valid JSON (Unexpected end of JSON input); it only marks the run finished: delete it (rm ${run.donePath}) and run again; training resumes from the newest intact checkpoint`),
  );
  assert.equal(findFinishedRun("toy", cfg, { runsDir }), null, "a damaged done.json is not a finished run");
  assert.equal(run.finishedState().state, "broken");
  fs.writeFileSync(run.donePath, '{"step":"3"}');
  assert.throws(() => run.readDone(), /done.json is damaged: expected \{ step: integer ≥ 0, time, finishedAt, final: \{…\} \}, found \{"step":"3"\}/);
  assert.ok(fs.existsSync(path.join(run.checkpointsDir, checkpointFileName(3))));
});

test("a finished run counts only with its final checkpoint there and intact", async () => {
  const runsDir = tmpDir();
  const cfg = { steps: 4 };
  const run = Run.open("toy", cfg, runsDir);
  const final = path.join(run.checkpointsDir, checkpointFileName(4));
  await saveCheckpoint(final, { w: { dtype: "float32", shape: [8], data: new Float32Array(8) } }, { ...META, step: 4, configHash: run.hash });
  run.markDone({ step: 4, time: 1, finishedAt: "now", final: {} });
  assert.equal(run.finishedState().state, "finished");
  const bytes = fs.readFileSync(final);
  bytes[bytes.length - 2] ^= 0xff;
  fs.writeFileSync(final, bytes);
  const st = run.finishedState();
  assert.equal(st.state, "broken");
  assert.match(st.state === "broken" ? st.problem : "", new RegExp(`done.json marks the run finished at step 4, but its final checkpoint is unusable: checkpoint ${final}: corrupted: the file's SHA-256`));
  assert.equal(findFinishedRun("toy", cfg, { runsDir }), null);
  fs.rmSync(final);
  const gone = run.finishedState();
  assert.equal(gone.state === "broken" && gone.problem, `${run.donePath} marks the run finished at step 4, but its final checkpoint ${final} is missing`);
  run.markDone({ step: 3, time: 1, finishedAt: "now", final: {} });
  const short = run.finishedState();
  assert.equal(short.state === "broken" && short.problem, `${run.donePath} says the run finished at step 3, but the config has steps=4`);
});

test("train.lock: created whole (pid, host, start time); held locks are errors naming the owner; stale and old ownerless locks are taken over", () => {
  const runsDir = tmpDir();
  const run = Run.open("toy", { steps: 1 }, runsDir);
  const release = run.lock();
  const [pid, host, startedAt, rest] = fs.readFileSync(run.lockPath, "utf8").split("\n");
  const owner = { pid: Number(pid), host, startedAt };
  assert.deepEqual([owner.pid, owner.host, rest], [process.pid, os.hostname(), ""]);
  assert.ok(Date.now() - Date.parse(owner.startedAt) < 60_000);
  assert.deepEqual(fs.readdirSync(run.dir).filter((f) => f.includes("lock")), ["train.lock"], "no temp file left");
  assert.throws(() => run.lock(), new RegExp(`is already locked by this process \\(${process.pid} since ${owner.startedAt}, ${run.lockPath}\\).*not waiting on its own lock`));
  const mine = fs.readFileSync(run.lockPath, "utf8");
  fs.writeFileSync(run.lockPath, `${process.ppid}\n${os.hostname()}\n${owner.startedAt}\n`); // another live process
  assert.throws(() => run.lock(), new RegExp(`is being trained by process ${process.ppid} since ${owner.startedAt} \\(${run.lockPath}\\); wait for it or stop it first`));
  fs.writeFileSync(run.lockPath, mine);
  release();
  assert.ok(!fs.existsSync(run.lockPath));

  // a dead owner (new and old format) is taken over
  for (const text of [`2147483646\n${os.hostname()}\nthen\n`, "2147483646\n"]) {
    fs.writeFileSync(run.lockPath, text);
    run.lock()();
  }
  // another host cannot be checked
  fs.writeFileSync(run.lockPath, "1\nelsewhere\nthen\n");
  assert.throws(() => run.lock(), /being trained by process 1 on host elsewhere since then .*this host cannot check that process: wait for it, or delete the lock file if it no longer runs/);
  // an empty lock is someone creating it (older versions wrote the PID after creating the file) until it is a minute old
  fs.writeFileSync(run.lockPath, "");
  assert.throws(() => run.lock(), new RegExp(`${run.lockPath} exists but names no owner \\(""\\); a process of an older version may be creating it: retry in a minute`));
  const old = new Date(Date.now() - 120_000);
  fs.utimesSync(run.lockPath, old, old);
  run.lock()();
  assert.ok(!fs.existsSync(run.lockPath));
});

test("train.lock: child processes racing for one run folder, round after round: exactly one wins, the others name the winner", async () => {
  const runsDir = tmpDir();
  const run = Run.open("toy", { steps: 1 }, runsDir);
  const root = path.resolve(__dirname, "..");
  const sync = tmpDir();
  const N = 5;
  const ROUNDS = 30;
  const kids = Array.from({ length: N }, () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "test/fixtures/lock-racer.ts"), run.dir, sync, String(ROUNDS)], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    return { child, out: () => out, exited };
  });
  const waitFor = async (pred: () => boolean, what: string) => {
    for (let i = 0; i < 6000 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(pred(), what);
  };
  const lines = (r: number) => kids.map((k) => k.out().split("\n").find((l) => l.startsWith(`won ${r}`) || l.startsWith(`lost ${r}:`)));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      await waitFor(() => kids.every((k) => k.out().includes(`ready ${r}\n`)), `every racer is ready for round ${r}`);
      fs.writeFileSync(path.join(sync, `go-${r}`), "");
      await waitFor(() => lines(r).every((l) => l !== undefined), `every racer tried in round ${r}`);
      const got = lines(r) as string[];
      const winners = got.flatMap((l, i) => (l.startsWith("won") ? [i] : []));
      assert.equal(winners.length, 1, `round ${r}: ${got.join(" | ")}`);
      const pid = kids[winners[0]].child.pid;
      for (const l of got) if (!l.startsWith("won")) assert.match(l, new RegExp(`^lost ${r}: .* is being trained by process ${pid} since `));
      fs.writeFileSync(path.join(sync, `end-${r}`), "");
    }
  } catch (e) {
    for (const k of kids) k.child.kill("SIGKILL"); // no racer outlives a failed test
    throw e;
  }
  assert.deepEqual(await Promise.all(kids.map((k) => k.exited)), Array(N).fill(0));
  assert.ok(!fs.existsSync(run.lockPath), "the last winner released it");
});
