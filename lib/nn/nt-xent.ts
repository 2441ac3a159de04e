/**
 * NT-Xent, the contrastive loss of SimCLR (Chen et al. 2020): 2N embeddings, rows i and i+N are two views of one
 * image.
 *   u_i = z_i / ‖z_i‖,   s_ij = u_i·u_j / τ   (s_ii = −∞)
 *   ℓ_i = −s_{i,p(i)} + log Σ_{j≠i} exp(s_ij),   p(i) = (i + N) mod 2N
 *   loss = (1/2N) Σ_i ℓ_i
 * z [2N, P] → scalar; its minimum −log(1)… is approached when each view is closest to its partner. Matmuls through
 * nn/matmul (wasm-fast gradients).
 */
import * as tf from "@tensorflow/tfjs";
import { matmul, swapLast } from "./matmul";

/** The NT-Xent loss of paired embeddings z [2N, P] (rows i and i+N are views of one image) at temperature τ. */
export function ntXent(z: tf.Tensor2D, temperature = 0.2): tf.Scalar {
  const [M] = z.shape;
  if (!(M >= 4 && M % 2 === 0)) throw new Error(`ntXent: ${M} embeddings; expected an even number ≥ 4 (two views of ≥ 2 images)`);
  if (!(temperature > 0)) throw new Error(`ntXent: temperature=${temperature} must be > 0`);
  const N = M / 2;
  const partner = Int32Array.from({ length: M }, (_, i) => (i + N) % M);
  return tf.tidy(() => {
    const u = tf.div(z, tf.sqrt(tf.add(tf.sum(tf.mul(z, z), 1, true), 1e-12)));
    const s = tf.sub(tf.div(matmul(u, swapLast(u)), temperature), tf.mul(tf.eye(M), 1e9));
    const pos = tf.sum(tf.mul(s, tf.cast(tf.oneHot(tf.tensor1d(partner, "int32"), M), "float32")), 1);
    return tf.mean(tf.sub(tf.logSumExp(s, 1), pos)) as tf.Scalar;
  });
}
