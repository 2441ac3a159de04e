/**
 * Where each run of a sweep stands in a runs folder, read from the folder alone (no lock taken, nothing written):
 *   done      done.json and the final checkpoint (findFinishedRun);
 *   running   train.lock names a live process (on this host) or a process on another host, which cannot be checked;
 *   stale     train.lock names a process that is not alive on this host (the next trainer takes the lock over);
 *   missing   not finished and not locked; `step` says where a resume would start (0 = from scratch).
 */
import { findFinishedRun, lockStatus, Run } from "../../train/run";
import { newestCheckpoint } from "../../train/checkpoint";
import type { PlannedRun } from "./sweep";

export type RunState = "done" | "running" | "stale" | "missing";

export interface RunStatus {
  run: PlannedRun;
  state: RunState;
  /** Completed steps on disk (the final step when done, the newest checkpoint's otherwise). */
  step: number;
  /** The config's total steps. */
  steps: number;
  /** The lock holder as train.lock names it (running or stale). */
  holder?: string;
  /** Training wall time of a finished run, in seconds. */
  seconds?: number;
}

/** The status of one planned run in `runsDir`. */
export function runStatus(run: PlannedRun, runsDir: string): RunStatus {
  const steps = Number(run.config.steps);
  const found = findFinishedRun(run.kind, run.config, { runsDir });
  if (found) return { run, state: "done", step: found.done.step, steps, seconds: found.done.time };
  const folder = Run.locate(run.kind, run.config, runsDir);
  const step = newestCheckpoint(folder.checkpointsDir)?.step ?? 0;
  const lock = lockStatus(folder);
  if (lock === null) return { run, state: "missing", step, steps };
  return { run, state: lock.gone === true ? "stale" : "running", step, steps, holder: lock.holder };
}

/** Counts per state. */
export function countStates(statuses: readonly RunStatus[]): Record<RunState, number> {
  const out: Record<RunState, number> = { done: 0, running: 0, stale: 0, missing: 0 };
  for (const s of statuses) out[s.state] += 1;
  return out;
}
