/**
 * Fréchet distance between two Gaussians fitted to feature sets (Heusel et al. 2017):
 *   FID = ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2·Tr((Σ₁Σ₂)^{½}).
 * Tr((Σ₁Σ₂)^{½}) = Tr((Σ₁^{½} Σ₂ Σ₁^{½})^{½}) since both products have the same eigenvalues; the right-hand matrix
 * is symmetric PSD, so both square roots come from symmetric eigendecompositions (ml-matrix), with tiny negative
 * eigenvalues (round-off) clamped to 0.
 *
 * The features here come from our own frozen Fashion-MNIST classifier (lib/models/classifier.ts), not Inception:
 * values are not comparable with the paper's ImageNet FIDs, only between our runs with the same feature network.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import type { FeatureStats } from "./stats";

/** Symmetric PSD square root of a d×d row-major matrix (negative eigenvalues clamped to 0). */
export function sqrtPsd(a: Float64Array, d: number): Float64Array {
  const m = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.set(i, j, 0.5 * (a[i * d + j] + a[j * d + i]));
  const eig = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const lam = eig.realEigenvalues;
  const v = eig.eigenvectorMatrix;
  const s = lam.map((l) => Math.sqrt(Math.max(l, 0)));
  // V·diag(√λ)·Vᵀ
  const out = new Float64Array(d * d);
  const vr = v.to2DArray();
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let acc = 0;
      for (let k = 0; k < d; k++) acc += vr[i][k] * s[k] * vr[j][k];
      out[i * d + j] = acc;
      out[j * d + i] = acc;
    }
  }
  return out;
}

/** Tr(A^{½}) of a symmetric PSD matrix: Σ √max(λ, 0). */
export function traceSqrtPsd(a: Float64Array, d: number): number {
  const m = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.set(i, j, 0.5 * (a[i * d + j] + a[j * d + i]));
  const lam = new EigenvalueDecomposition(m, { assumeSymmetric: true }).realEigenvalues;
  let t = 0;
  for (const l of lam) t += Math.sqrt(Math.max(l, 0));
  return t;
}

function matmulSquare(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      const bo = k * d;
      const oo = i * d;
      for (let j = 0; j < d; j++) out[oo + j] += aik * b[bo + j];
    }
  }
  return out;
}

function checkStats(s: FeatureStats, what: string): void {
  if (s.mu.length !== s.d || s.sigma.length !== s.d * s.d) throw new Error(`${what}: mu/sigma sizes do not match d=${s.d}`);
  for (let i = 0; i < s.mu.length; i++) if (!Number.isFinite(s.mu[i])) throw new Error(`${what}: mu[${i}] is ${s.mu[i]}`);
  for (let i = 0; i < s.sigma.length; i++) if (!Number.isFinite(s.sigma[i])) throw new Error(`${what}: sigma[${i}] is ${s.sigma[i]}`);
}

/** Parts of the Fréchet distance, for inspection. */
export interface FrechetParts {
  fid: number;
  /** ‖μ₁ − μ₂‖². */
  meanTerm: number;
  /** Tr(Σ₁) + Tr(Σ₂) − 2·Tr((Σ₁Σ₂)^{½}). */
  covTerm: number;
}

/** Fréchet distance between the Gaussians N(μ₁, Σ₁) and N(μ₂, Σ₂), with its two terms. */
export function frechetParts(a: FeatureStats, b: FeatureStats): FrechetParts {
  if (a.d !== b.d) throw new Error(`fid: feature dimensions differ: ${a.d} vs ${b.d} (were both sets embedded by the same network?)`);
  checkStats(a, "fid(a)");
  checkStats(b, "fid(b)");
  const d = a.d;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mu[i] - b.mu[i]) ** 2;
  let tr = 0;
  for (let i = 0; i < d; i++) tr += a.sigma[i * d + i] + b.sigma[i * d + i];
  const s1 = sqrtPsd(a.sigma, d);
  const m = matmulSquare(matmulSquare(s1, b.sigma, d), s1, d);
  const covTerm = tr - 2 * traceSqrtPsd(m, d);
  // round-off can leave a tiny negative value for identical sets
  const fid = Math.max(meanTerm + covTerm, 0);
  return { fid, meanTerm, covTerm };
}

/** FID between two feature statistics (see the file comment). */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  return frechetParts(a, b).fid;
}
