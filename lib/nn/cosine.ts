/**
 * Cosine similarity across the last axis, smooth at zero:
 *   cos(a, b) = a·b / (‖a‖_ε·‖b‖_ε),  ‖a‖_ε = √(Σa² + ε)   (ε = 1e-8)
 * a, b [..., C] → [...]. torch's F.cosine_similarity clamps the norms at ε instead; this form agrees with it unless a
 * vector is shorter than ~1e-4, and keeps the gradient finite at a = 0 exactly (a zero-initialised output).
 * Used by the flow-matching cosine term (flow/loss) and the REPA alignment (nn/repa).
 */
import * as tf from "@tensorflow/tfjs";

/** cos(a, b) across the last axis: [..., C] × [..., C] → [...]. */
export function cosineSimilarity(a: tf.Tensor, b: tf.Tensor, eps = 1e-8): tf.Tensor {
  if (a.shape.join() !== b.shape.join()) throw new Error(`cosineSimilarity: shapes differ: [${a.shape}] vs [${b.shape}]`);
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(a, b), -1);
    const na = tf.sqrt(tf.add(tf.sum(tf.mul(a, a), -1), eps));
    const nb = tf.sqrt(tf.add(tf.sum(tf.mul(b, b), -1), eps));
    return tf.div(dot, tf.mul(na, nb));
  });
}
