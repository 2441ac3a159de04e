/**
 * Where each run of a sweep stands in a runs folder, read from the folder alone (no lock taken, nothing written):
 *   done      done.json and the final checkpoint (findFinishedRun);
 *   running   train.lock names a live process (on this host) or a process on another host, which cannot be checked;
 *   stale     train.lock names a process that is not alive on this host (the next trainer takes the lock over);
 *   missing   not finished and not locked; `step` says where a resume would start (0 = from scratch).
 */
import * as os from "os";
import { findFinishedRun, Run } from "../../train/run";
import { newestCheckpoint } from "../../train/checkpoint";
import { lockHolder } from "../../train/reuse";
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

/** Whether a pid names a live process on this host (EPERM: alive, not ours). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether a lock holder line ("<pid>", or "<pid> <host>" / "<pid>@<host>") names a process that is gone. */
function holderGone(holder: string): boolean {
  const m = /^(\d+)(?:[\s@]+(\S+))?/.exec(holder);
  if (!m) return false;
  if (m[2] !== undefined && m[2] !== os.hostname()) return false; // another host: cannot tell
  return !pidAlive(Number(m[1]));
}

/** The status of one planned run in `runsDir`. */
export function runStatus(run: PlannedRun, runsDir: string): RunStatus {
  const steps = Number(run.config.steps);
  const found = findFinishedRun(run.kind, run.config, { runsDir });
  if (found) return { run, state: "done", step: found.done.step, steps, seconds: found.done.time };
  const folder = Run.locate(run.kind, run.config, runsDir);
  const step = newestCheckpoint(folder.checkpointsDir)?.step ?? 0;
  const holder = lockHolder(folder);
  if (holder === null) return { run, state: "missing", step, steps };
  return { run, state: holderGone(holder) ? "stale" : "running", step, steps, holder };
}

/** Counts per state. */
export function countStates(statuses: readonly RunStatus[]): Record<RunState, number> {
  const out: Record<RunState, number> = { done: 0, running: 0, stale: 0, missing: 0 };
  for (const s of statuses) out[s.state] += 1;
  return out;
}
