import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../lib/rng";
import { cknna, hsicUnbiased, knnMask, linearKernel } from "../lib/eval/cknna";

const close = (a: number, b: number, tol: number, msg = "") => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b} (tol ${tol})`);

const randn = (rng: Rng, len: number) => Float64Array.from({ length: len }, () => rng.normal());

// 6 items, 2-D and 3-D integer features (the numbers below come from a numpy transcription of the official
// platonic-rep `cknna`: K = AAᵀ, topk with -inf on the diagonal, mask_K * mask_L, hsic_unbiased, ratio + 1e-6)
const A = [1, 0, 2, 1, 0, 3, -1, 2, 3, -1, 1, 1];
const B = [2, 1, 0, 1, 2, 1, 0, 1, 3, -1, 0, 2, 2, -1, 1, 1, 0, 1];

test("cknna: the official definition's values on a 6-item case (k = 2, 3, 5)", () => {
  close(cknna(A, B, 6, 2, 3, { k: 2 }), 0.6542972864001914, 1e-12);
  close(cknna(A, B, 6, 2, 3, { k: 3 }), 0.8106529855508178, 1e-12);
  close(cknna(A, B, 6, 2, 3, { k: 5 }), 0.5864129497881824, 1e-12);
  close(cknna(A, A, 6, 2, 2, { k: 2 }), 0.9999997776405682, 1e-12);
});

test("hsicUnbiased by hand on 4×4 matrices, and on non-symmetric ones it uses Σ X_ij Y_ji", () => {
  // X = Y = all-ones off the diagonal: tr = 12, sums 12·12/(3·2) = 24, 1ᵀXY1 = Σ_k 3·3 = 36 → 2·36/2 = 36; (12 + 24 − 36)/4 = 0
  const ones = Float64Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 0 : 1));
  close(hsicUnbiased(ones, ones, 4), 0, 1e-15);
  // X = E_01 (one entry), Y = E_10: tr(XY) = X_01·Y_10 = 1; sums 1·1/6; 1ᵀXY1 = colsum_1(X)·rowsum_1(Y) = 1 → −2·1/2 = −1
  const X = new Float64Array(16);
  const Y = new Float64Array(16);
  X[0 * 4 + 1] = 1;
  Y[1 * 4 + 0] = 1;
  close(hsicUnbiased(X, Y, 4), (1 + 1 / 6 - 1) / 4, 1e-15);
  // (reading tr(XY) as Σ X_ij Y_ij, as for symmetric kernels, would give (0 + 1/6 − 1)/4 = −5/24 here)
  // the diagonal is ignored
  const Xd = X.slice();
  Xd[0] = 5;
  close(hsicUnbiased(Xd, Y, 4), hsicUnbiased(X, Y, 4), 1e-15);
});

test("knnMask: self excluded, k per row, ties to the lower index", () => {
  const K = linearKernel([1, 2, 2, 3], 4, 1); // rows i·j with features 1, 2, 2, 3
  const m = knnMask(K, 4, 2);
  // row 0: K = [1, 2, 2, 3] → 3 (j = 3) then 2 (tie j = 1, 2 → 1)
  assert.deepEqual(Array.from(m.subarray(0, 4)), [0, 1, 0, 1]);
  // row 1: self excluded → [2, -, 4, 6] → j = 3, 2
  assert.deepEqual(Array.from(m.subarray(4, 8)), [0, 0, 1, 1]);
  for (let i = 0; i < 4; i++) assert.equal(m[i * 5], 0);
});

/** The definition written out literally (explicit masks and products, O(n³)): an independent reference. */
function naiveCknna(a: Float64Array, b: Float64Array, n: number, dA: number, dB: number, k: number): number {
  const gram = (x: Float64Array, d: number) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => { let s = 0; for (let c = 0; c < d; c++) s += x[i * d + c] * x[j * d + c]; return s; })); // prettier-ignore
  const topk = (K: number[][]) => K.map((row, i) => { const js = row.map((v, j) => [v, j]).filter(([, j]) => j !== i).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, k).map(([, j]) => j); return row.map((_, j) => (js.includes(j) ? 1 : 0)); }); // prettier-ignore
  const had = (X: number[][], M: number[][]) => X.map((r, i) => r.map((v, j) => v * M[i][j]));
  const hsic = (X: number[][], Y: number[][]) => {
    const Xt = X.map((r, i) => r.map((v, j) => (i === j ? 0 : v)));
    const Yt = Y.map((r, i) => r.map((v, j) => (i === j ? 0 : v)));
    const XY = Xt.map((r) => Yt[0].map((_, j) => r.reduce((s, v, t) => s + v * Yt[t][j], 0)));
    const tr = XY.reduce((s, r, i) => s + r[i], 0);
    const sum = (Z: number[][]) => Z.reduce((s, r) => s + r.reduce((u, v) => u + v, 0), 0);
    return (tr + (sum(Xt) * sum(Yt)) / ((n - 1) * (n - 2)) - (2 * sum(XY)) / (n - 2)) / (n * (n - 3));
  };
  const K = gram(a, dA);
  const L = gram(b, dB);
  const mK = topk(K);
  const mL = topk(L);
  const M = had(mK, mL);
  return hsic(had(K, M), had(L, M)) / (Math.sqrt(hsic(had(K, mK), had(K, mK)) * hsic(had(L, mL), had(L, mL))) + 1e-6);
}

test("cknna equals the literal O(n³) definition on random features", () => {
  const rng = new Rng(7, "cknna-test");
  for (const [n, dA, dB, k] of [[12, 3, 5, 3], [20, 4, 2, 10], [9, 6, 6, 8]]) {
    const a = randn(rng, n * dA);
    // b correlated with a through its first columns plus noise
    const b = Float64Array.from({ length: n * dB }, (_, i) => a[Math.floor(i / dB) * dA + (i % dB) % dA] + 0.5 * rng.normal());
    close(cknna(a, b, n, dA, dB, { k }), naiveCknna(a, b, n, dA, dB, k), 1e-10, `n=${n} k=${k}`);
  }
});

test("cknna invariants: self ≈ 1, rotation invariance, unrelated ≪ related, k = n−1 is unbiased CKA", () => {
  const rng = new Rng(11, "cknna-inv");
  const n = 64;
  const d = 8;
  const a = randn(rng, n * d);
  close(cknna(a, a, n, d, d), 1, 1e-5, "self");
  // an orthogonal rotation of the features leaves AAᵀ unchanged: a Givens rotation of every pair of columns
  const rot = a.slice();
  const th = 0.7;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < d; c += 2) {
      const x = a[i * d + c];
      const y = a[i * d + c + 1];
      rot[i * d + c] = Math.cos(th) * x - Math.sin(th) * y;
      rot[i * d + c + 1] = Math.sin(th) * x + Math.cos(th) * y;
    }
  }
  const b = Float64Array.from({ length: n * 3 }, (_, i) => a[Math.floor(i / 3) * d + (i % 3)] + 0.3 * rng.normal());
  close(cknna(rot, b, n, d, 3), cknna(a, b, n, d, 3), 1e-9, "rotation");
  close(cknna(rot, a, n, d, d), 1, 1e-5, "rotated self");
  const unrelated = randn(rng, n * 3);
  const related = cknna(a, b, n, d, 3);
  const noise = cknna(a, unrelated, n, d, 3);
  assert.ok(related > 0.3, `related ${related}`);
  assert.ok(Math.abs(noise) < 0.15 && noise < related - 0.25, `unrelated ${noise} vs related ${related}`);
  // k = n − 1: every mask is all ones off the diagonal, so CKNNA = HSIC(K, L)/√(HSIC(K, K)·HSIC(L, L))
  const K = linearKernel(a, n, d);
  const L = linearKernel(b, n, 3);
  close(cknna(a, b, n, d, 3, { k: n - 1 }), hsicUnbiased(K, L, n) / (Math.sqrt(hsicUnbiased(K, K, n) * hsicUnbiased(L, L, n)) + 1e-6), 1e-12, "CKA");
});

test("cknna rejects bad shapes, k ≥ n, too few items and non-finite values, naming them", () => {
  const a = new Float64Array(12);
  assert.throws(() => cknna(a, a, 6, 2, 3), /b has 12 values; expected n·dB = 6·3 = 18/);
  assert.throws(() => cknna(a.subarray(0, 10), a, 6, 2, 2), /a has 10 values; expected n·dA = 6·2 = 12/);
  assert.throws(() => cknna(a, a, 6, 2, 2, { k: 6 }), /k=6 neighbours with n=6 items; expected an integer 1 ≤ k < n/);
  assert.throws(() => cknna(a, a, 6, 2, 2, { k: 0 }), /k=0/);
  assert.throws(() => cknna(a.subarray(0, 6), a.subarray(0, 6), 3, 2, 2, { k: 1 }), /n=3 items; the unbiased HSIC needs n ≥ 4/);
  assert.throws(() => cknna(a, a, 6, 0, 2), /feature width 0/);
  const bad = a.slice();
  bad[5] = NaN;
  assert.throws(() => cknna(bad, a, 6, 2, 2, { k: 2 }), /a\[2, 1\] = NaN/);
});
