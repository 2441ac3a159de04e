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

/**
 * The quantizer bound: the one value every layer passes (quantizer, tokenizer architecture, analysis, notebooks).
 *   { kind: "tanh", eps? }    the original FSQ bound (ε default 1e-3; the analysis of paper-spec §3.3 uses ε = 0)
 *   { kind: "ifsq", alpha? }  2·sigmoid(α·z) − 1 (α default 1.6)
 * The bare names "tanh" / "ifsq" are accepted where a bound is read (`toBound`) and mean the defaults.
 */
export type Bound = { readonly kind: "tanh"; readonly eps?: number } | { readonly kind: "ifsq"; readonly alpha?: number };

function describeValue(x: unknown): string {
  return typeof x === "string" ? JSON.stringify(x) : typeof x === "object" && x !== null ? JSON.stringify(x) : String(x);
}

/**
 * Validates a bound (or a bare name) once and fills in its default parameter; errors name the bad value. A
 * parameter of the other bound (alpha with tanh, eps with ifsq) is an error, not silently ignored.
 */
export function toBound(b: Bound | Bound["kind"]): Required<Bound> {
  const o: { kind?: unknown; alpha?: unknown; eps?: unknown } = typeof b === "string" ? { kind: b } : (b as object);
  if (o === null || typeof o !== "object") throw new Error(`bound=${describeValue(b)} is not a bound; expected "tanh", "ifsq" or { kind, alpha | eps }`);
  for (const key of Object.keys(o)) {
    if (!["kind", "alpha", "eps"].includes(key)) throw new Error(`bound option ${JSON.stringify(key)} is unknown; expected kind, alpha (ifsq) or eps (tanh)`);
  }
  if (o.kind === "tanh") {
    if (o.alpha !== undefined) throw new Error(`alpha=${describeValue(o.alpha)} was given with bound "tanh"; alpha only applies to bound "ifsq" (tanh is the fixed FSQ bound)`);
    const eps = o.eps === undefined ? FSQ_EPS : o.eps;
    if (typeof eps !== "number" || !Number.isFinite(eps) || eps < 0) throw new Error(`eps=${describeValue(eps)} is invalid; expected a finite ε ≥ 0 (FSQ uses ${FSQ_EPS})`);
    return { kind: "tanh", eps };
  }
  if (o.kind === "ifsq") {
    if (o.eps !== undefined) throw new Error(`eps=${describeValue(o.eps)} was given with bound "ifsq"; the ifsq bound has no ε`);
    const alpha = o.alpha === undefined ? IFSQ_ALPHA : o.alpha;
    checkAlpha(alpha as number);
    return { kind: "ifsq", alpha: alpha as number };
  }
  throw new Error(`bound=${describeValue(typeof b === "string" ? b : o.kind)} is not a bound; expected "tanh" or "ifsq"`);
}

/** "FSQ (tanh)" or "iFSQ (α=1.6)": the label tables and figures use. */
export function boundLabel(b: Bound | Bound["kind"]): string {
  const r = toBound(b);
  return r.kind === "ifsq" ? `iFSQ (α=${r.alpha})` : "FSQ (tanh)";
}

/** Constants of a bound for one channel with L levels (derived from a `Bound` by `boundConstants`). */
export interface BoundConstants {
  kind: Bound["kind"];
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

/** Checks one level count for a bound; the message says what was expected and why. */
export function checkLevel(L: number, bound: Bound | Bound["kind"], name = "L"): void {
  const b = toBound(bound);
  if (typeof L !== "number" || !Number.isInteger(L)) throw new Error(`${name}=${String(L)} is not an integer; expected an integer number of levels ≥ 2`);
  if (L < 2) throw new Error(`${name}=${L} is too small; expected at least 2 levels`);
  if (b.kind === "ifsq" && L % 2 === 0) {
    throw new Error(
      `${name}=${L} is even; the ifsq bound needs odd levels because it has no offset/shift to centre an even grid ` +
        `(2·sigmoid(αz)−1 is symmetric, so rounding it gives the odd grid {−h, …, h}); use an odd L such as ${L + 1} or the tanh bound`,
    );
  }
  if (b.kind === "tanh" && ((L - 1) / 2) * b.eps >= 0.5) {
    throw new Error(`${name}=${L} is too large for the tanh bound with ε = ${b.eps}; expected L < ${1 + 1 / b.eps} (ε would push rounding off the grid)`);
  }
}

/**
 * The one check of a levels list (the quantizer and the tokenizer config both call it): a non-empty array of
 * integers ≥ 2, each valid for the bound (odd for ifsq, small enough for tanh's ε).
 */
export function checkLevels(levels: unknown, bound: Bound | Bound["kind"], name = "levels"): void {
  if (!Array.isArray(levels) || levels.length === 0) {
    throw new Error(`${name}=${describeValue(levels)} is invalid; expected a non-empty array of integers ≥ 2, e.g. [17, 17, 17, 17]`);
  }
  levels.forEach((L, j) => checkLevel(L, bound, `${name}[${j}]`));
}

/** The constants of a bound for L levels. */
export function boundConstants(bound: Bound | Bound["kind"], L: number): BoundConstants {
  const b = toBound(bound);
  checkLevel(L, b);
  const halfWidth = Math.floor(L / 2);
  const qMin = -halfWidth;
  const qMax = L % 2 === 0 ? halfWidth - 1 : halfWidth;
  if (b.kind === "tanh") {
    const c = tanhBoundConstants(L, b.eps);
    return { kind: "tanh", levels: L, amplitude: c.halfL, slope: 1, shift: c.shift, offset: c.offset, halfWidth, qMin, qMax };
  }
  return { kind: "ifsq", levels: L, amplitude: (L - 1) / 2, slope: b.alpha / 2, shift: 0, offset: 0, halfWidth, qMin, qMax };
}

/** v(z) in level units. */
export function boundValue(b: BoundConstants, z: number): number {
  return b.amplitude * Math.tanh(b.slope * z + b.shift) - b.offset;
}

/** dv/dz = A·β·(1 − tanh²(βz + s)). */
export function boundDerivative(b: BoundConstants, z: number): number {
  const t = Math.tanh(b.slope * z + b.shift);
  return b.amplitude * b.slope * (1 - t * t);
}

/** The normalised activation y = tanh(βz + s) ∈ (−1, 1). */
export function boundActivation(b: BoundConstants, z: number): number {
  return Math.tanh(b.slope * z + b.shift);
}

/** z with boundActivation(z) = y; ±∞ at or beyond ±1. */
export function boundActivationInverse(b: BoundConstants, y: number): number {
  if (y >= 1) return Infinity;
  if (y <= -1) return -Infinity;
  return (Math.atanh(y) - b.shift) / b.slope;
}

/** z with v(z) = v; ±∞ where v is outside the bound's open range. */
export function boundInverse(b: BoundConstants, v: number): number {
  return boundActivationInverse(b, (v + b.offset) / b.amplitude);
}

/** The activation value y at which v = v (may lie outside (−1, 1)). */
export function boundActivationAt(b: BoundConstants, v: number): number {
  return (v + b.offset) / b.amplitude;
}
