/**
 * Inception-style score (Salimans et al. 2016), here from our Fashion-MNIST classifier's softmax instead of
 * Inception's:  IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),  p(y) = mean over the split of p(y|x).
 * As in the reference code the N samples are cut into `splits` equal parts; the mean and standard deviation of the
 * per-split scores are reported. Range: 1 (every image gets the same prediction) … K (confident and balanced).
 */

export interface InceptionScore {
  mean: number;
  std: number;
  splits: number;
}

/** IS of class probabilities [n, k] (rows sum to 1). */
export function inceptionScore(probs: ArrayLike<number>, n: number, k: number, opts: { splits?: number } = {}): InceptionScore {
  const splits = opts.splits ?? 10;
  if (probs.length !== n * k) throw new Error(`inceptionScore: ${probs.length} values do not match [n, k] = [${n}, ${k}]`);
  if (!Number.isInteger(splits) || splits < 1 || splits > n) throw new Error(`inceptionScore: splits=${splits} must be an integer in 1…n=${n}`);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) {
      const p = probs[i * k + j];
      if (!Number.isFinite(p) || p < 0) throw new Error(`inceptionScore: probs[${i}, ${j}]=${p}; expected probabilities`);
      s += p;
    }
    if (Math.abs(s - 1) > 1e-3) throw new Error(`inceptionScore: row ${i} sums to ${s}; expected softmax probabilities summing to 1`);
  }
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const lo = Math.floor((s * n) / splits);
    const hi = Math.floor(((s + 1) * n) / splits);
    const py = new Float64Array(k);
    for (let i = lo; i < hi; i++) for (let j = 0; j < k; j++) py[j] += probs[i * k + j];
    for (let j = 0; j < k; j++) py[j] /= hi - lo;
    let kl = 0;
    for (let i = lo; i < hi; i++) {
      for (let j = 0; j < k; j++) {
        const p = probs[i * k + j];
        if (p > 0) kl += p * (Math.log(p) - Math.log(py[j]));
      }
    }
    scores.push(Math.exp(kl / (hi - lo)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, splits };
}
