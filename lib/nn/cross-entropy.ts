/**
 * Softmax cross-entropy of integer targets as one custom op (./custom):
 *
 *   loss = (1/N) Σ_i [ logsumexp(z_i) − z_i[t_i] ],   z [N, V] logits, t int32 [N] in [0, V)
 *   ∂loss/∂z_i = (softmax(z_i) − onehot(t_i)) / N
 *
 * The composed form (logSoftmax, a float one-hot, multiply, sum) makes about a dozen passes over the N×V logits
 * forward and backward, plus copies of saved tensors on wasm. Here: forward p = softmax(z) (one XNNPACK kernel on
 * wasm; wasm's Exp is a scalar loop, ~7× slower per element), the row maxima m of z and of p, and
 *   logsumexp(z_i) = m_i − log(max_j p_ij)      (the largest p is exp(0)/Σ exp(z − m), never underflows),
 * the picked logits by a gather of N values; backward one multiply p·dy/N and a scatter of the N target entries.
 */
import * as tf from "@tensorflow/tfjs";
import { customOp } from "./custom";

/** Mean softmax cross-entropy over the rows of logits [N, V] with int32 targets [N] (values are not range-checked). */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  if (logits.rank !== 2) throw new Error(`softmaxCrossEntropy: logits must be [N, V], got [${logits.shape}]`);
  if (targets.rank !== 1 || targets.dtype !== "int32" || targets.shape[0] !== logits.shape[0]) {
    throw new Error(`softmaxCrossEntropy: targets must be int32 [${logits.shape[0]}], got ${targets.dtype} [${targets.shape}]`);
  }
  const [N, V] = logits.shape;
  return customOp(
    [logits],
    (save) => {
      const flatIdx = tf.tidy(() => tf.add(targets, tf.mul(tf.range(0, N, 1, "int32"), tf.scalar(V, "int32")))); // i·V + t_i
      const { p, loss } = tf.tidy(() => {
        const p = tf.softmax(logits);
        const lse = tf.sub(tf.max(logits, 1), tf.log(tf.max(p, 1))); // [N]
        const picked = tf.gather(tf.reshape(logits, [N * V]), flatIdx); // z_i[t_i]
        return { p, loss: tf.mean(tf.sub(lse, picked)) };
      });
      save([p, flatIdx]);
      tf.dispose([p, flatIdx]);
      return loss;
    },
    (dy, [sp, flatIdx]) => [
      () =>
        tf.tidy(() => {
          const scale = tf.div(dy, N); // scalar
          const p = tf.mul(sp, scale); // softmax · dy/N
          const rows = tf.reshape(flatIdx, [N, 1]);
          const hot = tf.scatterND(rows, tf.broadcastTo(tf.reshape(scale, [1]), [N]), [N * V]);
          return tf.sub(p, tf.reshape(hot, [N, V]));
        }),
    ],
  ) as tf.Scalar;
}
