/**
 * Linear probe of a frozen representation: a ridge-regression classifier on standardised features, fitted in closed
 * form on a training set and scored by top-1 accuracy on a test set.
 *   x̂ = (x − μ)/σ (per feature, training statistics), X = [x̂, 1]  [n, d+1]
 *   W = (XᵀX + α·n·I)⁻¹ XᵀY,  Y one-hot [n, C]            (the bias column is not penalised)
 *   prediction = argmax_c (XW)_c
 * Deterministic (no optimiser, no seed); a least-squares probe gives the same ranking of representations as a logistic
 * one for our purpose (is the teacher's feature linearly informative of the class?).
 */
import { Matrix, solve } from "ml-matrix";

export interface ProbeSet {
  /** Features [n, d], row-major. */
  features: ArrayLike<number>;
  labels: ArrayLike<number>;
  n: number;
}

export interface ProbeResult {
  trainAccuracy: number;
  testAccuracy: number;
}

/** Fits the probe on `train` and scores it on `test` (d features, C classes; α = ridge strength, default 1e-3). */
export function linearProbe(train: ProbeSet, test: ProbeSet, d: number, classes: number, opts: { alpha?: number } = {}): ProbeResult {
  const alpha = opts.alpha ?? 1e-3;
  for (const [what, s] of [["train", train], ["test", test]] as const) {
    if (s.features.length !== s.n * d) throw new Error(`linearProbe: ${what} features have ${s.features.length} values; expected n·d = ${s.n}·${d}`);
    if (s.labels.length !== s.n) throw new Error(`linearProbe: ${what} has ${s.labels.length} labels for ${s.n} rows`);
    for (let i = 0; i < s.n; i++) if (!(Number.isInteger(s.labels[i]) && s.labels[i] >= 0 && s.labels[i] < classes)) throw new Error(`linearProbe: ${what} label[${i}]=${s.labels[i]}; expected 0…${classes - 1}`);
  }
  if (train.n <= d) throw new Error(`linearProbe: ${train.n} training rows for ${d} features; expected more rows than features`);
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (let i = 0; i < train.n; i++) for (let k = 0; k < d; k++) mu[k] += train.features[i * d + k] / train.n;
  for (let i = 0; i < train.n; i++) for (let k = 0; k < d; k++) sd[k] += (train.features[i * d + k] - mu[k]) ** 2 / train.n;
  for (let k = 0; k < d; k++) sd[k] = Math.sqrt(sd[k]) || 1;
  const design = (s: ProbeSet) => {
    const m = new Matrix(s.n, d + 1);
    for (let i = 0; i < s.n; i++) {
      for (let k = 0; k < d; k++) m.set(i, k, (s.features[i * d + k] - mu[k]) / sd[k]);
      m.set(i, d, 1);
    }
    return m;
  };
  const X = design(train);
  const Y = new Matrix(train.n, classes);
  for (let i = 0; i < train.n; i++) Y.set(i, train.labels[i], 1);
  const XtX = X.transpose().mmul(X);
  for (let k = 0; k < d; k++) XtX.set(k, k, XtX.get(k, k) + alpha * train.n);
  const W = solve(XtX, X.transpose().mmul(Y));
  const accuracy = (s: ProbeSet, Xs: Matrix) => {
    const P = Xs.mmul(W);
    let ok = 0;
    for (let i = 0; i < s.n; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (P.get(i, c) > P.get(i, best)) best = c;
      if (best === s.labels[i]) ok++;
    }
    return ok / s.n;
  };
  return { trainAccuracy: accuracy(train, X), testAccuracy: accuracy(test, design(test)) };
}
