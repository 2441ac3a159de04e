/**
 * Flow-matching losses on a predicted velocity v̂ and the target u = x₁ − x₀, both [B, ..., C] (channels last).
 *
 *   mse    = mean((v̂ − u)²)                                     over every element
 *   cosine = mean over positions of (1 − cos(v̂, u)), cos taken across the channel axis (the last one):
 *            cos(a, b) = a·b / (‖a‖_ε·‖b‖_ε),  ‖a‖_ε = √(Σa² + ε)   (ε = 1e-8)
 *            torch's F.cosine_similarity clamps the norms at ε instead; the smooth form here agrees with it unless a
 *            vector is shorter than ~1e-4, and keeps the gradient finite where v̂ = 0 exactly (the DiT's zero-init
 *            output at step 0), where √ of the clamped form has an infinite derivative (NaN through 0·∞).
 *   loss   = mse + w·cosine       (the iFSQ DiT uses w = 1; REPA's 0.5·L_REPA would be added by the caller)
 */
import * as tf from "@tensorflow/tfjs";
import { cosineSimilarity } from "../nn/cosine";

export interface FlowLossOptions {
  /** weight w of the cosine term; 0 = plain MSE. Default 1 (the official code adds it). */
  cosineWeight?: number;
  /** ε inside the norms of the cosine; default 1e-8 */
  eps?: number;
}

export interface FlowLoss {
  loss: tf.Scalar;
  mse: tf.Scalar;
  cosine: tf.Scalar;
}

/** Mean over positions of 1 − cos(a, b) across the last axis (nn/cosine). */
export function cosineDistance(a: tf.Tensor, b: tf.Tensor, eps = 1e-8): tf.Scalar {
  if (a.shape.join() !== b.shape.join()) throw new Error(`cosineDistance: shapes differ: [${a.shape}] vs [${b.shape}]`);
  return tf.tidy(() => tf.mean(tf.sub(1, cosineSimilarity(a, b, eps))) as tf.Scalar);
}

/** The flow-matching loss and its parts. */
export function flowMatchingLoss(pred: tf.Tensor, target: tf.Tensor, opts: FlowLossOptions = {}): FlowLoss {
  if (pred.shape.join() !== target.shape.join()) {
    throw new Error(`flowMatchingLoss: prediction [${pred.shape}] and target [${target.shape}] must have the same shape`);
  }
  const w = opts.cosineWeight ?? 1;
  if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`flowMatchingLoss: cosineWeight=${w} must be a finite number ≥ 0`);
  return tf.tidy(() => {
    const d = tf.sub(pred, target);
    const mse = tf.mean(tf.mul(d, d)) as tf.Scalar;
    const cosine = cosineDistance(pred, target, opts.eps ?? 1e-8);
    const loss = (w === 0 ? tf.clone(mse) : tf.add(mse, tf.mul(cosine, w))) as tf.Scalar;
    return { loss, mse, cosine };
  });
}
