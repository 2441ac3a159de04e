/**
 * Activation collapse, analytically (paper-spec §3.2–3.3). A pre-activation x ~ N(μ, σ²) goes through a bound
 * v(x) = A·tanh(βx + s) − o (bounds.ts) and is rounded to a code q. Everything here is exact up to double precision
 * and quadrature tolerance (normal CDF, adaptive Gauss–Legendre); no sampling, no tensors.
 *
 *   P(q) = Φ((x_{q+½} − μ)/σ) − Φ((x_{q−½} − μ)/σ),   x_{q±½} = v⁻¹(q ± ½)  (±∞ outside the bound's range)
 *   H = −Σ P(q) log₂ P(q),  utilisation = H / log₂ L,  end-bin mass = P(q_min), P(q_max)
 *
 * The α sweep compares y = 2·sigmoid(αx) − 1 (x ~ N(0, σ²)) with U(−1, 1), the distribution that 2Φ(x/σ) − 1 would
 * give exactly, under several distances. Substituting y = y(x) moves every integral to x-space, where the integrands
 * are smooth and decay like a Gaussian or an exponential.
 */
import { boundActivation, boundActivationAt, boundActivationInverse, boundConstants, checkLevel, type Bound, type BoundConstants } from "./bounds";
import { integrate, logistic, minimizeScalar, normalCdf, normalInterval, normalPdf } from "./numerics";

/** A bound to analyse (L is given separately), or its constants for that L. */
type Analysed = Bound | Bound["kind"] | BoundConstants;

function shapeOf(spec: Analysed, L: number): BoundConstants {
  if (typeof spec === "object" && "amplitude" in spec) {
    if (spec.levels !== L) throw new Error(`the bound constants have L=${spec.levels} but L=${L} was asked for`);
    return spec;
  }
  return boundConstants(spec, L);
}

function checkSigma(sigma: number): void {
  if (!Number.isFinite(sigma) || sigma <= 0) throw new Error(`sigma=${sigma} is invalid; expected a finite standard deviation > 0`);
}

export interface CodeDistribution {
  /** Integer codes q from q_min to q_max (length L). */
  q: number[];
  /** Normalised codes ẑ = q/h. */
  codes: number[];
  /** P(q), summing to 1. */
  probs: number[];
}

/** The exact probability of every code for x ~ N(mean, σ²) through the bound (L levels). */
export function codeProbabilities(spec: Analysed, L: number, sigma: number, mean = 0): CodeDistribution {
  checkSigma(sigma);
  const b = shapeOf(spec, L);
  const q: number[] = [];
  const codes: number[] = [];
  const probs: number[] = [];
  for (let k = b.qMin; k <= b.qMax; k++) {
    // v rounds to k on [k−½, k+½]; the end codes also take everything beyond (the bound never leaves them).
    const lo = k === b.qMin ? -Infinity : boundActivationInverse(b, boundActivationAt(b, k - 0.5));
    const hi = k === b.qMax ? Infinity : boundActivationInverse(b, boundActivationAt(b, k + 0.5));
    q.push(k);
    codes.push(k / b.halfWidth);
    probs.push(normalInterval((lo - mean) / sigma, (hi - mean) / sigma));
  }
  return { q, codes, probs };
}

/** Code probabilities when the activation y is exactly uniform on (−1, 1) (the ideal map 2Φ(x/σ) − 1), ε = 0. */
export function uniformCodeProbabilities(L: number): number[] {
  checkLevel(L, { kind: "tanh", eps: 0 });
  const A = (L - 1) / 2;
  const o = L % 2 === 0 ? 0.5 : 0;
  const h = Math.floor(L / 2);
  const qMax = L % 2 === 0 ? h - 1 : h;
  const out: number[] = [];
  for (let k = -h; k <= qMax; k++) {
    const lo = Math.max(k - 0.5, -A - o);
    const hi = Math.min(k + 0.5, A - o);
    out.push((hi - lo) / (2 * A));
  }
  return out;
}

/** Shannon entropy in bits, −Σ p log₂ p (0·log 0 = 0). */
export function codeEntropy(probs: readonly number[]): number {
  let h = 0;
  for (const p of probs) if (p > 0) h -= p * Math.log2(p);
  return h;
}

