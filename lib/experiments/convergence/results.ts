/**
 * Notebook 06's results file (reference-results.ts): the numbers its conclusions rest on, per generator (AR, DiT):
 *
 *   end gFID              mean over seeds at 100 % of the budget, spread = seed range (max − min)
 *   gFID at <early> %     the same at the early fraction (10 % by default)
 *   end gFID with CFG s   the CFG check at the end, mean ± seed range (when every run has it)
 *   last-doubling change  gFID(x_end/2) − gFID(x_end) of the seed-mean curve (> 0 = still improving), spread = the
 *                         seed range at the end (the flatness rule's yardstick, flatness.ts)
 *   budget multiple …     the extrapolated multiple of the budget at which it would flatten (flat-budget.ts; null if none)
 *   AR − DiT end gFID     Δ of the means, spread = the larger seed range
 *   crossover log10 FLOPs of the seed means' single crossing (null without exactly one), spread = the range over seed pairs
 * and the mean curves "<kind> gFID (seed mean)" (x = training FLOPs, spread = seed range per point) that the
 * gFID-vs-FLOPs figure overlays as the reference.
 *
 *   writeResults(convergenceResults(summary, PRESET));
 *   show(withConvergenceReference(gfidVsFlopsFigure(summary), readReference(CONVERGENCE_NOTEBOOK, PRESET), PRESET));
 */
import type { PresetName } from "../../train/config";
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle } from "../../view/palette";
import { overlayReference } from "../../view/reference-overlay";
import { referenceCurves, seedQuantity, type Curve, type Quantity, type Results, type ResultsInput } from "../reference-results";
import type { ConvergenceSummary, GeneratorCurves } from "./summary";
import { bandMean } from "./bands";
import { flatBudget } from "./flat-budget";

export const CONVERGENCE_NOTEBOOK = "06-ar-vs-diffusion";

const NAME: Record<"ar" | "dit", string> = { ar: "AR", dit: "DiT" };

/** The name of a generator's seed-mean gFID curve in the results file (what the figure overlays). */
export function meanCurveName(kind: "ar" | "dit"): string {
  return `${NAME[kind]} gFID (seed mean)`;
}

function meanCurve(c: GeneratorCurves): Curve {
  return { name: meanCurveName(c.kind), x: c.band.map((p) => p.x), y: c.band.map((p) => p.mean), spread: c.band.map((p) => p.range), xLabel: "training FLOPs", yLabel: "gFID" };
}

/** The results record of notebook 06 from its summary. */
export function convergenceResults(s: ConvergenceSummary, preset: PresetName): ResultsInput {
  const q: Quantity[] = [];
  const pct = `${Math.round(100 * s.early.fraction)} %`;
  q.push(seedQuantity("AR end gFID", s.end.ar, { direction: "lower" }), seedQuantity("DiT end gFID", s.end.dit, { direction: "lower" }));
  q.push(seedQuantity(`AR gFID at ${pct} of the budget`, s.early.ar, { direction: "lower" }), seedQuantity(`DiT gFID at ${pct} of the budget`, s.early.dit, { direction: "lower" }));
  if (s.cfgEnd) {
    q.push(seedQuantity(`AR end gFID with CFG ${s.cfgEnd.scale}`, s.cfgEnd.ar, { direction: "lower" }), seedQuantity(`DiT end gFID with CFG ${s.cfgEnd.scale}`, s.cfgEnd.dit, { direction: "lower" }));
  }
  for (const c of [s.ar, s.dit]) {
    q.push({ name: `${NAME[c.kind]} gFID change over the last doubling`, value: c.flatness.lastDoubling, ...(c.runs.length > 1 ? { spread: c.flatness.spreadAtEnd } : {}) });
    const fb = flatBudget(bandMean(c.band), c.flatness.spreadAtEnd);
    q.push({ name: `${NAME[c.kind]} budget multiple at which the curve would flatten (extrapolated)`, value: fb ? fb.factor : null });
  }
  const d = s.end.arVsDit;
  q.push({ name: "AR − DiT end gFID", value: d.delta, ...(d.spread !== null ? { spread: d.spread } : {}) });
  const one = s.meanCrossings.length === 1 ? s.meanCrossings[0] : null;
  q.push({
    name: "crossover of the seed means (log10 FLOPs)",
    value: one ? Math.log10(one.x) : null,
    ...(one && s.pairRange ? { spread: Math.log10(s.pairRange.maxX) - Math.log10(s.pairRange.minX) } : {}),
  });
  return { notebook: CONVERGENCE_NOTEBOOK, preset, quantities: q, curves: [meanCurve(s.ar), meanCurve(s.dit)] };
}

/** The gFID-vs-FLOPs figure with the reference's two mean curves dashed in the generators' colours; unchanged without a reference. */
export function withConvergenceReference(fig: PlotlyFigure, reference: Results | null, preset: string): PlotlyFigure {
  const kinds = ["ar", "dit"] as const;
  const colors = Object.fromEntries(kinds.map((k) => [meanCurveName(k), methodStyle(k).color]));
  const labels = Object.fromEntries(kinds.map((k) => [meanCurveName(k), `${NAME[k]} mean`]));
  return overlayReference(fig, referenceCurves(reference, kinds.map(meanCurveName)), { preset, colors, labels });
}
