/**
 * Improved precision and recall (Kynkäänniemi et al. 2019), k-NN manifold estimate with k = 3 as in the paper's
 * evaluator. The manifold of a feature set Φ is the union of balls B(φ, r_k(φ)), r_k(φ) = distance from φ to its k-th
 * nearest neighbour in Φ (itself excluded).
 *   precision = fraction of generated features inside the real manifold   (fidelity),
 *   recall    = fraction of real features inside the generated manifold   (coverage).
 * Pairwise squared distances ‖a‖² + ‖b‖² − 2a·b come from tfjs matrix products in row blocks (forward only), on
 * features centred by the real mean to limit float32 cancellation.
 */
import * as tf from "@tensorflow/tfjs";

export interface PrecisionRecall {
  precision: number;
  recall: number;
  k: number;
}

interface Feats {
  x: Float32Array;
  n: number;
  d: number;
}

const BLOCK = 512;

/** Squared distances of rows a[lo:hi] to all rows of b, as a [hi−lo, nb] Float32Array. */
function distBlock(a: Feats, lo: number, hi: number, bT: tf.Tensor2D, bNorm: tf.Tensor2D): Float32Array {
  const d2 = tf.tidy(() => {
    const blk = tf.tensor2d(a.x.subarray(lo * a.d, hi * a.d), [hi - lo, a.d]);
    const an = tf.sum(tf.mul(blk, blk), 1, true); // [m, 1]
    const dot = tf.matMul(blk, bT); // [m, nb] (bT materialised [d, nb]: plain product)
    return tf.relu(tf.add(tf.sub(an, tf.mul(dot, 2)), bNorm)); // [m, nb]
  });
  const out = d2.dataSync() as Float32Array;
  d2.dispose();
  return out;
}

function prepare(b: Feats): { bT: tf.Tensor2D; bNorm: tf.Tensor2D } {
  return tf.tidy(() => {
    const t = tf.tensor2d(b.x, [b.n, b.d]);
    return { bT: tf.transpose(t) as tf.Tensor2D, bNorm: tf.reshape(tf.sum(tf.mul(t, t), 1), [1, b.n]) as tf.Tensor2D };
  });
}

/** Squared radius of each point's k-NN ball within its own set (self excluded). */
export function knnRadii(f: Feats, k: number): Float32Array {
  if (f.n <= k) throw new Error(`precision/recall: ${f.n} samples; the k-NN radius needs more than k=${k}`);
  const { bT, bNorm } = prepare(f);
  const radii = new Float32Array(f.n);
  const best = new Float64Array(k + 1);
  try {
    for (let lo = 0; lo < f.n; lo += BLOCK) {
      const hi = Math.min(f.n, lo + BLOCK);
      const dist = distBlock(f, lo, hi, bT, bNorm);
      for (let i = lo; i < hi; i++) {
        // k+1 smallest of the row (the point itself is one of them, at distance ≈ 0): insertion into a sorted buffer
        best.fill(Infinity);
        const row = (i - lo) * f.n;
        for (let j = 0; j < f.n; j++) {
          const v = j === i ? 0 : dist[row + j];
          if (v < best[k]) {
            let p = k;
            while (p > 0 && best[p - 1] > v) {
              best[p] = best[p - 1];
              p--;
            }
            best[p] = v;
          }
        }
        radii[i] = best[k];
      }
    }
  } finally {
    tf.dispose([bT, bNorm]);
  }
  return radii;
}

/** Fraction of rows of q inside the union of balls (manifold of `ref` with squared radii r2). */
function coverage(q: Feats, ref: Feats, r2: Float32Array): number {
  const { bT, bNorm } = prepare(ref);
  let inside = 0;
  try {
    for (let lo = 0; lo < q.n; lo += BLOCK) {
      const hi = Math.min(q.n, lo + BLOCK);
      const dist = distBlock(q, lo, hi, bT, bNorm);
      for (let i = 0; i < hi - lo; i++) {
        const row = i * ref.n;
        for (let j = 0; j < ref.n; j++) {
          if (dist[row + j] <= r2[j]) {
            inside++;
            break;
          }
        }
      }
    }
  } finally {
    tf.dispose([bT, bNorm]);
  }
  return inside / q.n;
}

function centred(x: ArrayLike<number>, n: number, d: number, mean: Float64Array, what: string): Feats {
  if (x.length !== n * d) throw new Error(`${what}: ${x.length} values do not match [n, d] = [${n}, ${d}]`);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) throw new Error(`${what}: value[${i}] is ${v}; expected finite numbers`);
    out[i] = v - mean[i % d];
  }
  return { x: out, n, d };
}

/**
 * Precision and recall of generated features `fake` [nFake, d] against real features `real` [nReal, d].
 * Cost O((nReal + nFake)² · d); 5000 + 5000 samples of d = 128 take a few seconds on wasm.
 */
export function precisionRecall(
  real: ArrayLike<number>,
  nReal: number,
  fake: ArrayLike<number>,
  nFake: number,
  d: number,
  opts: { k?: number } = {},
): PrecisionRecall {
  const k = opts.k ?? 3;
  if (!Number.isInteger(k) || k < 1) throw new Error(`precisionRecall: k=${k} must be a positive integer`);
  const mean = new Float64Array(d);
  for (let i = 0; i < nReal * d && i < real.length; i++) mean[i % d] += real[i] / nReal;
  const r = centred(real, nReal, d, mean, "precisionRecall(real)");
  const f = centred(fake, nFake, d, mean, "precisionRecall(fake)");
  const rReal = knnRadii(r, k);
  const rFake = knnRadii(f, k);
  return { precision: coverage(f, r, rReal), recall: coverage(r, f, rFake), k };
}
