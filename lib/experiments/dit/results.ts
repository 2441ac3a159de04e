/**
 * Notebook 04's results file (reference-results.ts): the final training loss, the last in-run gFID, the gFID at each
 * number of Euler steps (curve "gFID vs Euler steps"), and continuous vs re-quantized decoding at the notebook's
 * step count (gFID and the latents' mean off-grid distance in bins). One training seed: no seed spread.
 *
 *   writeResults(ditResults(dit, sweep, requant, PRESET));
 */
import type { PresetName } from "../../train/config";
import type { Quantity, ResultsInput } from "../reference-results";
import { evalRows, runTotals, type SummarizedRun } from "../run-summary";
import type { RequantizeRow, StepsRow } from "./evaluate";

export const DIT_NOTEBOOK = "04-diffusion-dit";

/** The results record of notebook 04 from its run, its Euler-steps sweep and the re-quantizing comparison. */
export function ditResults(dit: SummarizedRun, sweep: readonly StepsRow[], requant: readonly RequantizeRow[] | null, preset: PresetName): ResultsInput {
  const t = runTotals(dit);
  const ev = evalRows(dit);
  const q: Quantity[] = [{ name: "final training loss", value: t.lastLoss, direction: "lower" }];
  if (ev.length > 0) q.push({ name: "last in-run gFID", value: Number(ev[ev.length - 1].gfid), direction: "lower" });
  for (const r of sweep) q.push({ name: `gFID at ${r.steps} Euler steps`, value: r.gfid, direction: "lower" });
  for (const r of requant ?? []) {
    q.push({ name: `gFID, ${r.decoding} decoding`, value: r.gfid, direction: "lower" });
    q.push({ name: `off-grid distance, ${r.decoding} decoding`, value: r.offGrid, unit: "bins" });
  }
  return {
    notebook: DIT_NOTEBOOK,
    preset,
    quantities: q,
    curves: [{ name: "gFID vs Euler steps", x: sweep.map((r) => r.steps), y: sweep.map((r) => r.gfid), xLabel: "Euler steps", yLabel: "gFID" }],
  };
}