/** Summary of one code distribution. */
export interface CollapseStats {
  /** H in bits. */
  entropy: number;
  /** H / log₂ L. */
  utilisation: number;
  /** P(q_min) and P(q_max). */
  endLow: number;
  endHigh: number;
  /** P(q_min) + P(q_max). */
  endMass: number;
  /** max/min over the inner codes (1 = perfectly flat). */
  innerRatio: number;
}

export function collapseStats(probs: readonly number[]): CollapseStats {
  const L = probs.length;
  const inner = probs.slice(1, L - 1);
  const entropy = codeEntropy(probs);
  return {
    entropy,
    utilisation: entropy / Math.log2(L),
    endLow: probs[0],
    endHigh: probs[L - 1],
    endMass: probs[0] + probs[L - 1],
    innerRatio: inner.length > 0 ? Math.max(...inner) / Math.min(...inner) : 1,
  };
}

/** `collapseStats(codeProbabilities(...))`. */
export function analyticCodeStats(spec: Analysed, L: number, sigma: number, mean = 0): CollapseStats {
  return collapseStats(codeProbabilities(spec, L, sigma, mean).probs);
}

/**
 * Density of the normalised activation y = tanh(βx + s) ∈ (−1, 1) for x ~ N(mean, σ²):
 * p_Y(y) = φ((x − μ)/σ)/σ · dx/dy, x = (atanh(y) − s)/β, dx/dy = 1/(β(1 − y²)). Uniform would be ½.
 */
export function activationDensity(spec: Analysed, L: number, sigma: number, y: number, mean = 0): number {
  checkSigma(sigma);
  const b = shapeOf(spec, L);
  if (!(y > -1 && y < 1)) return 0;
  const x = boundActivationInverse(b, y);
  return (normalPdf((x - mean) / sigma) / sigma) / (b.slope * (1 - y * y));
}

/** Density of y on a grid of n points strictly inside (−1, 1) (Chebyshev-like spacing to resolve the ends). */
export function activationDensityCurve(spec: Analysed, L: number, sigma: number, n = 401, mean = 0): { y: number[]; density: number[] } {
  const y: number[] = [];
  const density: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = -Math.cos((Math.PI * (i + 0.5)) / n); // (−1, 1), denser near ±1
    y.push(t);
    density.push(activationDensity(spec, L, sigma, t, mean));
  }
  return { y, density };
}

/** The bound's value y(x) (normalised, no rounding) for plotting the mapping. */
export function mappingCurve(spec: Analysed, L: number, xs: readonly number[]): number[] {
  const b = shapeOf(spec, L);
  return xs.map((x) => boundActivation(b, x));
}

// ---------------------------------------------------------------------------------------------------------------
// α sweep: y = 2·sigmoid(αx) − 1 = tanh(αx/2), x ~ N(0, σ²), against U(−1, 1).

/** The distances of y = 2·sigmoid(αx) − 1 to U(−1, 1); see paper-spec §3.2 for the table these reproduce. */
export interface AlphaCriteria {
  alpha: number;
  /** |α/2 − 2φ(0)/σ|: slope at 0 vs the slope of 2Φ(x/σ) − 1. */
  slope: number;
  /** ∫ φ(u)(Φ(u) − sigmoid(ασu))² du (Gaussian-weighted L2 between the two CDFs). */
  l2Cdf: number;
  /** Cramér–von Mises over y: ∫ (F_Y(y) − (y+1)/2)² dy. */
  cvm: number;
  /** Wasserstein-1: ∫ |F_Y(y) − (y+1)/2| dy. */
  w1: number;
  /** Kolmogorov–Smirnov: sup |F_Y − F_U| = sup_u |Φ(u) − sigmoid(ασu)|. */
  ks: number;
  /** ∫ (p_Y(y) − ½)² dy. */
  l2Density: number;
  /** KL(p_Y ‖ U(−1, 1)) in nats. */
  kl: number;
}

export const ALPHA_CRITERIA = ["slope", "l2Cdf", "cvm", "w1", "ks", "l2Density", "kl"] as const;
export type AlphaCriterion = (typeof ALPHA_CRITERIA)[number];

/** The integration range in standardised units u = x/σ; every integrand is < 1e-30 outside it. */
function range(a: number): number {
  return Math.max(40, 80 / a);
}

