/**
 * iFSQ (Lin et al. 2026, "iFSQ: Improving FSQ for Image Generation with 1 Line of Code"): the one-line change.
 *
 *   FSQ:   bound(z) = tanh(z + s)·(L−1)(1+ε)/2 − o           (see tanh-bound.ts)
 *   iFSQ:  bound(z) = (2·sigmoid(α·z) − 1)·(L−1)/2,  α = 1.6  (no ε, no shift, no offset ⇒ odd L only)
 *
 * Since 2·sigmoid(2x) − 1 = tanh(x), iFSQ is tanh(0.8·z) scaled to the grid: a flatter map whose output is close to
 * uniform on (−1, 1) when z ~ N(0, 1) (2Φ(z) − 1 would be exactly uniform; σ(1.6 z) ≈ Φ(z) is the logistic
 * approximation of the normal CDF). Shapes: z [..., d] float32 → [..., d], per-channel levels L_j on the last axis.
 */
import * as tf from "@tensorflow/tfjs";

/** The paper's α (official config `act_fun="scale_sigmoid_16"`). */
export const IFSQ_ALPHA = 1.6;

/** Throws unless α is a finite number > 0. */
export function checkAlpha(alpha: number): void {
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha <= 0) {
    throw new Error(`alpha=${String(alpha)} is invalid; expected a finite number > 0 (the paper uses ${IFSQ_ALPHA})`);
  }
}

/** y = 2·sigmoid(α·z) − 1 ∈ (−1, 1), elementwise. */
export function ifsqActivation(z: tf.Tensor, alpha: number = IFSQ_ALPHA): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.mul(tf.sigmoid(tf.mul(z, alpha)), 2), 1));
}

/**
 * iFSQ bound in level units: (2·sigmoid(α·z) − 1)·(L_j − 1)/2 on channel j. z [..., d], levels length d (all odd).
 * Rounding the result gives integers in {−(L−1)/2, …, (L−1)/2}.
 */
export function ifsqBound(z: tf.Tensor, levels: readonly number[], alpha: number = IFSQ_ALPHA): tf.Tensor {
  const scale = levels.map((L) => (L - 1) / 2);
  return tf.tidy(() => {
    const y = ifsqActivation(z, alpha);
    return scale.every((s) => s === scale[0]) ? tf.mul(y, scale[0]) : tf.mul(y, tf.tensor1d(scale));
  });
}
