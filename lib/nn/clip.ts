/**
 * Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_):
 *
 *   n = √(Σᵢ ‖gᵢ‖²)      c = min(1, maxNorm / (n + 1e-6))      gᵢ ← c·gᵢ
 *
 * tfjs has no clipByGlobalNorm. Works on gradients keyed by parameter name.
 */
import * as tf from "@tensorflow/tfjs";

/** √(Σ ‖gᵢ‖²) over all gradients (a new scalar; 0 for an empty set). */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.mul(g, g)));
    return sq.length === 0 ? tf.scalar(0) : (tf.sqrt(tf.addN(sq)) as tf.Scalar);
  });
}

/**
 * Scales the gradients so their global norm is at most `maxNorm`. `maxNorm` ≤ 0 or not finite means "no clipping"
 * (the norm is still computed, for logging). Returns new tensors (the caller owns `grads` and `norm`; the inputs are
 * not disposed), so it fits inside tf.tidy. `knownNorm`: the global norm already computed (returned as `norm`).
 */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number, knownNorm?: tf.Scalar): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  const norm = knownNorm ?? globalNorm(grads);
  const clip = Number.isFinite(maxNorm) && maxNorm > 0;
  const out = tf.tidy(() => {
    const res: Record<string, tf.Tensor> = {};
    if (!clip) {
      for (const [k, g] of Object.entries(grads)) res[k] = tf.clone(g);
      return res;
    }
    const coef = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, tf.scalar(1e-6))));
    for (const [k, g] of Object.entries(grads)) res[k] = tf.mul(g, coef);
    return res;
  });
  return { grads: out, norm };
}
