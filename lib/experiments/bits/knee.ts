/**
 * Where a quality-vs-bits curve has its knee, judged against a noise tolerance (the measured spread of the metric):
 * a difference of at most `tolerance` counts as no difference.
 *
 *   findKnee([{ bits: 1.58, value: 90 }, { bits: 2.32, value: 60 }, { bits: 3.17, value: 58 }], { lowerIsBetter: true, tolerance: 5 })
 *     // { kind: "saturation", index: 1, best: 2, … }: from 2.32 bits on, every point is within 5 of the best
 *
 * With v the values oriented so that lower is better, b = argmin v and W = the points within the tolerance of v_b:
 *   "optimum"     b is interior and both ends are worse than v_b by more than the tolerance (the paper's claim 4 shape);
 *   "saturation"  W is a tail k … n−1 with 0 < k < n−1: more bits stop helping measurably at k (diminishing returns);
 *   "rising"      W is the last point alone: every added bit still helps beyond the noise, so no knee shows yet;
 *   "fewest-bits" W is a head 0 … k with k < n−1: more bits only hurt beyond the noise;
 *   "flat"        W is every point;
 *   "irregular"   anything else (W has gaps, e.g. the best and the last point within the noise, one between them worse):
 *                 no knee can be read off, the curve is dominated by noise.
 * `index` is the knee (b for an optimum, k for saturation, 0 for fewest-bits), null when rising, flat or irregular.
 */

export interface KneePoint {
  bits: number;
  value: number;
}

export type KneeKind = "optimum" | "saturation" | "rising" | "fewest-bits" | "flat" | "irregular";

export interface Knee {
  kind: KneeKind;
  /** Index of the knee in the points (ascending bits); null when flat. */
  index: number | null;
  /** Index of the best value. */
  best: number;
  tolerance: number;
}

export function findKnee(points: readonly KneePoint[], opts: { lowerIsBetter: boolean; tolerance: number }): Knee {
  if (points.length === 0) throw new Error("findKnee: no points; expected one value per number of bits");
  points.forEach((p, i) => {
    if (!Number.isFinite(p.value) || !Number.isFinite(p.bits)) throw new Error(`findKnee: points[${i}] = (${p.bits}, ${p.value}) is not a finite pair`);
    if (i > 0 && !(p.bits > points[i - 1].bits)) throw new Error(`findKnee: bits must ascend; points[${i}].bits=${p.bits} ≤ ${points[i - 1].bits}`);
  });
  const tol = opts.tolerance;
  if (!(tol >= 0)) throw new Error(`findKnee: tolerance=${tol}; expected a number ≥ 0 (the metric's measured spread)`);
  const v = points.map((p) => (opts.lowerIsBetter ? p.value : -p.value));
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] < v[best]) best = i;
  const worse = (i: number) => v[i] - v[best] > tol;
  const n = v.length;
  if (best > 0 && best < n - 1 && worse(0) && worse(n - 1)) return { kind: "optimum", index: best, best, tolerance: tol };
  const within = v.map((_, i) => !worse(i));
  if (within.every(Boolean)) return { kind: "flat", index: null, best, tolerance: tol };
  const first = within.indexOf(true);
  const last = within.lastIndexOf(true);
  const contiguous = within.slice(first, last + 1).every(Boolean);
  // a tail of one point is no plateau: the curve is still improving at the most bits
  if (contiguous && last === n - 1) return first === n - 1 ? { kind: "rising", index: null, best, tolerance: tol } : { kind: "saturation", index: first, best, tolerance: tol };
  if (contiguous && first === 0) return { kind: "fewest-bits", index: 0, best, tolerance: tol };
  return { kind: "irregular", index: null, best, tolerance: tol };
}

/** One phrase per kind, e.g. "an interior optimum at 3.17 bits". */
export function kneePhrase(knee: Knee, label: (i: number) => string): string {
  switch (knee.kind) {
    case "optimum":
      return `an interior optimum at ${label(knee.index!)} (both ends worse by more than the noise)`;
    case "saturation":
      return `no optimum but a knee at ${label(knee.index!)}: from there on every point is within the noise of the best (${label(knee.best)})`;
    case "rising":
      return `no knee yet: only the most bits (${label(knee.best)}) are within the noise of the best, so the curve is still improving there`;
    case "fewest-bits":
      return knee.best === 0
        ? `its best at the fewest bits (${label(0)}), worse beyond the noise with more bits`
        : `the fewest bits (${label(0)}) already within the noise of the best (${label(knee.best)}), and the most bits worse beyond the noise`;
    case "flat":
      return `no knee: every point is within the noise of the best (${label(knee.best)}), so the curve is flat at this scale`;
    case "irregular":
      return `no readable knee: the points within the noise of the best (${label(knee.best)}) are not contiguous in L, so the curve is dominated by noise at this scale`;
  }
}
