/**
 * Activations with closed-form gradients (one custom op each, see ./custom): fewer kernels and no saved-tensor
 * copies than tfjs's autodiff of the composed formula (on wasm every saved input of a built-in op is copied).
 *   silu(x) = x·σ(x),                 silu'(x) = σ(x)·(1 + x·(1 − σ(x)))
 *   gelu(x) = ½x(1 + tanh(u)) = x·σ(2u),  u = √(2/π)(x + 0.044715x³)   (tanh approximation; 1 + tanh(u) = 2σ(2u))
 *   gelu'(x) = σ(v)·(1 + x·(1 − σ(v))·v'),  v = 2u,  v' = 2√(2/π)(1 + 3·0.044715x²)
 * σ runs on XNNPACK on wasm (about twice as fast as tanh there). Written x·x·x, never pow (slow on wasm).
 */
import * as tf from "@tensorflow/tfjs";
import { customOp } from "./custom";

/** SiLU (swish): x·σ(x). */
export function silu<T extends tf.Tensor>(x: T): T {
  return customOp(
    [x],
    (save) => {
      const s = tf.sigmoid(x);
      save([x, s]);
      return tf.mul(x, s);
    },
    (dy, [sx, s]) => [() => tf.tidy(() => tf.mul(dy, tf.mul(s, tf.add(tf.mul(sx, tf.sub(1, s)), 1))))],
  ) as T;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/** GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))), computed as x·σ(2u). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return customOp(
    [x],
    (save) => {
      const s = tf.tidy(() => tf.sigmoid(tf.mul(x, tf.add(tf.mul(tf.mul(x, x), 2 * GELU_C * GELU_A), 2 * GELU_C))));
      save([x, s]);
      return tf.mul(x, s);
    },
    (dy, [sx, s]) => [
      () =>
        tf.tidy(() => {
          const dv = tf.add(tf.mul(tf.mul(sx, sx), 6 * GELU_C * GELU_A), 2 * GELU_C); // v'
          return tf.mul(dy, tf.mul(s, tf.add(tf.mul(tf.mul(sx, tf.sub(1, s)), dv), 1)));
        }),
    ],
  ) as T;
}
