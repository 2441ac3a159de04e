/**
 * Training times for flow matching.
 *
 *   logit-normal (the iFSQ DiT's `use_lognorm`, SD3): t = σ(μ + s·n), n ~ N(0, 1); μ = 0, s = 1 by default
 *   uniform:      t ~ U(0, 1)
 *
 * Both are seeded (same seed ⇒ same times, on every backend) and return t [n] in (0, 1).
 */
import * as tf from "@tensorflow/tfjs";

export type TimestepDistribution = "logit-normal" | "uniform";

export interface TimestepOptions {
  /** default "logit-normal" */
  distribution?: TimestepDistribution;
  /** μ of the logit-normal; default 0 */
  mean?: number;
  /** s of the logit-normal; default 1 */
  std?: number;
}

/** n training times t ∈ (0, 1) from `seed`. */
export function sampleTimesteps(n: number, seed: number, opts: TimestepOptions = {}): tf.Tensor1D {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`sampleTimesteps: n=${n} must be a positive integer`);
  const dist = opts.distribution ?? "logit-normal";
  if (dist === "uniform") return tf.randomUniform([n], 0, 1, "float32", seed) as tf.Tensor1D;
  if (dist !== "logit-normal") throw new Error(`sampleTimesteps: distribution=${JSON.stringify(dist)}; expected "logit-normal" or "uniform"`);
  const std = opts.std ?? 1;
  if (!(std > 0)) throw new Error(`sampleTimesteps: std=${std} must be > 0`);
  return tf.tidy(() => tf.sigmoid(tf.randomNormal([n], opts.mean ?? 0, std, "float32", seed)) as tf.Tensor1D);
}

/** Density of the logit-normal at t ∈ (0, 1): φ((logit t − μ)/s) / (s·t·(1 − t)). */
export function logitNormalDensity(t: number, mean = 0, std = 1): number {
  if (!(t > 0 && t < 1)) return 0;
  const z = (Math.log(t / (1 - t)) - mean) / std;
  return Math.exp(-0.5 * z * z) / (Math.sqrt(2 * Math.PI) * std * t * (1 - t));
}
