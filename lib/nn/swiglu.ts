/**
 * SwiGLU feed-forward (LlamaGen, the iFSQ DiT):  y = (silu(x·W₁) ⊙ (x·W₃))·W₂,  x [..., d] → [..., d].
 */
import * as tf from "@tensorflow/tfjs";
import { linear, linearSplit, LinearParams } from "./matmul";
import { silu } from "./activations";
import { linearParams, LayerParamOptions } from "./layers";
import type { ParamScope } from "./params";

export interface SwiGLUParams {
  /** gate projection [d, hidden] */
  w1: LinearParams;
  /** up projection [d, hidden] */
  w3: LinearParams;
  /** down projection [hidden, d] */
  w2: LinearParams;
}

/**
 * Hidden width: ⌊2/3 · ratio · d⌋, rounded up to a multiple of `multipleOf`.
 * LlamaGen: ratio 4, multipleOf 256 (d = 1024 → 2816). DiT: ratio 4, multipleOf 1 (d = 1024 → 2730).
 */
export function swigluHidden(dim: number, opts: { ratio?: number; multipleOf?: number } = {}): number {
  const h = Math.floor((2 * (opts.ratio ?? 4) * dim) / 3);
  const m = opts.multipleOf ?? 1;
  return m * Math.ceil(h / m);
}

export function swigluParams(scope: ParamScope, dim: number, hidden: number, opts: LayerParamOptions = {}): SwiGLUParams {
  return {
    w1: linearParams(scope.scope("w1"), dim, hidden, opts),
    w3: linearParams(scope.scope("w3"), dim, hidden, opts),
    w2: linearParams(scope.scope("w2"), hidden, dim, opts),
  };
}

export function swiglu<T extends tf.Tensor>(x: T, p: SwiGLUParams): T {
  return tf.tidy(() => {
    // W₁ and W₃ read the same x: one two-output op (linearSplit) transposes x once in the backward pass, not twice
    const h = p.w1.w.shape[1] as number;
    const both: LinearParams = { w: tf.concat([p.w1.w, p.w3.w], 1) };
    if (p.w1.b && p.w3.b) both.b = tf.concat([p.w1.b, p.w3.b]);
    const [a, c] = p.w1.b && !p.w3.b || !p.w1.b && p.w3.b ? [linear(x, p.w1), linear(x, p.w3)] : linearSplit(x, both, [h, h]);
    return linear(tf.mul(silu(a), c), p.w2) as T;
  });
}
