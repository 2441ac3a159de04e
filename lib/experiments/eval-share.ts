/**
 * Evaluation share of finished runs: Σ evalSeconds of a run's eval rows / its wall time (done.json's `time`, which
 * includes the evaluations), grouped by kind. The in-run gFID of the generators (sampling + decoding + features) is
 * meant to stay ≤ 15 % of a quick run.
 *
 *   evalShares(runsDir)   → [{ kind, runs, evals, medianShare, maxShare, maxRun }]
 */
import * as fs from "fs";
import * as path from "path";
import { readMetrics } from "../train/run";

export interface EvalShareRow {
  kind: string;
  /** Finished runs of the kind with at least one timed evaluation. */
  runs: number;
  /** Evaluations over those runs. */
  evals: number;
  medianShare: number;
  maxShare: number;
  /** The run folder with the largest share. */
  maxRun: string;
}

/** Evaluation shares by kind of the finished runs in `runsDir` (runs without timed evaluations are left out). */
export function evalShares(runsDir: string): EvalShareRow[] {
  if (!fs.existsSync(runsDir)) return [];
  const byKind = new Map<string, { share: number; evals: number; run: string }[]>();
  for (const d of fs.readdirSync(runsDir).sort()) {
    const done = path.join(runsDir, d, "done.json");
    if (!fs.existsSync(done)) continue;
    let total: number;
    try {
      total = Number(JSON.parse(fs.readFileSync(done, "utf8")).time);
    } catch {
      continue;
    }
    const evals = readMetrics(path.join(runsDir, d, "metrics.jsonl")).filter((r) => r.type === "eval" && typeof r.evalSeconds === "number");
    if (!evals.length || !(total > 0)) continue;
    const kind = d.replace(/-[0-9a-f]{12}$/, "");
    const list = byKind.get(kind) ?? [];
    list.push({ share: evals.reduce((s, r) => s + Number(r.evalSeconds), 0) / total, evals: evals.length, run: d });
    byKind.set(kind, list);
  }
  return [...byKind].map(([kind, list]) => {
    const sorted = list.map((x) => x.share).sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const max = list.reduce((a, b) => (b.share > a.share ? b : a));
    return {
      kind,
      runs: list.length,
      evals: list.reduce((s, x) => s + x.evals, 0),
      medianShare: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
      maxShare: max.share,
      maxRun: max.run,
    };
  });
}
