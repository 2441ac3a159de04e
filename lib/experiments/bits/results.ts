/**
 * Notebook 05's results file (../reference-results.ts): the numbers its conclusions rest on.
 *
 *   <bound> PSNR at L=<L>        mean over the tokenizer seeds, spread = seed range (dB); also rFID for iFSQ
 *   iFSQ PSNR rise L=<a>→L=<b>    mean(b) − mean(a) from the fewest to the most bits, spread = the larger seed range
 *   PSNR change over the last doubling at L=<L>   full − half-budget PSNR (the budget check), spread = seed range
 *   <AR|DiT> gFID at L=<L>[, CFG s]   mean over generator seeds, spread = max(seed range, half-sample gap)
 * and the curves "<AR|DiT> gFID vs bits" (x = log₂ L, seed means) and "iFSQ PSNR vs bits" that notebook 05's
 * figures overlay as the reference.
 *
 *   writeResults(bitsResults(res, PRESET));
 *   show(withBitsReference(rep.gfidVsBitsFigure(res), readReference(BITS_NOTEBOOK, PRESET), PRESET));
 */
import type { PresetName } from "../../train/config";
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle } from "../../view/palette";
import { overlayReference } from "../../view/reference-overlay";
import { referenceCurves, seedQuantity, type Curve, type Quantity, type Results, type ResultsInput } from "../reference-results";
import { budgetChecks, generatorCurve, seedSummaryByLevel } from "./aggregate";
import type { BitsResults } from "./run";

export const BITS_NOTEBOOK = "05-bits-sweep";

const NAME = { ar: "AR", dit: "DiT" } as const;

/** The name of a generator's gFID-vs-bits curve (no CFG) in the results file. */
export function gfidCurveName(kind: "ar" | "dit"): string {
  return `${NAME[kind]} gFID vs bits`;
}

/** The results record of notebook 05. */
export function bitsResults(res: BitsResults, preset: PresetName): ResultsInput {
  const q: Quantity[] = [];
  const curves: Curve[] = [];
  for (const bound of ["ifsq", "tanh"] as const) {
    for (const key of bound === "ifsq" ? (["psnr", "rfid"] as const) : (["psnr"] as const)) {
      for (const p of seedSummaryByLevel(res.tokenizers, bound, key)) {
        const runs = res.tokenizers.filter((t) => t.bound === bound && t.L === p.L).map((t) => (key === "psnr" ? t.row.psnr : t.row.rfid));
        q.push(seedQuantity(`${bound === "ifsq" ? "iFSQ" : "FSQ"} ${key === "psnr" ? "PSNR" : "rFID"} at L=${p.L}`, runs, key === "psnr" ? { unit: "dB", direction: "higher" } : { direction: "lower" }));
      }
    }
  }
  const psnr = seedSummaryByLevel(res.tokenizers, "ifsq", "psnr");
  if (psnr.length >= 2) {
    const a = psnr[0];
    const b = psnr[psnr.length - 1];
    q.push({ name: `iFSQ PSNR rise L=${a.L}→L=${b.L}`, value: b.summary.mean - a.summary.mean, spread: Math.max(a.summary.range, b.summary.range), unit: "dB", direction: "higher" });
    curves.push({ name: "iFSQ PSNR vs bits", x: psnr.map((p) => p.bits), y: psnr.map((p) => p.summary.mean), spread: psnr.map((p) => p.summary.range), xLabel: "bits per dimension", yLabel: "PSNR (dB)" });
  }
  for (const c of budgetChecks(res.tokenizers, res.halfBudget, "psnr")) {
    q.push({ name: `PSNR change over the last doubling at L=${c.L}`, value: c.change, spread: c.seedRange, unit: "dB" });
  }
  for (const kind of ["ar", "dit"] as const) {
    if (!res.generators.some((g) => g.kind === kind)) continue;
    for (const guided of [false, true]) {
      const c = generatorCurve(res.generators, kind, guided);
      for (const p of c.points) {
        q.push({ name: `${NAME[kind]} gFID at L=${p.L}${guided ? `, CFG ${c.cfgScale}` : ""}`, value: p.gfid, spread: Math.max(p.noise, p.seedRange), direction: "lower" });
      }
      if (!guided) curves.push({ name: gfidCurveName(kind), x: c.points.map((p) => p.bits), y: c.points.map((p) => p.gfid), spread: c.points.map((p) => Math.max(p.noise, p.seedRange)), xLabel: "bits per dimension", yLabel: "gFID" });
    }
  }
  return { notebook: BITS_NOTEBOOK, preset, quantities: q, curves };
}

/** The gFID-vs-bits figure with the reference's two unguided curves dashed; unchanged without a reference. */
export function withBitsReference(fig: PlotlyFigure, reference: Results | null, preset: string): PlotlyFigure {
  const kinds = ["ar", "dit"] as const;
  const colors = Object.fromEntries(kinds.map((k) => [gfidCurveName(k), methodStyle(k).color]));
  const labels = Object.fromEntries(kinds.map((k) => [gfidCurveName(k), `${NAME[k]}, no CFG`]));
  return overlayReference(fig, referenceCurves(reference, kinds.map(gfidCurveName)), { preset, colors, labels });
}
