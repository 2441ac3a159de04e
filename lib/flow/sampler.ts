/**
 * Class-conditional sampling: classifier-free guidance around any velocity model, then Euler from noise to data.
 *
 *   v(x, t) = v_u + s·(v_c − v_u),   v_c = model(x, t, y),  v_u = model(x, t, null class)
 *
 * Both halves run as one doubled batch [x; x] with labels [y; ∅]. With s = 1 the model runs once, conditionally,
 * so scale 1 is exactly the conditional model. The model is anything with `velocity(x, t [B], y int32 [B])` and a
 * `nullClass` (the DiT of lib/models/dit.ts fits).
 */
import * as tf from "@tensorflow/tfjs";
import { guideVelocity, type GuidanceOptions } from "./cfg";
import { eulerSample, DEFAULT_EULER_STEPS, type VelocityFn } from "./euler";

/** What the sampler needs from a class-conditional velocity model. */
export interface ConditionalVelocityModel {
  velocity(x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor;
  /** The label meaning "no class". */
  readonly nullClass: number;
}

export interface GuidedOptions extends GuidanceOptions {
  /** guidance scale s; 1 = the conditional model (default), 0 = the unconditional one */
  cfgScale?: number;
}

/** The (guided) velocity field for fixed labels y [B], as the Euler sampler's VelocityFn. */
export function guidedVelocityFn(model: ConditionalVelocityModel, labels: tf.Tensor1D, opts: GuidedOptions = {}): VelocityFn {
  const s = opts.cfgScale ?? 1;
  if (!Number.isFinite(s)) throw new Error(`sampler: cfgScale=${s} must be a finite number`);
  return (x, t) =>
    tf.tidy(() => {
      const B = x.shape[0];
      if (labels.shape[0] !== B) throw new Error(`sampler: ${labels.shape[0]} labels for a batch of ${B}`);
      if (s === 1) return model.velocity(x, tf.fill([B], t) as tf.Tensor1D, labels);
      const x2 = tf.concat([x, x], 0);
      const y2 = tf.concat([labels, tf.fill([B], model.nullClass, "int32")], 0) as tf.Tensor1D;
      const v = model.velocity(x2, tf.fill([2 * B], t) as tf.Tensor1D, y2);
      const [vc, vu] = tf.split(v, 2, 0);
      return guideVelocity(vc, vu, s, opts);
    });
}

export interface FlowSampleOptions extends GuidedOptions {
  /** Euler steps N (default 50; the paper uses 250) */
  steps?: number;
  /** seed of the starting noise x₀ ~ N(0, I) */
  seed?: number;
  /** called after each Euler step */
  onStep?: (step: number, x: tf.Tensor) => void;
}

/**
 * Samples latents [B, ...shape] for labels y [B]: x₀ ~ N(0, I) from the seed, then N Euler steps of the guided
 * velocity. Returns the latents at t = 1 (in the model's latent scale); the caller owns them.
 */
export function sampleFlow(model: ConditionalVelocityModel, labels: tf.Tensor1D, shape: number[], opts: FlowSampleOptions = {}): tf.Tensor {
  const steps = opts.steps ?? DEFAULT_EULER_STEPS;
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`sampler: steps=${steps} must be a positive integer`);
  if (labels.rank !== 1) throw new Error(`sampler: labels must be [B], got [${labels.shape}]`);
  const x0 = tf.randomNormal([labels.shape[0], ...shape], 0, 1, "float32", opts.seed ?? 0);
  try {
    return eulerSample(guidedVelocityFn(model, labels, opts), x0, { steps, onStep: opts.onStep });
  } finally {
    x0.dispose();
  }
}
