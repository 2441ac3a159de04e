/**
 * Both bounds as plain double-precision functions of one pre-activation z, for the analysis (collapse.ts) and for
 * tests. Each bound has the form
 *
 *   v(z) = A·tanh(β·z + s) − o          (level units, before rounding)
 *
 *   tanh (FSQ):  A = (L−1)(1+ε)/2, β = 1,   s = atanh(o/A), o = ½ for even L else 0
 *   ifsq:        A = (L−1)/2,      β = α/2, s = 0,          o = 0        (2·sigmoid(αz) − 1 = tanh(αz/2))
 *
 * The normalised activation is y = tanh(βz + s) ∈ (−1, 1); a code q (an integer) is produced by v ∈ [q − ½, q + ½].
 */
import { checkAlpha, IFSQ_ALPHA } from "./ifsq";
import { FSQ_EPS, tanhBoundConstants } from "./tanh-bound";

export type BoundKind = "tanh" | "ifsq";

/** A bound for one channel with L levels, described by its constants. */
export interface BoundShape {
  kind: BoundKind;
  levels: number;
  /** A: half range of tanh's image in level units. */
  amplitude: number;
  /** β: slope inside tanh (1 for FSQ, α/2 for iFSQ). */
  slope: number;
  /** s: shift inside tanh (nonzero only for even L with the tanh bound). */
  shift: number;
  /** o: offset subtracted after scaling (½ for even L with the tanh bound). */
  offset: number;
  /** h = ⌊L/2⌋, the normalisation of codes: ẑ = q / h. */
  halfWidth: number;
  /** The smallest and largest code q (integers). */
  qMin: number;
  qMax: number;
}

export interface BoundOptions {
  /** iFSQ slope α (default 1.6). Only for `ifsq`. */
  alpha?: number;
  /** FSQ ε (default 1e-3). Only for `tanh`; the analysis in paper-spec §3.3 uses ε = 0. */
  eps?: number;
}

/** Checks one level count for a bound; the message says what was expected and why. */
export function checkLevel(L: number, kind: BoundKind, name = "L"): void {
  if (typeof L !== "number" || !Number.isInteger(L)) throw new Error(`${name}=${String(L)} is not an integer; expected an integer number of levels ≥ 2`);
  if (L < 2) throw new Error(`${name}=${L} is too small; expected at least 2 levels`);
  if (kind === "ifsq" && L % 2 === 0) {
    throw new Error(
      `${name}=${L} is even; the ifsq bound needs odd levels because it has no offset/shift to centre an even grid ` +
        `(2·sigmoid(αz)−1 is symmetric, so rounding it gives the odd grid {−h, …, h}); use an odd L such as ${L + 1} or the tanh bound`,
    );
  }
}

/** The constants of a bound for L levels. */
export function boundShape(kind: BoundKind, L: number, opts: BoundOptions = {}): BoundShape {
  if (kind !== "tanh" && kind !== "ifsq") throw new Error(`bound=${JSON.stringify(kind)} is not a bound; expected "tanh" or "ifsq"`);
  checkLevel(L, kind);
  const halfWidth = Math.floor(L / 2);
  const qMin = -halfWidth;
  const qMax = L % 2 === 0 ? halfWidth - 1 : halfWidth;
  if (kind === "tanh") {
    if (opts.alpha !== undefined) throw new Error(`alpha=${opts.alpha} was given for the tanh bound; alpha only applies to bound "ifsq"`);
    const eps = opts.eps ?? FSQ_EPS;
    if (!Number.isFinite(eps) || eps < 0 || ((L - 1) / 2) * eps >= 0.5) {
      throw new Error(`eps=${eps} is invalid for L=${L}; expected 0 ≤ eps < 1/(L−1) so rounding stays on the grid`);
    }
    const c = tanhBoundConstants(L, eps);
    return { kind, levels: L, amplitude: c.halfL, slope: 1, shift: c.shift, offset: c.offset, halfWidth, qMin, qMax };
  }
  if (opts.eps !== undefined) throw new Error(`eps=${opts.eps} was given for the ifsq bound; the ifsq bound has no ε`);
  const alpha = opts.alpha ?? IFSQ_ALPHA;
  checkAlpha(alpha);
  return { kind, levels: L, amplitude: (L - 1) / 2, slope: alpha / 2, shift: 0, offset: 0, halfWidth, qMin, qMax };
}

/** v(z) in level units. */
export function boundValue(b: BoundShape, z: number): number {
  return b.amplitude * Math.tanh(b.slope * z + b.shift) - b.offset;
}

/** dv/dz = A·β·(1 − tanh²(βz + s)). */
export function boundDerivative(b: BoundShape, z: number): number {
  const t = Math.tanh(b.slope * z + b.shift);
  return b.amplitude * b.slope * (1 - t * t);
}

/** The normalised activation y = tanh(βz + s) ∈ (−1, 1). */
export function boundActivation(b: BoundShape, z: number): number {
  return Math.tanh(b.slope * z + b.shift);
}

/** z with boundActivation(z) = y; ±∞ at or beyond ±1. */
export function boundActivationInverse(b: BoundShape, y: number): number {
  if (y >= 1) return Infinity;
  if (y <= -1) return -Infinity;
  return (Math.atanh(y) - b.shift) / b.slope;
}

/** z with v(z) = v; ±∞ where v is outside the bound's open range. */
export function boundInverse(b: BoundShape, v: number): number {
  return boundActivationInverse(b, (v + b.offset) / b.amplitude);
}

/** The activation value y at which v = v (may lie outside (−1, 1)). */
export function boundActivationAt(b: BoundShape, v: number): number {
  return (v + b.offset) / b.amplitude;
}
