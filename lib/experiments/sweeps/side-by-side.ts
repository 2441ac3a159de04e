/**
 * Two runs side by side: while a notebook works through a declared sweep's runs in order, a helper process
 * (`scripts/sweep.ts <name> --preset P --runs-dir R --quiet`, one worker) walks the same list and trains every run
 * nobody has claimed yet. The run locks (lib/train/reuse.ts) keep each run to one trainer: the notebook reuses what
 * the helper finished, waits for the run the helper is on, and trains a run itself when it gets there first.
 * Meanwhile the notebook's evaluations (single-threaded) overlap the helper's training.
 *
 * `trainFirst` is for notebooks that only load their runs (no evaluation between them): walking the list in the same
 * order as the helper, the notebook would wait on every run the helper had just claimed and the two would train one
 * run at a time (measured in notebook 07 at quick: 12 of 14 runs in turn). With it the notebook first trains like a
 * second helper (lib/experiments/sweeps/run-sweep.ts: a run another process holds is put aside and revisited), then
 * calls `fn`, which finds every run finished.
 *
 * Why not data-parallel workers instead: a sweep's runs are independent, so two of them on one core each keep both
 * cores busy through evaluations too, while 2 workers idle one core whenever the run evaluates, and gain little on
 * small models (measured on the bits grid's tokenizer: 1.13× for 2 workers; see the closing note of issue 16).
 * So while the helper runs, this process trains in-process too (env.workers = 1).
 *
 * What the runs depend on (a generator's tokenizer and token cache, the feature network of its in-run gFID, a REPA
 * teacher) is prepared first, before the helper starts, with this process's default workers (`prepareDependencies`):
 * otherwise whichever of the two processes got there first trained it on one core (the quick tokenizer: 550 s on one
 * core against 345 s on two workers, measured in a reproduce).
 *
 * The helper starts only when it would help and cannot do harm: not at `tiny` (its runs last seconds, less than the
 * helper's start), ≥ 2 cores, IFSQ_WORKERS unset (an explicit worker
 * count means the user sizes the machine), ≥ 2 unfinished runs, and the declared sweep at that preset lists exactly
 * the notebook's runs (a notebook whose knobs were changed plans other runs; the helper would train the wrong ones).
 * Its output goes to `<runsDir>/../sweeps/<name>-<preset>/helper-<pid>.log`; it is stopped when `fn` settles.
 */
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { workersSetting } from "../../backend";
import { lookupKind } from "../../train/registry";
import { findFinishedRun, projectRoot } from "../../train/run";
import type { TrainTask } from "../../train/trainer";
import { watchedChildEnv } from "../../watched-child";
import type { RunEnv } from "../env";
import { getSweep } from "./catalog";
import { runSweep } from "./run-sweep";
import { planSweep, type PlannedRun } from "./sweep";

export interface SideBySideDecision {
  helper: boolean;
  reason: string;
}

/** Whether a helper process should train `planned` (the notebook's runs) beside this one; see the file comment. */
export function sideBySideDecision(env: RunEnv, sweep: string, preset: string, planned: readonly Pick<PlannedRun, "id" | "kind" | "config">[], cores = os.availableParallelism()): SideBySideDecision {
  if (preset === "tiny") return { helper: false, reason: "tiny runs last seconds" };
  if (cores < 2) return { helper: false, reason: `${cores} core` };
  if (workersSetting() !== null) return { helper: false, reason: `IFSQ_WORKERS=${workersSetting()} is set` };
  const unfinished = planned.filter((p) => !findFinishedRun(p.kind, p.config, { runsDir: env.runsDir }));
  if (unfinished.length < 2) return { helper: false, reason: `${unfinished.length} unfinished run${unfinished.length === 1 ? "" : "s"}` };
  const declared = planSweep(env.kinds, getSweep(sweep), { preset }).map((p) => p.id);
  const mine = planned.map((p) => p.id);
  const same = declared.length === mine.length && [...declared].sort().join() === [...mine].sort().join();
  if (!same) return { helper: false, reason: `the notebook's ${mine.length} runs are not the declared sweep ${sweep}@${preset}'s ${declared.length}` };
  return { helper: true, reason: `${unfinished.length} unfinished runs of sweep ${sweep}@${preset} on ${cores} cores: a helper process trains them beside this one` };
}

