/**
 * How much compute a still-falling FID curve would need to flatten, extrapolated from its own points (an estimate,
 * not a measurement): fit y(x) = a + b·x^(−k) (b > 0, k > 0; a, b by least squares for each k on a grid) to the points
 * at x ≥ `from`·x_end (a ≥ 0: a FID has no negative floor), then the fitted fall over the doubling ending at x is b·x^(−k)·(2^k − 1); it drops to the seed
 * spread s at
 *
 *   x* = (b·(2^k − 1) / s)^(1/k)        (flatness.ts's rule without its 10 %-of-total term, which moves with x)
 *
 *   flatBudget(curve, 8.7)   // { factor: x* ÷ x_end, x: x*, fit: { a, b, k, rmse }, points } or null
 *
 * null when the fit has fewer than 3 points, no positive fall (b ≤ 0) or the spread is 0 (one seed: no yardstick).
 */
import type { CurvePoint } from "./crossover";

export interface FlatBudget {
  /** x* / x_end: the multiple of this budget at which the last doubling would fall by only the seed spread (≥ 1 when still falling). */
  factor: number;
  x: number;
  fit: { a: number; b: number; k: number; rmse: number };
  /** Points the fit used. */
  points: number;
}

/** Least squares of y = a + b·t (t = x^(−k)) for one k. */
function linearFit(t: number[], y: number[]): { a: number; b: number; sse: number } {
  const n = t.length;
  const mt = t.reduce((s, v) => s + v, 0) / n;
  const my = y.reduce((s, v) => s + v, 0) / n;
  let stt = 0;
  let sty = 0;
  for (let i = 0; i < n; i++) {
    stt += (t[i] - mt) ** 2;
    sty += (t[i] - mt) * (y[i] - my);
  }
  let b = stt > 0 ? sty / stt : 0;
  let a = my - b * mt;
  if (a < 0) {
    // a FID floor below 0 means nothing: refit with a = 0 (a pure power law)
    const tt = t.reduce((s, v) => s + v * v, 0);
    b = tt > 0 ? t.reduce((s, v, i) => s + v * y[i], 0) / tt : 0;
    a = 0;
  }
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i] - a - b * t[i]) ** 2;
  return { a, b, sse };
}

/** The extrapolated compute at which the curve's last doubling falls by at most `spread`; see the file comment. */
export function flatBudget(curve: readonly CurvePoint[], spread: number, opts: { from?: number } = {}): FlatBudget | null {
  if (curve.length === 0) throw new Error("flatBudget: an empty curve; expected points with x > 0");
  const xEnd = curve[curve.length - 1].x;
  const pts = curve.filter((p) => p.x >= (opts.from ?? 0.05) * xEnd);
  if (pts.some((p) => !(p.x > 0) || !Number.isFinite(p.y))) throw new Error("flatBudget: every point needs x > 0 and a finite y");
  if (pts.length < 3 || !(spread > 0)) return null;
  // x in units of x_end keeps x^(−k) well scaled
  const xs = pts.map((p) => p.x / xEnd);
  const ys = pts.map((p) => p.y);
  let best: { a: number; b: number; k: number; sse: number } | null = null;
  for (let k = 0.02; k <= 3.0001; k += 0.01) {
    const f = linearFit(xs.map((x) => x ** -k), ys);
    if (f.b > 0 && (best === null || f.sse < best.sse)) best = { ...f, k };
  }
  if (best === null) return null;
  const xStar = (best.b * (2 ** best.k - 1) / spread) ** (1 / best.k);
  return { factor: xStar, x: xStar * xEnd, fit: { a: best.a, b: best.b * xEnd ** best.k, k: best.k, rmse: Math.sqrt(best.sse / pts.length) }, points: pts.length };
}
