/**
 * Plain-number numerics for the activation-collapse analysis: the normal distribution, adaptive Gauss–Legendre
 * quadrature and a golden-section minimiser. Double precision throughout, no tensors.
 *
 * Accuracy: `erfc` is exact to ~1e-15 relative for x ≤ 2.5 (positive-term series, no cancellation) and to ~1e-15
 * relative in the tail (continued fraction); `integrate` reaches an absolute error ≲ tol on smooth integrands and on
 * integrands with a few kinks (|·|), because panels are bisected until two Gauss–Legendre estimates agree.
 */

const SQRT_PI = Math.sqrt(Math.PI);
const SQRT2 = Math.SQRT2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** erf(x) for |x| ≤ 2.5: erf(x) = 2/√π · e^{−x²} · Σ_n 2ⁿ x^{2n+1} / (1·3·5···(2n+1)) — every term is positive. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/** erfc(x) for x > 2: Laplace's continued fraction e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), modified Lentz. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / SQRT_PI / f;
}

/** Complementary error function erfc(x) = 1 − erf(x), accurate in both tails. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x <= 2.5) return 1 - erfSeries(x);
  if (x > 27.3) return 0; // below the smallest double
  return erfcContinuedFraction(x);
}

/** Error function. */
export function erf(x: number): number {
  if (Math.abs(x) <= 2.5) return erfSeries(x);
  return x > 0 ? 1 - erfc(x) : erfc(-x) - 1;
}

/** Standard normal density φ(x). */
export function normalPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** Standard normal CDF Φ(x) = ½ erfc(−x/√2); Φ(±∞) = 1 / 0. */
export function normalCdf(x: number): number {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  return 0.5 * erfc(-x / SQRT2);
}

/** Upper tail Q(x) = 1 − Φ(x), without cancellation for large x. */
export function normalSf(x: number): number {
  return normalCdf(-x);
}

/** P(a ≤ X < b) for X ~ N(0, 1), computed in the tail where it is more accurate (a ≤ b, ±∞ allowed). */
export function normalInterval(a: number, b: number): number {
  if (!(a < b)) return 0;
  if (a >= 0) return normalSf(a) - normalSf(b);
  return normalCdf(b) - normalCdf(a);
}

/** Logistic sigmoid 1/(1 + e^{−x}), stable for large |x|. */
export function logistic(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

// ---------------------------------------------------------------------------------------------------------------
// Quadrature

interface Rule {
  nodes: Float64Array; // on [−1, 1]
  weights: Float64Array;
}

const rules = new Map<number, Rule>();

/** n-point Gauss–Legendre rule on [−1, 1]: roots of P_n by Newton's method from Chebyshev-like starting points. */
export function gaussLegendre(n: number): Rule {
  const cached = rules.get(n);
  if (cached) return cached;
  if (!Number.isInteger(n) || n < 1) throw new Error(`gaussLegendre: n=${n}; expected a positive integer`);
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      // P_n(x) and P_n'(x) by the three-term recurrence
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = (n * (x * p1 - p0)) / (x * x - 1); // p1 = P_n(x), p0 = P_{n−1}(x)
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  const rule = { nodes, weights };
  rules.set(n, rule);
  return rule;
}

function panel(f: (x: number) => number, a: number, b: number, rule: Rule): number {
  const mid = 0.5 * (a + b);
  const half = 0.5 * (b - a);
  let s = 0;
  for (let i = 0; i < rule.nodes.length; i++) s += rule.weights[i] * f(mid + half * rule.nodes[i]);
  return s * half;
}

export interface IntegrateOptions {
  /** Absolute error target for the whole integral (default 1e-13). */
  tol?: number;
  /** Panels the interval is first cut into (default 32). */
  panels?: number;
  /** Maximal bisection depth per panel (default 40). */
  maxDepth?: number;
  /** Extra cut points (kinks, peaks) inside (a, b). */
  breakpoints?: number[];
}

/**
 * ∫_a^b f(x) dx by adaptive 16-point Gauss–Legendre: a panel is accepted when its estimate and the sum of its two
 * halves agree to within its share of `tol`. Finite a < b only (truncate infinite ranges where the integrand is
 * negligible).
 */
export function integrate(f: (x: number) => number, a: number, b: number, opts: IntegrateOptions = {}): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`integrate: bounds [${a}, ${b}] must be finite`);
  if (a === b) return 0;
  if (a > b) return -integrate(f, b, a, opts);
  const tol = opts.tol ?? 1e-13;
  const nPanels = opts.panels ?? 32;
  const maxDepth = opts.maxDepth ?? 40;
  const rule = gaussLegendre(16);
  const cuts = [a, b, ...(opts.breakpoints ?? []).filter((x) => x > a && x < b)].sort((p, q) => p - q);
  const edges: number[] = [];
  for (let c = 0; c + 1 < cuts.length; c++) {
    const lo = cuts[c];
    const hi = cuts[c + 1];
    const n = Math.max(1, Math.round((nPanels * (hi - lo)) / (b - a)));
    for (let i = 0; i < n; i++) edges.push(lo + ((hi - lo) * i) / n);
  }
  edges.push(b);
  const total = b - a;
  let sum = 0;
  const recurse = (lo: number, hi: number, whole: number, depth: number): number => {
    const mid = 0.5 * (lo + hi);
    const left = panel(f, lo, mid, rule);
    const right = panel(f, mid, hi, rule);
    const share = Math.max((tol * (hi - lo)) / total, 1e-300);
    if (Math.abs(left + right - whole) <= share || depth >= maxDepth) return left + right;
    return recurse(lo, mid, left, depth + 1) + recurse(mid, hi, right, depth + 1);
  };
  for (let i = 0; i + 1 < edges.length; i++) {
    const lo = edges[i];
    const hi = edges[i + 1];
    sum += recurse(lo, hi, panel(f, lo, hi, rule), 0);
  }
  return sum;
}

/** Argmin of a unimodal f on [lo, hi] by golden-section search, to an x-tolerance `tol` (default 1e-9). */
export function minimizeScalar(f: (x: number) => number, lo: number, hi: number, tol = 1e-9): { x: number; value: number } {
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > tol) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  const x = 0.5 * (a + b);
  return { x, value: f(x) };
}
