/**
 * Classifier-free guidance on velocities (channels last):
 *
 *   v = v_u + s·(v_c − v_u)
 *
 * s = 1 returns the conditional velocity. By default every channel is guided (our choice). The official DiT
 * `forward_with_cfg` guides only the first 3 of the 4 latent channels (a legacy of DiT's RGB-like SD-VAE code path)
 * and passes the last channel through from the conditional half; `guidedChannels: 3` reproduces that quirk.
 * The paper's released config uses s = 1 (no guidance), where both choices agree.
 */
import * as tf from "@tensorflow/tfjs";

export interface GuidanceOptions {
  /** guide only channels [0, guidedChannels) and keep the rest conditional; default: all channels */
  guidedChannels?: number;
}

/** Guided velocity from the conditional and unconditional predictions [B, ..., C]. */
export function guideVelocity(vCond: tf.Tensor, vUncond: tf.Tensor, scale: number, opts: GuidanceOptions = {}): tf.Tensor {
  if (vCond.shape.join() !== vUncond.shape.join()) throw new Error(`guideVelocity: conditional [${vCond.shape}] and unconditional [${vUncond.shape}] differ in shape`);
  if (!Number.isFinite(scale)) throw new Error(`guideVelocity: scale=${scale} must be a finite number`);
  const C = vCond.shape[vCond.rank - 1];
  const g = opts.guidedChannels ?? C;
  if (!Number.isInteger(g) || g < 0 || g > C) throw new Error(`guideVelocity: guidedChannels=${g} must be an integer in [0, ${C}]`);
  return tf.tidy(() => {
    if (scale === 1 || g === 0) return tf.clone(vCond);
    const guided = tf.add(vUncond, tf.mul(tf.sub(vCond, vUncond), scale));
    if (g === C) return guided;
    const begin = new Array(vCond.rank).fill(0);
    const head = tf.slice(guided, begin, [...vCond.shape.slice(0, -1), g]);
    const tail = tf.slice(vCond, [...begin.slice(0, -1), g], [...vCond.shape.slice(0, -1), C - g]);
    return tf.concat([head, tail], -1);
  });
}
