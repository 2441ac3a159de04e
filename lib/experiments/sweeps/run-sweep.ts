/**
 * Runs a list of planned runs (a sweep, or one shard of it) to completion with trainOrReuse: a finished run is
 * skipped, a missing or partial one is trained (resuming its newest checkpoint), and a run another live process
 * holds the lock of is put aside and revisited after the others, until it is finished. Any number of such processes
 * can share one runs folder: each run is trained by whichever locks it first.
 *
 * ETA: remaining steps × seconds per step of the run's kind, measured on the runs this process trained and on the
 * finished runs' done.json (time / step); unknown until one run of the kind has finished.
 */
import { trainOrReuse, type TrainOrReuseOptions } from "../../train/reuse";
import type { KindRegistry } from "../../train/registry";
import { defaultRunsDir } from "../../train/run";
import { runStatus } from "./status";
import type { PlannedRun } from "./sweep";

export type SweepOutcome = "trained" | "reused" | "busy" | "failed";

export interface SweepEvent {
  run: PlannedRun;
  outcome: SweepOutcome;
  /** Wall seconds this call spent on the run. */
  seconds: number;
  /** The lock holder (busy). */
  holder?: string;
  /** The error message (failed). */
  error?: string;
  /** This process's runs: finished (trained or reused), put aside as busy, failed, and all. */
  finished: number;
  busy: number;
  failed: number;
  total: number;
  /** Estimated seconds until every run of this list is finished; null while unknown. */
  etaSeconds: number | null;
}

export interface SweepOptions {
  runsDir?: string;
  /** How long to wait before revisiting runs that other processes hold, in ms (default 5000). */
  pollMs?: number;
  /** Lines from the trainer (resume, finish). */
  log?: (line: string) => void;
  /** Per-run training progress display, passed to the trainer. */
  train?: TrainOrReuseOptions["train"];
  /** Called after every attempt at a run. */
  onEvent?: (e: SweepEvent) => void;
  /** Module for data-parallel workers (`makeKinds`); absent: every run trains in this process. */
  kindsModule?: string;
  /** Data-parallel workers of each run this process trains (default: lib/train/workers's choice, $IFSQ_WORKERS). */
  workers?: number;
}

export interface SweepSummary {
  trained: PlannedRun[];
  reused: PlannedRun[];
  failed: { run: PlannedRun; error: string }[];
  seconds: number;
}

/** A duration for progress lines: "4.2 s", "37 s", "12 min", "1.5 h"; "?" when unknown. */
export function fmtSeconds(s: number | null): string {
  if (s === null) return "?";
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** One progress line of a sweep event: "[3/16] trained ar-1a2b… ar l=3 w=2  41 s · 13 left · ETA 9 min". */
export function eventLine(e: SweepEvent): string {
  const what = e.outcome === "busy" ? `busy (locked by ${e.holder}), revisited later` : e.outcome === "failed" ? `FAILED: ${e.error}` : `${fmtSeconds(e.seconds)}`;
  const left = e.total - e.finished - e.failed;
  return `[${e.finished}/${e.total}] ${e.outcome.padEnd(7)} ${e.run.id}  ${e.run.label}  ${what} · ${left} left${e.busy ? ` (${e.busy} busy)` : ""} · ETA ${fmtSeconds(e.etaSeconds)}`;
}

/** Seconds per training step by kind, from the finished runs among `runs`. */
function measuredRates(runs: readonly PlannedRun[], runsDir: string): Map<string, { seconds: number; steps: number }> {
  const rates = new Map<string, { seconds: number; steps: number }>();
  for (const r of runs) {
    const s = runStatus(r, runsDir);
    if (s.state !== "done" || !s.seconds || !s.step) continue;
    const acc = rates.get(r.kind) ?? { seconds: 0, steps: 0 };
    acc.seconds += s.seconds;
    acc.steps += s.step;
    rates.set(r.kind, acc);
  }
  return rates;
}

/** Trains what is missing among `runs` (see the file comment); never throws for one run's failure. */
export async function runSweep(kinds: KindRegistry, runs: readonly PlannedRun[], opts: SweepOptions = {}): Promise<SweepSummary> {
  const runsDir = opts.runsDir ?? defaultRunsDir();
  const pollMs = opts.pollMs ?? 5000;
  const t0 = Date.now();
  const summary: SweepSummary = { trained: [], reused: [], failed: [], seconds: 0 };
  const rates = measuredRates(runs, runsDir);
  const settled = new Set<string>(); // finished or failed
  let pending = [...runs];

  const eta = (): number | null => {
    let total = 0;
    for (const r of pending) {
      if (settled.has(r.id)) continue;
      const rate = rates.get(r.kind);
      if (!rate || rate.steps === 0) return null;
      const s = runStatus(r, runsDir);
      total += (s.steps - s.step) * (rate.seconds / rate.steps);
    }
    return total;
  };

  while (pending.length > 0) {
    const busy: PlannedRun[] = [];
    let progressed = false;
    for (const run of pending) {
      const t = Date.now();
      let outcome: SweepOutcome;
      let holder: string | undefined;
      let error: string | undefined;
      try {
        const r = await trainOrReuse(kinds, run.kind, run.config, { runsDir, wait: false, log: opts.log, train: opts.train, kindsModule: opts.kindsModule, workers: opts.workers });
        outcome = r.outcome;
        if (r.outcome === "busy") {
          holder = r.holder;
          busy.push(run);
        } else {
          progressed = true;
          settled.add(run.id);
          (r.outcome === "trained" ? summary.trained : summary.reused).push(run);
          if (r.outcome === "trained") {
            const trainedSteps = r.finished.done.step - r.resumedFrom;
            const acc = rates.get(run.kind) ?? { seconds: 0, steps: 0 };
            acc.seconds += (Date.now() - t) / 1000;
            acc.steps += trainedSteps;
            rates.set(run.kind, acc);
          }
        }
      } catch (e) {
        outcome = "failed";
        error = (e as Error).message;
        progressed = true;
        settled.add(run.id);
        summary.failed.push({ run, error });
      }
      opts.onEvent?.({
        run,
        outcome,
        seconds: (Date.now() - t) / 1000,
        holder,
        error,
        finished: summary.trained.length + summary.reused.length,
        busy: busy.length,
        failed: summary.failed.length,
        total: runs.length,
        etaSeconds: eta(),
      });
    }
    pending = busy;
    if (pending.length > 0 && !progressed) await new Promise<void>((res) => setTimeout(res, pollMs));
  }
  summary.seconds = (Date.now() - t0) / 1000;
  return summary;
}
