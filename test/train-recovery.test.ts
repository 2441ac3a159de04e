/**
 * Runs cannot be silently wrong: damaged checkpoints, a damaged done.json and a missing or damaged final checkpoint
 * are recovered from with a warning (or refused with a clear error), never trained on or reused as they are.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { resolveConfig } from "../lib/train/config";
import { checkpointFileName, listCheckpoints, loadCheckpoint } from "../lib/train/checkpoint";
import { findFinishedRun, runId, type MetricsRow } from "../lib/train/run";
import { train, type TrainOptions } from "../lib/train/trainer";
import { toyConfig, makeToyTask, type ToyConfig } from "../lib/train/index";
import { tempDirs } from "./support/temp-dirs";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

const tmpDir = tempDirs("ifsq-recover-");

const SET = ["steps=20", "ckptEvery=5", "keepCheckpoints=3", "logEvery=5", "evalEvery=0", "seed=11"];
const cfg = (): ToyConfig => resolveConfig(toyConfig, { preset: "tiny", set: SET });

/** Metrics without the wall-clock fields. */
function stable(rows: MetricsRow[]): Record<string, unknown>[] {
  return rows.map(({ time: _t, stepsPerSec: _s, evalSeconds: _e, ...rest }) => rest);
}

/** Trains the toy config in `runsDir` (stopping after `stopAfter` steps if given); returns metrics and final weights. */
async function trainToy(runsDir: string, opts: TrainOptions = {}): Promise<{ metrics: MetricsRow[]; weights: Record<string, number[]>; resumedFrom: number; warnings: string[] }> {
  const task = makeToyTask(cfg());
  const warnings: string[] = [];
  try {
    const r = await train(task, { progress: false, log: () => {}, warn: (l) => warnings.push(l), runsDir, ...opts });
    const weights = Object.fromEntries(task.params.entries().map(([n, v]) => [n, Array.from(v.dataSync())]));
    return { metrics: r.metrics, weights, resumedFrom: r.resumedFrom, warnings };
  } finally {
    task.dispose();
  }
}

let straight: Awaited<ReturnType<typeof trainToy>>;
before(async () => {
  straight = await trainToy(tmpDir());
});

/** `file` with the first `from` replaced by `to` (same length). */
function editFile(file: string, from: string, to: string): void {
  const b = fs.readFileSync(file);
  const at = b.indexOf(from);
  assert.ok(at >= 0 && from.length === to.length, `${from} in ${file}`);
  b.write(to, at, "latin1");
  fs.writeFileSync(file, b);
}

function flipLastByte(file: string): void {
  const b = fs.readFileSync(file);
  b[b.length - 1] ^= 0x40;
  fs.writeFileSync(file, b);
}

const runDirOf = (runsDir: string) => path.join(runsDir, runId("toy", cfg()));
const SHA_EDIT = /corrupted: the file's SHA-256 is [0-9a-f]{16}…, the header says [0-9a-f]{16}… \(the tensor data is intact: the header was changed after writing\)/;

test("the probe: a checkpoint whose header step was edited (15 → 18) is set aside with a warning; resume falls back to the newest intact one and ends as an uninterrupted run", async () => {
  const runsDir = tmpDir();
  await trainToy(runsDir, { stopAfter: 15 });
  const ckDir = path.join(runDirOf(runsDir), "checkpoints");
  assert.deepEqual(listCheckpoints(ckDir).map((c) => c.step), [5, 10, 15]);
  const f15 = path.join(ckDir, checkpointFileName(15));
  editFile(f15, '\\"step\\":15', '\\"step\\":18');

  const r = await trainToy(runsDir);
  assert.equal(r.resumedFrom, 10);
  assert.equal(r.warnings.length, 1, r.warnings.join("\n"));
  const w = r.warnings[0];
  assert.ok(w.startsWith(`warning: skipped damaged checkpoint in ${ckDir}: step-0000015.safetensors (corrupted: the file's SHA-256 is `), w);
  assert.match(w, SHA_EDIT);
  assert.ok(w.endsWith("; moved to step-0000015.safetensors.corrupt); resuming from the newest intact one, step-0000010.safetensors"), w);
  assert.ok(fs.existsSync(`${f15}.corrupt`));
  assert.equal(loadCheckpoint(f15).meta.step, 15, "step 15 written again, intact");
  assert.deepEqual(stable(r.metrics), stable(straight.metrics));
  assert.deepEqual(r.weights, straight.weights);
});

test("when no checkpoint is intact, resuming is a clear error listing them (nothing is moved)", async () => {
  const runsDir = tmpDir();
  await trainToy(runsDir, { stopAfter: 10 });
  const ckDir = path.join(runDirOf(runsDir), "checkpoints");
  for (const c of listCheckpoints(ckDir)) flipLastByte(c.file);
  await assert.rejects(trainToy(runsDir), (e: Error) => {
    assert.match(e.message, new RegExp(`^no intact checkpoint in ${ckDir}: checkpoint ${ckDir}/step-0000010.safetensors: corrupted: .*; checkpoint ${ckDir}/step-0000005.safetensors: corrupted: .*`));
    assert.ok(e.message.endsWith("Delete the damaged file(s) to train from step 0, or pass resume: false (--fresh) to start the run over"), e.message);
    return true;
  });
  assert.deepEqual(listCheckpoints(ckDir).map((c) => c.step), [5, 10]);
});

