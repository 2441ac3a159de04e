/**
 * The linear flow-matching path (SiT's ICPlan, as in the iFSQ DiT code): noise x₀ ~ N(0, I) at t = 0, data x₁ at t = 1.
 *
 *   x_t = t·x₁ + (1 − t)·x₀          u = dx_t/dt = x₁ − x₀   (the velocity target)
 *
 * Tensors are [B, ...] (latents [B, H, W, C]); t is [B] (one time per sample), broadcast over the other axes.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../rng";
import { sampleTimesteps, type TimestepOptions } from "./timesteps";
import { drawRows, type BatchRows } from "../batch-rows";

/** t [B] → [B, 1, …, 1] (rank `rank`) so it broadcasts over a [B, ...] tensor. */
export function broadcastTime(t: tf.Tensor, rank: number): tf.Tensor {
  if (t.rank !== 1) throw new Error(`flow: t must be [B], got [${t.shape}]`);
  return tf.reshape(t, [t.shape[0], ...new Array(rank - 1).fill(1)]);
}

function checkPair(x0: tf.Tensor, x1: tf.Tensor, t?: tf.Tensor): void {
  if (x0.shape.join() !== x1.shape.join()) throw new Error(`flow: noise [${x0.shape}] and data [${x1.shape}] must have the same shape`);
  if (t && (t.rank !== 1 || t.shape[0] !== x1.shape[0])) throw new Error(`flow: t has shape [${t.shape}]; expected [${x1.shape[0]}] (one time per sample)`);
}

/** x_t = t·x₁ + (1 − t)·x₀, with t [B]. */
export function interpolate(x0: tf.Tensor, x1: tf.Tensor, t: tf.Tensor): tf.Tensor {
  checkPair(x0, x1, t);
  return tf.tidy(() => {
    const tb = broadcastTime(t, x1.rank);
    return tf.add(tf.mul(tb, x1), tf.mul(tf.sub(1, tb), x0));
  });
}

/** u = x₁ − x₀ (constant along each straight path). */
export function velocityTarget(x0: tf.Tensor, x1: tf.Tensor): tf.Tensor {
  checkPair(x0, x1);
  return tf.sub(x1, x0);
}

/** One flow-matching training example per data sample. */
export interface FlowPair {
  /** t [B] */
  t: tf.Tensor1D;
  /** noise x₀, same shape as x₁ */
  x0: tf.Tensor;
  /** x_t */
  xt: tf.Tensor;
  /** u = x₁ − x₀ */
  target: tf.Tensor;
}

/**
 * Draws t (logit-normal by default) and noise from `seed` and builds (t, x₀, x_t, u) for data x₁ [B, ...].
 * Same seed ⇒ same t and noise. With `rows` (a data-parallel shard of a larger batch) t and x₀ are drawn for the
 * whole batch and cut to the shard's rows. The caller owns the returned tensors.
 */
export function flowPair(x1: tf.Tensor, seed: number, opts: TimestepOptions = {}, rows?: BatchRows): FlowPair {
  return tf.tidy(() => {
    const B = x1.shape[0];
    const t = drawRows([B], rows, (s) => sampleTimesteps(s[0], mixSeed(seed, "t"), opts));
    const x0 = drawRows(x1.shape, rows, (s) => tf.randomNormal(s, 0, 1, "float32", mixSeed(seed, "noise")));
    return { t, x0, xt: interpolate(x0, x1, t), target: velocityTarget(x0, x1) };
  });
}