/**
 * Builds the task of the first unfinished run of each kind in `planned` and runs its `prepare`, then frees it: what
 * those runs depend on (trained or reused through env, with env.workers as it is now) is ready before the sweep's runs
 * start. Runs of one kind with other dependencies (another tokenizer) still get theirs when they start. Returns the
 * kinds prepared.
 */
export async function prepareDependencies(env: RunEnv, planned: readonly Pick<PlannedRun, "kind" | "config">[]): Promise<string[]> {
  const kinds: string[] = [];
  for (const p of planned) {
    if (kinds.includes(p.kind) || findFinishedRun(p.kind, p.config, { runsDir: env.runsDir })) continue;
    kinds.push(p.kind);
    const task = (await lookupKind(env.kinds, p.kind).makeTask(p.config)) as TrainTask & { dispose?(): void };
    try {
      await task.prepare?.();
    } finally {
      task.dispose?.();
    }
  }
  return kinds;
}

/**
 * Runs `fn` (which trains or reuses `planned` in order) with a helper process training the same sweep beside it,
 * when `sideBySideDecision` says so; otherwise just runs `fn`. `trainFirst`: see the file comment.
 */
export async function withSideBySide<T>(env: RunEnv, sweep: string, preset: string, planned: readonly Pick<PlannedRun, "id" | "kind" | "config">[], fn: () => Promise<T>, opts: { trainFirst?: boolean } = {}): Promise<T> {
  const d = sideBySideDecision(env, sweep, preset, planned);
  if (!d.helper) return fn();
  const t0 = performance.now();
  const prepared = await prepareDependencies(env, planned);
  env.log(`side by side: prepared what the ${prepared.join(", ")} runs depend on in ${Math.round((performance.now() - t0) / 1000)} s, before starting the helper`);
  const root = projectRoot();
  const logDir = path.join(path.dirname(env.runsDir), "sweeps", `${sweep}-${preset}`);
  fs.mkdirSync(logDir, { recursive: true });
  const log = path.join(logDir, `helper-${process.pid}.log`);
  const fd = fs.openSync(log, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [require.resolve("tsx/cli"), path.join(root, "scripts", "sweep.ts"), sweep, "--preset", preset, "--runs-dir", env.runsDir, "--quiet"], {
      cwd: root,
      env: watchedChildEnv({ ...process.env, IFSQ_WORKERS: "1" }), // the helper ends when this process does, even by SIGKILL
      stdio: ["ignore", fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  env.log(`${d.reason} (pid ${child.pid}, log ${path.relative(root, log)})`);
  const killOnExit = () => child.kill("SIGTERM");
  process.once("exit", killOnExit);
  const saved = env.workers;
  env.workers = 1;
  try {
    if (opts.trainFirst) {
      const runs: PlannedRun[] = planned.map((p, index) => ({ ...p, index, label: p.id }));
      const s = await runSweep(env.kinds, runs, { runsDir: env.runsDir, log: env.log, train: { progress: env.progress }, kindsModule: env.kindsModule, workers: 1, pollMs: 2000 });
      env.log(`side by side: this process trained ${s.trained.length} of the ${runs.length} runs in ${Math.round(s.seconds)} s, the helper the others${s.failed.length ? `; failed here: ${s.failed.map((f) => `${f.run.id} (${f.error})`).join("; ")}` : ""}`);
    }
    return await fn();
  } finally {
    env.workers = saved;
    process.removeListener("exit", killOnExit);
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
    }
  }
}