/** Each criterion as a function of α (σ fixed). Standardised: u = x/σ, a = ασ, y = tanh(au/2), dy/du = 2a·g(1−g). */
export function alphaCriterion(name: AlphaCriterion, alpha: number, sigma = 1): number {
  checkSigma(sigma);
  if (!Number.isFinite(alpha) || alpha <= 0) throw new Error(`alpha=${alpha} is invalid; expected a finite number > 0`);
  const a = alpha * sigma;
  const R = range(a);
  const g = (u: number) => logistic(a * u);
  const dy = (u: number) => {
    const s = g(u);
    return 2 * a * s * (1 - s);
  };
  // log y'(u) = log 2a + log g + log(1−g) = log 2a − a|u| − 2·log(1 + e^{−a|u|}), without underflow.
  const logDy = (u: number) => {
    const au = a * Math.abs(u);
    return Math.log(2 * a) - au - 2 * Math.log1p(Math.exp(-au));
  };
  const opts = { tol: 1e-14, breakpoints: [0] };
  switch (name) {
    case "slope":
      return Math.abs(alpha / 2 - (2 * normalPdf(0)) / sigma);
    case "l2Cdf":
      return integrate((u) => normalPdf(u) * (normalCdf(u) - g(u)) ** 2, -R, R, opts);
    case "cvm":
      return integrate((u) => (normalCdf(u) - g(u)) ** 2 * dy(u), -R, R, opts);
    case "w1":
      return integrate((u) => Math.abs(normalCdf(u) - g(u)) * dy(u), -R, R, opts);
    case "ks": {
      // Φ(u) − g(u) is odd in u: search u ≥ 0 on a grid, then refine the best cell by golden section.
      const f = (u: number) => -Math.abs(normalCdf(u) - g(u));
      let best = 0;
      for (let u = 0; u <= 12; u += 0.01) if (f(u) < f(best)) best = u;
      return -minimizeScalar(f, Math.max(0, best - 0.01), best + 0.01, 1e-10).value;
    }
    case "l2Density":
      // ∫ (p_Y − ½)² dy = ∫ p_Y² dy − ½, and ∫ p_Y² dy = ∫ φ(u)²/y'(u) du (p_Y(y(u)) = φ(u)/y'(u)), in log space.
      return integrate((u) => Math.exp(-u * u - Math.log(2 * Math.PI) - logDy(u)), -R, R, opts) - 0.5;
    case "kl":
      // ∫ p_Y log(2 p_Y) dy = ∫ φ(u) (log 2 + log φ(u) − log y'(u)) du.
      return integrate((u) => normalPdf(u) * (Math.log(2) - 0.5 * Math.log(2 * Math.PI) - 0.5 * u * u - logDy(u)), -R, R, opts);
  }
}

/** All criteria at one α. */
export function alphaCriteria(alpha: number, sigma = 1): AlphaCriteria {
  const out = { alpha } as AlphaCriteria;
  for (const name of ALPHA_CRITERIA) out[name] = alphaCriterion(name, alpha, sigma);
  return out;
}

/** argmin_α of each criterion (golden section on [lo, hi]/σ; the slope match is closed-form 4φ(0)/σ = 4/(σ√(2π))). */
export function alphaArgmins(sigma = 1, lo = 1, hi = 3): Record<AlphaCriterion, number> {
  checkSigma(sigma);
  const out = {} as Record<AlphaCriterion, number>;
  for (const name of ALPHA_CRITERIA) {
    out[name] = name === "slope" ? (4 * normalPdf(0)) / sigma : minimizeScalar((a) => alphaCriterion(name, a, sigma), lo / sigma, hi / sigma, 1e-7).x;
  }
  return out;
}

/** One row of an α sweep: the criteria plus the code entropy of iFSQ with this α for L levels. */
export interface AlphaSweepRow extends AlphaCriteria {
  entropy: number;
  endMass: number;
}

/** Criteria and L-level code statistics for every α in `alphas`. */
export function alphaSweep(alphas: readonly number[], L: number, sigma = 1): AlphaSweepRow[] {
  return alphas.map((alpha) => {
    const s = analyticCodeStats({ kind: "ifsq", alpha }, L, sigma);
    return { ...alphaCriteria(alpha, sigma), entropy: s.entropy, endMass: s.endMass };
  });
}

/** Entropy and end-bin mass of one bound as σ varies. */
export function sigmaSweep(spec: Analysed, L: number, sigmas: readonly number[]): Array<{ sigma: number } & CollapseStats> {
  return sigmas.map((sigma) => ({ sigma, ...analyticCodeStats(spec, L, sigma) }));
}
