/**
 * CKNNA (Huh et al. 2024, "The Platonic Representation Hypothesis"): centered kernel alignment restricted to mutual
 * k-nearest neighbours, as in the official `cknna` the iFSQ code calls (paper-spec §7).
 *
 *   A [n, dA], B [n, dB] (row i = one image's features in two representations)
 *   K = A·Aᵀ, L = B·Bᵀ                                   (linear kernels, unnormalised)
 *   N_K(i) = the k largest K_ij over j ≠ i (self excluded; ties → lower j), likewise N_L(i)
 *   M_K[i][j] = [j ∈ N_K(i)],  M_L likewise,  M = M_K ∘ M_L   (mutual k-NN; not symmetric)
 *   HSIC(X, Y) = [tr(X̃Ỹ) + (1ᵀX̃1)(1ᵀỸ1)/((m−1)(m−2)) − 2/(m−2)·1ᵀX̃Ỹ1] / (m(m−3))   (unbiased; X̃ = X with a zero diagonal)
 *   CKNNA = HSIC(M∘K, M∘L) / (√(HSIC(M_K∘K, M_K∘K)·HSIC(M_L∘L, M_L∘L)) + 1e-6)
 *
 * The masked kernels are not symmetric, so tr(X̃Ỹ) = Σ_ij X̃_ij Ỹ_ji (not Σ X̃_ij Ỹ_ij), and 1ᵀX̃Ỹ1 = Σ_k colsum_k(X̃)·rowsum_k(Ỹ).
 * Cost O(n²·(dA + dB + k)), float64 throughout.
 */

/** Options of `cknna`. */
export interface CknnaOptions {
  /** Neighbours per row (self excluded). Default 10, as the official code. */
  k?: number;
}

/** K = X·Xᵀ of features [n, d] (row-major), float64 [n·n]. */
export function linearKernel(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += x[i * d + c] * x[j * d + c];
      K[i * n + j] = s;
      K[j * n + i] = s;
    }
  }
  return K;
}

/** Row-wise k-NN mask of a kernel [n·n]: mask[i·n + j] = 1 iff j is among the k largest K_ij, j ≠ i (ties → lower j). */
export function knnMask(K: Float64Array, n: number, k: number): Uint8Array {
  const mask = new Uint8Array(n * n);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    idx.length = 0;
    for (let j = 0; j < n; j++) if (j !== i) idx.push(j);
    idx.sort((a, b) => K[i * n + b] - K[i * n + a] || a - b);
    for (let t = 0; t < k; t++) mask[i * n + idx[t]] = 1;
  }
  return mask;
}

/** Unbiased HSIC of two m×m matrices (row-major; not necessarily symmetric), diagonals ignored. Needs m ≥ 4. */
export function hsicUnbiased(X: Float64Array, Y: Float64Array, m: number): number {
  if (!(Number.isInteger(m) && m >= 4)) throw new Error(`hsicUnbiased: m=${m}; the unbiased estimator needs m ≥ 4`);
  let trace = 0;
  let sumX = 0;
  let sumY = 0;
  const colX = new Float64Array(m);
  const rowY = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      if (i === j) continue;
      const x = X[i * m + j];
      const y = Y[i * m + j];
      trace += x * Y[j * m + i];
      sumX += x;
      sumY += y;
      colX[j] += x;
      rowY[i] += y;
    }
  }
  let cross = 0;
  for (let c = 0; c < m; c++) cross += colX[c] * rowY[c];
  return (trace + (sumX * sumY) / ((m - 1) * (m - 2)) - (2 * cross) / (m - 2)) / (m * (m - 3));
}

function masked(K: Float64Array, mask: Uint8Array): Float64Array {
  const out = new Float64Array(K.length);
  for (let i = 0; i < K.length; i++) out[i] = mask[i] ? K[i] : 0;
  return out;
}

function checkFeatures(x: ArrayLike<number>, n: number, d: number, what: string): void {
  if (!Number.isInteger(d) || d <= 0) throw new Error(`cknna: ${what} has feature width ${d}; expected a positive integer`);
  if (x.length !== n * d) throw new Error(`cknna: ${what} has ${x.length} values; expected n·d${what === "a" ? "A" : "B"} = ${n}·${d} = ${n * d}`);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new Error(`cknna: ${what}[${Math.floor(i / d)}, ${i % d}] = ${x[i]}; expected finite numbers`);
  }
}

/**
 * CKNNA between two feature sets of the same n items: a [n, dA] and b [n, dB], row-major. Values near 1 mean the two
 * representations agree on who the nearest neighbours are and on the kernel values among them; ≈ 0 means unrelated.
 */
export function cknna(a: ArrayLike<number>, b: ArrayLike<number>, n: number, dA: number, dB: number, opts: CknnaOptions = {}): number {
  const k = opts.k ?? 10;
  if (!(Number.isInteger(n) && n >= 4)) throw new Error(`cknna: n=${n} items; the unbiased HSIC needs n ≥ 4`);
  checkFeatures(a, n, dA, "a");
  checkFeatures(b, n, dB, "b");
  if (!(Number.isInteger(k) && k >= 1 && k < n)) throw new Error(`cknna: k=${k} neighbours with n=${n} items; expected an integer 1 ≤ k < n (self is excluded)`);
  const K = linearKernel(a, n, dA);
  const L = linearKernel(b, n, dB);
  const mK = knnMask(K, n, k);
  const mL = knnMask(L, n, k);
  const m = new Uint8Array(n * n);
  for (let i = 0; i < m.length; i++) m[i] = mK[i] & mL[i];
  const kl = hsicUnbiased(masked(K, m), masked(L, m), n);
  const KK = masked(K, mK);
  const LL = masked(L, mL);
  const kk = hsicUnbiased(KK, KK, n);
  const ll = hsicUnbiased(LL, LL, n);
  return kl / (Math.sqrt(kk * ll) + 1e-6);
}
