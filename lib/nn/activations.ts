/** Activations composed from ops every backend differentiates. */
import * as tf from "@tensorflow/tfjs";

/** SiLU (swish): x·σ(x). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x));
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Written x·x·x, not pow (slow on wasm). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const x3 = tf.mul(tf.mul(x, x), x);
    const inner = tf.mul(tf.add(x, tf.mul(x3, 0.044715)), GELU_C);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T;
  });
}
