/**
 * Where two FID-vs-compute curves cross, interpolated in log-compute.
 *
 * Each curve is a list of points (x = training FLOPs > 0, y = FID), read as piecewise linear in u = log₁₀ x. On the
 * overlap of the two x ranges, at the union of both curves' knots, d(u) = y_a(u) − y_b(u); every sign change of d
 * between neighbouring knots u_k, u_{k+1} is a crossing at
 *
 *   u* = u_k + (u_{k+1} − u_k) · d_k / (d_k − d_{k+1}),   x* = 10^u*,   y* = y_a(u*)   (= y_b(u*))
 *
 * A stretch where d = 0 exactly counts once, at its first knot, and only when the sign differs on its two sides (a
 * touch is not a crossing). `lowerBefore` says which curve had the lower FID just before the crossing.
 *
 *   findCrossings([{x:1,y:10},{x:100,y:5}], [{x:1,y:20},{x:100,y:1}])   // [{ x: 10^(10/7) ≈ 26.8, y: 6.43, lowerBefore: "a" }]
 */

export interface CurvePoint {
  /** Training FLOPs (> 0). */
  x: number;
  /** FID. */
  y: number;
}

export interface Crossing {
  x: number;
  y: number;
  /** The curve with the lower y just before the crossing (that curve is overtaken there). */
  lowerBefore: "a" | "b";
}

function checkCurve(c: readonly CurvePoint[], what: string): void {
  if (c.length < 2) throw new Error(`findCrossings: curve ${what} has ${c.length} point(s); expected at least 2`);
  c.forEach((p, i) => {
    if (!(p.x > 0) || !Number.isFinite(p.x)) throw new Error(`findCrossings: ${what}[${i}].x=${p.x}; expected a positive compute (log scale)`);
    if (!Number.isFinite(p.y)) throw new Error(`findCrossings: ${what}[${i}].y=${p.y}; expected a finite FID`);
    if (i > 0 && !(p.x > c[i - 1].x)) throw new Error(`findCrossings: ${what}[${i}].x=${p.x} is not above ${what}[${i - 1}].x=${c[i - 1].x}; expected increasing compute`);
  });
}

/** y of a curve at u = log₁₀ x, linear in u between knots (u inside the curve's range). */
export function interpolateLogX(c: readonly CurvePoint[], u: number): number {
  const us = c.map((p) => Math.log10(p.x));
  if (u <= us[0]) return c[0].y;
  for (let k = 1; k < c.length; k++) {
    if (u <= us[k]) return c[k - 1].y + ((u - us[k - 1]) / (us[k] - us[k - 1])) * (c[k].y - c[k - 1].y);
  }
  return c[c.length - 1].y;
}

/** Every crossing of curves a and b on the overlap of their compute ranges, in increasing compute. */
export function findCrossings(a: readonly CurvePoint[], b: readonly CurvePoint[]): Crossing[] {
  checkCurve(a, "a");
  checkCurve(b, "b");
  const lo = Math.max(Math.log10(a[0].x), Math.log10(b[0].x));
  const hi = Math.min(Math.log10(a[a.length - 1].x), Math.log10(b[b.length - 1].x));
  if (!(hi > lo)) return [];
  const knots = [...a, ...b].map((p) => Math.log10(p.x)).filter((u) => u >= lo && u <= hi);
  knots.push(lo, hi);
  const us = [...new Set(knots)].sort((p, q) => p - q);
  const d = us.map((u) => interpolateLogX(a, u) - interpolateLogX(b, u));
  const out: Crossing[] = [];
  let prev = -1; // last knot with d ≠ 0
  for (let k = 0; k < us.length; k++) {
    if (d[k] === 0) continue;
    if (prev >= 0 && Math.sign(d[k]) !== Math.sign(d[prev])) {
      let u: number;
      if (k === prev + 1) u = us[prev] + ((us[k] - us[prev]) * d[prev]) / (d[prev] - d[k]);
      else u = us[prev + 1]; // a stretch of exact zeros: the crossing is where it starts
      out.push({ x: Math.pow(10, u), y: interpolateLogX(a, u), lowerBefore: d[prev] < 0 ? "a" : "b" });
    }
    prev = k;
  }
  return out;
}

/** The crossings of every (a-seed, b-seed) pair of curves, in the order a₀b₀, a₀b₁, …. */
export function pairCrossings<A extends { points: readonly CurvePoint[] }, B extends { points: readonly CurvePoint[] }>(as: readonly A[], bs: readonly B[]): { a: A; b: B; crossings: Crossing[] }[] {
  return as.flatMap((a) => bs.map((b) => ({ a, b, crossings: findCrossings(a.points, b.points) })));
}