test("a damaged done.json: the run is not reused; train() warns, drops it and finishes again from the intact final checkpoint", async () => {
  const runsDir = tmpDir();
  await trainToy(runsDir);
  const runDir = runDirOf(runsDir);
  const donePath = path.join(runDir, "done.json");
  const first = JSON.parse(fs.readFileSync(donePath, "utf8"));
  fs.writeFileSync(donePath, '{"step": 20, "time": ');
  assert.equal(findFinishedRun("toy", cfg(), { runsDir }), null);
  const r = await trainToy(runsDir);
  assert.equal(r.resumedFrom, 20);
  assert.deepEqual(r.warnings, [
    `warning: ${donePath} is damaged: not valid JSON (Unexpected end of JSON input); dropping it: the run is finished again from its newest intact checkpoint`,
  ]);
  const again = JSON.parse(fs.readFileSync(donePath, "utf8"));
  assert.deepEqual([again.step, again.time, again.final], [first.step, first.time, first.final]);
  assert.deepEqual(r.weights, straight.weights);
  assert.equal(findFinishedRun("toy", cfg(), { runsDir })?.done.step, 20);
});

test("a finished run whose final checkpoint is damaged or missing is not reused: train() warns and trains again from the newest intact one", async () => {
  const runsDir = tmpDir();
  await trainToy(runsDir);
  const runDir = runDirOf(runsDir);
  const donePath = path.join(runDir, "done.json");
  const ckDir = path.join(runDir, "checkpoints");
  const f20 = path.join(ckDir, checkpointFileName(20));
  assert.ok(findFinishedRun("toy", cfg(), { runsDir }));

  flipLastByte(f20);
  assert.equal(findFinishedRun("toy", cfg(), { runsDir }), null);
  const r = await trainToy(runsDir);
  assert.equal(r.resumedFrom, 15);
  assert.equal(r.warnings.length, 2, r.warnings.join("\n"));
  assert.match(r.warnings[0], /^warning: skipped damaged checkpoint in .*: step-0000020\.safetensors \(corrupted: the file's SHA-256 .*\(the tensor data differs from what was written\); moved to step-0000020\.safetensors\.corrupt\); resuming from the newest intact one, step-0000015\.safetensors$/);
  assert.equal(r.warnings[1], `warning: ${donePath} marks the run finished at step 20, but its final checkpoint step-0000020.safetensors is damaged (see above); dropping it and training again from step 15`);
  assert.deepEqual(stable(r.metrics), stable(straight.metrics));
  assert.deepEqual(r.weights, straight.weights);

  fs.rmSync(f20);
  assert.equal(findFinishedRun("toy", cfg(), { runsDir }), null);
  const m = await trainToy(runsDir);
  assert.equal(m.resumedFrom, 15);
  assert.deepEqual(m.warnings, [`warning: ${donePath} marks the run finished at step 20, but its final checkpoint ${f20} is missing; dropping it and training again from step 15`]);
  assert.deepEqual(m.weights, straight.weights);
  assert.equal(findFinishedRun("toy", cfg(), { runsDir })?.checkpoint, f20);
});

test("CLI: 'already finished' verifies the final checkpoint; a damaged one is an error saying what to do, --resume recovers", async () => {
  const runsDir = tmpDir();
  await trainToy(runsDir);
  const root = path.resolve(__dirname, "..");
  const cli = (...extra: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts/train.ts"), "toy", "--preset", "tiny", ...SET.flatMap((s) => ["--set", s]), "--runs-dir", runsDir, "--backend", "cpu", "--quiet", ...extra], {
      cwd: root,
      encoding: "utf8",
    });
  const runDir = runDirOf(runsDir);
  const f20 = path.join(runDir, "checkpoints", checkpointFileName(20));
  flipLastByte(f20);
  const refused = cli();
  assert.equal(refused.status, 1, refused.stdout + refused.stderr);
  assert.ok(
    refused.stderr.startsWith(`error: ${runDir}/done.json marks the run finished at step 20, but its final checkpoint is unusable: checkpoint ${f20}: corrupted: the file's SHA-256 is `),
    refused.stderr,
  );
  assert.ok(refused.stderr.trimEnd().endsWith("Pass --resume to train again from the newest intact checkpoint (damaged ones are set aside), or --fresh to start over"), refused.stderr);
  const resumed = cli("--resume");
  assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stderr, /warning: skipped damaged checkpoint .*step-0000020\.safetensors/);
  assert.match(resumed.stderr, /done\.json marks the run finished at step 20, but its final checkpoint step-0000020\.safetensors is damaged \(see above\); dropping it and training again from step 15/);
  const again = cli();
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.trim(), `toy: already finished (final checkpoint ${f20} verified) → ${runDir} (pass --fresh to retrain)`);
});
