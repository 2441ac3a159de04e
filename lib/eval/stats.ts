/**
 * First and second moments of a feature set, in float64: μ = (1/n) Σ fᵢ and the unbiased covariance
 * Σ = (1/(n−1)) Σ (fᵢ − μ)(fᵢ − μ)ᵀ (numpy's `np.cov(rowvar=False)`, as pytorch-fid uses).
 * Features are row-major [n, d].
 */

export interface FeatureStats {
  /** Mean, length d. */
  mu: Float64Array;
  /** Covariance, d×d row-major (symmetric). */
  sigma: Float64Array;
  /** Number of samples. */
  n: number;
  /** Feature dimension. */
  d: number;
}

/** Mean and covariance of features [n, d]. Needs n ≥ d + 1 (otherwise Σ is singular and FID is meaningless). */
export function momentsOf(features: ArrayLike<number>, n: number, d: number, what = "features"): FeatureStats {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n <= 0 || d <= 0) throw new Error(`${what}: bad shape [${n}, ${d}]`);
  if (features.length !== n * d) throw new Error(`${what}: ${features.length} values do not match [n, d] = [${n}, ${d}]`);
  if (n < d + 1) {
    throw new Error(`${what}: ${n} samples of dimension ${d}: a covariance needs at least d + 1 = ${d + 1} samples (use more images)`);
  }
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      const v = features[i * d + k];
      if (!Number.isFinite(v)) throw new Error(`${what}: sample ${i}, feature ${k} is ${v}; expected finite numbers`);
      mu[k] += v;
    }
  }
  for (let k = 0; k < d; k++) mu[k] /= n;
  const sigma = new Float64Array(d * d);
  const r = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) r[k] = features[i * d + k] - mu[k];
    for (let a = 0; a < d; a++) {
      const ra = r[a];
      const row = a * d;
      for (let b = a; b < d; b++) sigma[row + b] += ra * r[b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = sigma[a * d + b] / (n - 1);
      sigma[a * d + b] = v;
      sigma[b * d + a] = v;
    }
  }
  return { mu, sigma, n, d };
}
