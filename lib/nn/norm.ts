/**
 * Normalisations (NHWC / channels-last).
 *   groupNorm: channels split into G groups; each (sample, group) normalised over H·W·(C/G); then ·γ + β.
 *   rmsNorm:   x / √(mean(x², last axis) + ε) · γ.
 *   layerNorm: (x − mean) / √(var + ε) · γ + β over the last axis.
 */
import * as tf from "@tensorflow/tfjs";

export interface NormParams {
  gamma: tf.Tensor;
  beta: tf.Tensor;
}

/** GroupNorm of x [B, H, W, C] (or [B, T, C]) with `groups` groups; gamma/beta [C]. */
export function groupNorm<T extends tf.Tensor>(x: T, p: NormParams, groups: number, eps = 1e-6): T {
  const C = x.shape[x.rank - 1];
  if (x.rank < 2) throw new Error(`groupNorm: x must be [B, ..., C], got [${x.shape}]`);
  if (!Number.isInteger(groups) || groups <= 0 || C % groups !== 0) {
    throw new Error(`groupNorm: groups=${groups} must divide the ${C} channels`);
  }
  return tf.tidy(() => {
    const B = x.shape[0];
    const g = tf.reshape(x, [B, -1, groups, C / groups]);
    const { mean, variance } = tf.moments(g, [1, 3], true);
    const n = tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(tf.reshape(n, x.shape), p.gamma), p.beta) as T;
  });
}

/** RMSNorm over the last axis; gamma [C] or null (no scale). */
export function rmsNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor | null, eps = 1e-6): T {
  return tf.tidy(() => {
    const ms = tf.mean(tf.mul(x, x), -1, true);
    const n = tf.mul(x, tf.rsqrt(tf.add(ms, eps)));
    return (gamma ? tf.mul(n, gamma) : n) as T;
  });
}

/** LayerNorm over the last axis; gamma/beta [C] each optional. */
export function layerNorm<T extends tf.Tensor>(x: T, p: { gamma?: tf.Tensor; beta?: tf.Tensor } = {}, eps = 1e-5): T {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    let n: tf.Tensor = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    if (p.gamma) n = tf.mul(n, p.gamma);
    if (p.beta) n = tf.add(n, p.beta);
    return n as T;
  });
}
