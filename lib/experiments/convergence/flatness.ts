/**
 * Has a FID curve flattened by the end of its budget? The evidence is the improvement over the last doubling of
 * compute, compared with the whole run's improvement and with the seed spread at the end:
 *
 *   Δ_last  = y(x_end / 2) − y(x_end)          (y interpolated linearly in log₁₀ x; > 0 = still improving)
 *   Δ_total = y(x_first) − y(x_end)
 *   flat ⇔ Δ_last ≤ spread_end   (spread_end = max − min over seeds at x_end; 0 with one seed: flat only if not falling)
 *
 * (issue 27's rule: the last doubling of compute changes the curve by no more than the seed spread; an earlier rule
 * also accepted a fall of up to 10 % of the total, which called a curve still falling by 12× its seed spread flat)
 *
 *   flatness([{x:1,y:100},{x:50,y:31},{x:100,y:30}], 2)   // { lastDoubling: 1, total: 70, flat: true, … }
 */
import { interpolateLogX, type CurvePoint } from "./crossover";

export interface Flatness {
  /** FID improvement over the last doubling of compute (positive = still falling). */
  lastDoubling: number;
  /** FID improvement from the first to the last point. */
  total: number;
  /** Seed spread (max − min) at the last point. */
  spreadAtEnd: number;
  /** lastDoubling as a share of total (NaN when total ≤ 0). */
  shareOfTotal: number;
  flat: boolean;
}

/** The flatness evidence of a curve (≥ 2 points, compute increasing, the first at most half the last). */
export function flatness(curve: readonly CurvePoint[], spreadAtEnd: number): Flatness {
  if (curve.length < 2) throw new Error(`flatness: ${curve.length} point(s); expected at least 2`);
  const first = curve[0];
  const last = curve[curve.length - 1];
  if (!(first.x > 0 && last.x >= 2 * first.x)) throw new Error(`flatness: the curve spans x=${first.x}…${last.x}; expected at least one doubling of compute`);
  if (!(spreadAtEnd >= 0)) throw new Error(`flatness: spreadAtEnd=${spreadAtEnd}; expected a spread ≥ 0`);
  const lastDoubling = interpolateLogX(curve, Math.log10(last.x / 2)) - last.y;
  const total = first.y - last.y;
  return { lastDoubling, total, spreadAtEnd, shareOfTotal: total > 0 ? lastDoubling / total : NaN, flat: lastDoubling <= spreadAtEnd };
}
