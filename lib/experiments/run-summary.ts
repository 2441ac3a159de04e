/**
 * The run summary every training notebook shows first: which run folder, whether it was reused, its budget and its
 * measured speed, computed from the run's metrics rows (train rows carry `time`, `flops` and `stepsPerSec`).
 *
 *   table([runSummary(tk, { bound: "iFSQ" })])
 *
 *   steps/s = median over the log windows (robust to the windows that include an in-run evaluation)
 */
import type { MetricsRow } from "../train/run";

/** What any trained-or-reused run provides. */
export interface SummarizedRun {
  runDir: string;
  reused: boolean;
  metrics: MetricsRow[];
  config: { steps: number; batchSize: number };
}

export interface RunTotals {
  /** Wall time of the run in seconds, in-run evaluations included. */
  seconds: number;
  /** Median of the logged steps/s windows, else steps / seconds. */
  stepsPerSec: number;
  /** Training FLOPs of the whole run (matmul work, 2·MAC, training = 3 × forward). */
  flops: number;
  /** Loss of the first and of the last train window. */
  firstLoss: number;
  lastLoss: number;
}

export function trainRows(run: { metrics: MetricsRow[] }): MetricsRow[] {
  return run.metrics.filter((m) => m.type === "train");
}

export function evalRows(run: { metrics: MetricsRow[] }): MetricsRow[] {
  return run.metrics.filter((m) => m.type === "eval");
}

export function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Totals of a run from its train rows; an error names the run when it has none. */
export function runTotals(run: SummarizedRun): RunTotals {
  const rows = trainRows(run);
  if (rows.length === 0) throw new Error(`runTotals: run ${run.runDir} has no train rows in its metrics`);
  const last = rows[rows.length - 1];
  const seconds = Number(last.time);
  const sps = median(rows.map((r) => Number(r.stepsPerSec)));
  return {
    seconds,
    stepsPerSec: Number.isFinite(sps) ? sps : run.config.steps / seconds,
    flops: Number(last.flops),
    firstLoss: Number(rows[0].loss),
    lastLoss: Number(last.loss),
  };
}

/** One row of the run summary table: `lead` columns first (method, seed, …), then run, reused, budget and speed. */
export function runSummary(run: SummarizedRun, lead: Record<string, string | number> = {}, extra: Record<string, string | number> = {}): Record<string, string | number> {
  const t = runTotals(run);
  return {
    ...lead,
    run: run.runDir.split(/[\\/]/).slice(-1)[0],
    reused: run.reused ? "yes" : "no",
    steps: run.config.steps,
    batch: run.config.batchSize,
    "run time (s)": t.seconds,
    "steps/s": t.stepsPerSec,
    "train GFLOP": t.flops / 1e9,
    ...extra,
  };
}
