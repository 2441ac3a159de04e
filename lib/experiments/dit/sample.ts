/**
 * Sampling from a DiT: Euler integration of the learned velocity from noise (t = 0) to data (t = 1) in latent space,
 * then the tokenizer's decoder, continuous by default (as the paper) or re-quantized to the code grid.
 *
 *   const x = await sampleDiTImages(dit, [0, 1, 2], { steps: 50 });   // [3, 32, 32, 1] on about [−1, 1]
 *
 *   x_{k+1} = x_k + Δt · v̂(x_k, t_k, y),  Δt = 1/steps;  with CFG v̂ = v_null + s·(v_cond − v_null)
 *   latents z = x₁ / m [n, g, g, d] (code units); re-quantized: ẑ = round(clamp(z)·h)/h per channel
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../../rng";
import type { DiT } from "../../models/dit";
import type { Tokenizer } from "../../models/tokenizer";
import type { FSQ } from "../../quant/fsq";
import { sampleFlow } from "../../flow/sampler";
import type { RunEnv } from "../env";
import type { EvalDraw } from "../generator";
import type { DiTConfig } from "./config";

/** A trained (or training) DiT with everything needed to sample from it and evaluate it. */
export interface DiTModel {
  model: DiT;
  tokenizer: Tokenizer;
  config: DiTConfig;
  /** m: latents x₁ = codes·m; samples are divided by m before decoding. */
  latentMultiplier: number;
  classNames: readonly string[];
  /** Where its feature network for gFID is found or trained. */
  env: RunEnv;
}

/**
 * Snaps continuous latents [..., d] (code units) to the nearest code of each channel: round(clamp(z)·h)/h, with
 * clamp to [−1, 1] (odd L) or [−1, (h−1)/h] (even L).
 */
export function snapToCodeGrid(fsq: FSQ, z: tf.Tensor): tf.Tensor {
  const d = fsq.dim;
  if (z.shape[z.rank - 1] !== d) throw new Error(`snapToCodeGrid: latents [${z.shape}] must have d=${d} channels last`);
  return tf.tidy(() => {
    const h = tf.tensor1d([...fsq.halfWidths]);
    const hi = tf.tensor1d(fsq.levels.map((L, j) => (L % 2 === 1 ? 1 : (fsq.halfWidths[j] - 1) / fsq.halfWidths[j])));
    const c = tf.minimum(tf.maximum(z, -1), hi);
    return tf.div(tf.round(tf.mul(c, h)), h);
  });
}

export interface DiTSampleOptions {
  /** Euler steps (default: the config's evalSteps). */
  steps?: number;
  /** CFG scale (default: the config's evalCfgScale; 1 = conditional model). */
  cfgScale?: number;
  /** Channels CFG guides (default: the config's guidedChannels; 0 = all). */
  guidedChannels?: number;
  seed?: number;
  /** Samples integrated together (default: the config's sampleBatch). */
  batchSize?: number;
  /** Called after each Euler step of each batch. */
  onStep?: (step: number) => void;
}

/** Settings of a sampling call, defaults filled in from the config. */
export interface DiTSampling {
  steps: number;
  cfgScale: number;
  guidedChannels: number;
}

/** The settings of a sampling call: options over the config's defaults (steps must be a positive integer). */
export function samplingOf(dit: DiTModel, o: DiTSampleOptions): DiTSampling {
  const c = dit.config;
  const steps = o.steps ?? c.evalSteps;
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`dit: steps=${steps} must be a positive integer (Euler steps from noise to data)`);
  return { steps, cfgScale: o.cfgScale ?? c.evalCfgScale, guidedChannels: o.guidedChannels ?? c.guidedChannels };
}

/**
 * Latents for the given classes (in [0, K); K = the null class, i.e. unconditional), in code units (the sampled
 * x₁ divided by m), [n, g, g, d]. Each batch b starts from the noise of mixSeed(seed, "batch", b).
 */
export function sampleDiTLatents(dit: DiTModel, classes: ArrayLike<number>, opts: DiTSampleOptions = {}): tf.Tensor4D {
  const s = samplingOf(dit, opts);
  const bs = opts.batchSize ?? dit.config.sampleBatch;
  const cls = Array.from(classes);
  if (cls.length === 0) throw new Error("dit: no classes to sample");
  const K = dit.model.arch.numClasses;
  cls.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > K) throw new Error(`dit: classes[${i}]=${c} is out of range; expected an integer in [0, ${K}] (${K} = unconditional)`);
  });
  const parts: tf.Tensor4D[] = [];
  try {
    for (let lo = 0, b = 0; lo < cls.length; lo += bs, b++) {
      const y = tf.tensor1d(cls.slice(lo, lo + bs), "int32");
      try {
        const x = sampleFlow(dit.model, y, dit.model.latentShape, {
          steps: s.steps,
          cfgScale: s.cfgScale,
          guidedChannels: s.guidedChannels > 0 ? s.guidedChannels : undefined,
          seed: mixSeed(opts.seed ?? 0, "batch", b),
          onStep: opts.onStep ? (k) => opts.onStep!(k) : undefined,
        });
        parts.push(tf.tidy(() => tf.div(x, dit.latentMultiplier) as tf.Tensor4D));
        x.dispose();
      } finally {
        y.dispose();
      }
    }
    return parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor4D);
  } finally {
    if (parts.length > 1) tf.dispose(parts);
  }
}

/** Latents (code units) → images [n, S, S, C] through the tokenizer's decoder; `requantize` snaps to the code grid first. */
export function decodeDiTLatents(dit: DiTModel, latents: tf.Tensor4D, opts: { requantize?: boolean } = {}): tf.Tensor4D {
  return tf.tidy(() => dit.tokenizer.decode(opts.requantize ? (snapToCodeGrid(dit.tokenizer.fsq, latents) as tf.Tensor4D) : latents));
}

/** The in-run evaluation's draw (generator.ts EvalDraw): the config's Euler steps, continuous decoding, CFG scale `cfgScale`. */
export function ditEvalDraw(dit: DiTModel): EvalDraw {
  return (classes, seed, cfgScale) => sampleDiTImages(dit, classes, { cfgScale, seed, batchSize: dit.config.sampleBatch });
}

/** Samples images for the given classes: Euler in latent space, then decoding (continuous by default). */
export async function sampleDiTImages(dit: DiTModel, classes: ArrayLike<number>, opts: DiTSampleOptions & { requantize?: boolean } = {}): Promise<tf.Tensor4D> {
  const z = sampleDiTLatents(dit, classes, opts);
  try {
    return decodeDiTLatents(dit, z, opts);
  } finally {
    z.dispose();
  }
}
