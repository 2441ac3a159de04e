/**
 * Adaptive LayerNorm conditioning (DiT's adaLN-Zero).
 *   modulation: [shift, scale, gate, …] = split(Linear(silu(c)), n),   c [B, condDim] → n × [B, D]
 *   modulate(x, shift, scale) = x·(1 + scale) + shift     (per sample, broadcast over tokens)
 *   gate(x, g) = x·g
 * The modulation Linear is zero-initialised, so every gate starts at 0 and a block starts as the identity.
 */
import * as tf from "@tensorflow/tfjs";
import { linear, LinearParams } from "./matmul";
import { silu } from "./activations";
import type { ParamScope } from "./params";

/** [B, D] → [B, 1, D] so it broadcasts over x [B, T, D]; [B, 1, D] or [D] pass through. */
function perSample(t: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return t.rank === 2 && x.rank === 3 ? tf.expandDims(t, 1) : t;
}

/** x [B, T, D] (or [B, D]), shift/scale [B, D] → x·(1 + scale) + shift. */
export function modulate<T extends tf.Tensor>(x: T, shift: tf.Tensor, scale: tf.Tensor): T {
  return tf.tidy(() => tf.add(tf.mul(x, tf.add(perSample(scale, x), 1)), perSample(shift, x)) as T);
}

/** x [B, T, D] (or [B, D]), g [B, D] → x·g. */
export function gate<T extends tf.Tensor>(x: T, g: tf.Tensor): T {
  return tf.mul(x, perSample(g, x)) as T;
}

/** Zero-initialised modulation Linear condDim → n·dim (weight and bias). */
export function adaLNParams(scope: ParamScope, condDim: number, dim: number, n: number): LinearParams {
  return { w: scope.add("w", [condDim, n * dim], "zeros"), b: scope.add("b", [n * dim], "zeros") };
}

/** n modulation vectors [B, D] from the conditioning c [B, condDim]: split(Linear(silu(c)), n). */
export function adaLNModulation(c: tf.Tensor, p: LinearParams, n: number): tf.Tensor2D[] {
  if (c.rank !== 2) throw new Error(`adaLNModulation: conditioning must be [B, condDim], got [${c.shape}]`);
  const out = linear(silu(c), p);
  return tf.split(out, n, 1) as tf.Tensor2D[];
}
