/**
 * Notebook 03's results file (reference-results.ts): the final training NLL per position (nats), the last in-run
 * gFID (CFG 1), and the gFID at each guidance scale of the sweep (spread = the half-sample gap where measured), with
 * the curve "gFID vs CFG scale". One training seed: no seed spread (the comparison's relative floor applies).
 *
 *   writeResults(arResults(ar, evals, PRESET));
 */
import type { PresetName } from "../../train/config";
import { halvesQuantity, type Quantity, type ResultsInput } from "../reference-results";
import { evalRows, runTotals, type SummarizedRun } from "../run-summary";
import type { ArEvaluation } from "./evaluate";

export const AR_NOTEBOOK = "03-ar-llamagen";

/** The results record of notebook 03 from its run and its gFID-vs-CFG evaluations. */
export function arResults(ar: SummarizedRun, evals: readonly ArEvaluation[], preset: PresetName): ResultsInput {
  const t = runTotals(ar);
  const ev = evalRows(ar);
  const q: Quantity[] = [{ name: "final NLL per position", value: t.lastLoss, unit: "nats", direction: "lower" }];
  if (ev.length > 0) q.push({ name: "last in-run gFID (CFG 1)", value: Number(ev[ev.length - 1].gfid), direction: "lower" });
  for (const e of evals) q.push(halvesQuantity(`gFID at CFG ${e.sampling.cfgScale}`, e.gfid, e.gfidHalves, { direction: "lower" }));
  return {
    notebook: AR_NOTEBOOK,
    preset,
    quantities: q,
    curves: [{ name: "gFID vs CFG scale", x: evals.map((e) => e.sampling.cfgScale), y: evals.map((e) => e.gfid), xLabel: "CFG scale", yLabel: "gFID" }],
  };
}
