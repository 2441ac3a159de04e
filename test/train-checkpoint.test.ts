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
  type CkptTensor,
} from "../lib/train/checkpoint";
import { writeFileAtomic } from "../lib/atomic";
import { Run, readMetrics, findFinishedRun, runId } from "../lib/train/run";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-ckpt-"));
  made.push(d);
  return d;
}

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
  assert.throws(() => decodeCheckpoint(flipped, "f.safetensors"), /checkpoint f.safetensors: corrupted: the tensor data's SHA-256/);
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
