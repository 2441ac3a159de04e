/**
 * Notebook 07's results file (../reference-results.ts): the numbers its conclusions rest on, per generator (AR, DiT):
 *
 *   <AR|DiT> end gFID without / with REPA   mean over seeds at the last evaluation, spread = seed range
 *   <AR|DiT> REPA − no REPA at the end      Δ of the means, spread = the larger seed range
 *   <AR|DiT> last-doubling change …         gFID(x_end/2) − gFID(x_end) of each side's seed mean, spread = its range at the end
 *   teacher linear probe                    the teacher's probe accuracy (its FID network's accuracy alongside)
 * and the curves "<AR|DiT> gFID without / with REPA (seed mean)" (x = training FLOPs) that the curve figures overlay.
 *
 *   writeResults(repaResults({ ar: repaCurves(runs, "ar"), dit: repaCurves(runs, "dit") }, quality, PRESET));
 */
import type { PresetName } from "../../train/config";
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle, REFERENCE_COLOR } from "../../view/palette";
import { overlayReference } from "../../view/reference-overlay";
import { referenceCurves, type Curve, type Quantity, type Results, type ResultsInput } from "../reference-results";
import type { RepaCurves } from "./report";
import type { TeacherQuality } from "./teacher-quality";

export const REPA_NOTEBOOK = "07-repa";

const NAME = { ar: "AR", dit: "DiT" } as const;

/** The name of one side's seed-mean curve in the results file. */
export function repaCurveName(kind: "ar" | "dit", repa: boolean): string {
  return `${NAME[kind]} gFID ${repa ? "with" : "without"} REPA (seed mean)`;
}

/** The results record of notebook 07 from its curves (null where a generator has no finished curve) and teacher. */
export function repaResults(curves: { ar: RepaCurves | null; dit: RepaCurves | null }, teacher: TeacherQuality, preset: PresetName): ResultsInput {
  const q: Quantity[] = [];
  const out: Curve[] = [];
  for (const kind of ["ar", "dit"] as const) {
    const c = curves[kind];
    if (!c) continue;
    const end = (band: RepaCurves["base"]) => band[band.length - 1];
    for (const [band, repa] of [[c.base, false], [c.repa, true]] as const) {
      const e = end(band);
      q.push({ name: `${NAME[kind]} end gFID ${repa ? "with" : "without"} REPA`, value: e.mean, ...(e.n > 1 ? { spread: e.range } : {}), direction: "lower" });
      const ld = repa ? c.lastDoubling.repa : c.lastDoubling.base;
      q.push({ name: `${NAME[kind]} gFID change over the last doubling ${repa ? "with" : "without"} REPA`, value: ld.change, ...(ld.seeds > 1 ? { spread: ld.spreadAtEnd } : {}) });
      out.push({ name: repaCurveName(kind, repa), x: band.map((p) => p.x), y: band.map((p) => p.mean), spread: band.map((p) => p.range), xLabel: "training FLOPs", yLabel: "gFID" });
    }
    const b = end(c.base);
    const r = end(c.repa);
    q.push({ name: `${NAME[kind]} REPA − no REPA end gFID`, value: r.mean - b.mean, ...(b.n > 1 || r.n > 1 ? { spread: Math.max(b.range, r.range) } : {}), direction: "lower" });
  }
  q.push({ name: "teacher linear probe", value: teacher.probeAccuracy, direction: "higher" });
  q.push({ name: "FID network accuracy", value: teacher.featureNetAccuracy, direction: "higher" });
  return { notebook: REPA_NOTEBOOK, preset, quantities: q, curves: out };
}

/** A generator's REPA curve figure with the reference's two mean curves dashed; unchanged without a reference. */
export function withRepaReference(fig: PlotlyFigure, kind: "ar" | "dit", reference: Results | null, preset: string): PlotlyFigure {
  const names = [repaCurveName(kind, false), repaCurveName(kind, true)];
  const colors = { [names[0]]: REFERENCE_COLOR, [names[1]]: methodStyle(kind).color };
  const labels = { [names[0]]: "no REPA mean", [names[1]]: "REPA mean" };
  return overlayReference(fig, referenceCurves(reference, names), { preset, colors, labels });
}
