/**
 * gFID of a DiT (n samples of uniformly drawn classes, generator.ts), its trade-off with the number of Euler steps,
 * and continuous vs re-quantized decoding of the same samples.
 *
 *   const ev = await evaluateDiT(dit, { n: 1000, steps: 50 });   // { gfid, samplesPerSec, … }
 *
 *   off-grid distance of a latent value z (code units, h = ⌊L/2⌋): |z·h − round(z·h)| ∈ [0, ½] bins (uniform ⇒ ¼)
 */
import * as tf from "@tensorflow/tfjs";
import type { FSQ } from "../../quant/fsq";
import type { Sampler } from "../../eval/features";
import type { FeatureNetName } from "../featurenet/config";
import { evaluateSampler, samplerMetrics, sampleClasses, type ExtraGenerationMetrics, type SamplerEvaluation } from "../generator";
import { generatorLabel, samplerManifest } from "../fid-manifests";
import type { FidManifest } from "../../eval/fid-manifest";
import { decodeDiTLatents, sampleDiTImages, sampleDiTLatents, samplingOf, type DiTModel, type DiTSampleOptions, type DiTSampling } from "./sample";

export interface DiTEvaluation extends SamplerEvaluation {
  sampling: DiTSampling & { requantize: boolean };
}

export interface DiTEvalOptions extends DiTSampleOptions, ExtraGenerationMetrics {
  n?: number;
  requantize?: boolean;
  featureNet?: FeatureNetName;
}

/** gFID (vs the Fashion-MNIST test split) and sampling speed of a DiT; sampling defaults from its config. */
export async function evaluateDiT(dit: DiTModel, opts: DiTEvalOptions = {}): Promise<DiTEvaluation> {
  const cfg = dit.config;
  const s = samplingOf(dit, opts);
  const requantize = opts.requantize ?? false;
  const bs = opts.batchSize ?? cfg.sampleBatch;
  const ev = await evaluateSampler(dit.env, (classes, seed) => sampleDiTImages(dit, classes, { ...s, batchSize: bs, requantize, seed }), {
    n: opts.n ?? cfg.evalSamples,
    numClasses: dit.classNames.length,
    seed: opts.seed ?? 0,
    batchSize: bs,
    featureNet: opts.featureNet ?? cfg.featureNet,
    precisionRecall: opts.precisionRecall,
    halves: opts.halves,
    what: "evaluateDiT",
    measured: { generator: generatorLabel("dit", { requantize }), guidanceScale: s.cfgScale, samplingSteps: s.steps, ema: cfg.emaDecay > 0 },
  });
  return { ...ev, sampling: { ...s, requantize } };
}

/** One row of the quality / Euler-steps trade-off. */
export interface StepsRow {
  steps: number;
  gfid: number;
  samplesPerSec: number;
  /** Model evaluations per sample (steps, ×2 with CFG ≠ 1). */
  nfe: number;
  /** How the gFID was measured (its samplingSteps is this row's steps). */
  manifest?: FidManifest;
}

/** gFID and speed for each number of Euler steps (same classes and noise for every row) and, at one of them, the continuous vs re-quantized comparison of the same latents. */
export interface SamplingStudy {
  steps: StepsRow[];
  /** Rows of `ditRequantizeComparison` at `requantizeAt` (null without it). */
  requantize: RequantizeRow[] | null;
}

/**
 * One pass for both sampling tables of a DiT: for each step count, n latents (classes drawn from `seed`, the same
 * classes and noise for every row) are integrated once, decoded and scored; at `requantizeAt` steps the same latents
 * are also decoded after snapping them to the code grid, so that table costs one decoding instead of a second
 * integration (its continuous row is the sweep's row).
 */
export async function ditSamplingStudy(dit: DiTModel, opts: Omit<DiTEvalOptions, "steps" | "requantize"> & { steps: number[]; requantizeAt?: number }): Promise<SamplingStudy> {
  if (!Array.isArray(opts.steps) || opts.steps.length === 0) throw new Error("ditSamplingStudy: steps=[] ; expected at least one number of Euler steps");
  if (opts.requantizeAt !== undefined && !opts.steps.includes(opts.requantizeAt)) {
    throw new Error(`ditSamplingStudy: requantizeAt=${opts.requantizeAt} is not one of steps=[${opts.steps.join(", ")}]`);
  }
  const n = opts.n ?? dit.config.evalSamples;
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`ditSamplingStudy: n=${n} samples; expected a positive integer`);
  const bs = opts.batchSize ?? dit.config.sampleBatch;
  const featureNet = opts.featureNet ?? dit.config.featureNet;
  const classes = sampleClasses(n, dit.classNames.length, opts.seed ?? 0);
  const rows: StepsRow[] = [];
  let requantize: RequantizeRow[] | null = null;
  for (const steps of opts.steps) {
    const s = samplingOf(dit, { ...opts, steps });
    const t0 = performance.now();
    const z = sampleDiTLatents(dit, classes, { ...opts, ...s, batchSize: bs });
    try {
      const integrate = (performance.now() - t0) / 1000;
      const cont = await latentsGfid(dit, z, { requantize: false, featureNet, batchSize: bs });
      const manifest = samplerManifest({ samples: n, numClasses: dit.classNames.length, generator: generatorLabel("dit"), guidanceScale: s.cfgScale, samplingSteps: steps, ema: dit.config.emaDecay > 0, featureNet: cont.featureNet, seed: opts.seed ?? 0 });
      rows.push({ steps, gfid: cont.gfid, samplesPerSec: n / Math.max(1e-9, integrate + cont.decodeSeconds), nfe: steps * (s.cfgScale === 1 ? 1 : 2), manifest });
      if (steps === opts.requantizeAt) {
        const grid = offGridDistance(dit.tokenizer.fsq, z);
        const snapped = await latentsGfid(dit, z, { requantize: true, featureNet, batchSize: bs });
        requantize = [
          { decoding: "continuous", gfid: cont.gfid, offGrid: grid.mean, nearCode: grid.within10pct, outOfRange: grid.outOfRange },
          { decoding: "re-quantized", gfid: snapped.gfid, offGrid: 0, nearCode: 1, outOfRange: 0 },
        ];
      }
    } finally {
      z.dispose();
    }
  }
  return { steps: rows, requantize };
}

/** gFID of latents [n, g, g, d] (code units) decoded one way, served to the metrics in consecutive slices. */
async function latentsGfid(dit: DiTModel, z: tf.Tensor4D, opts: { requantize: boolean; featureNet: FeatureNetName; batchSize: number }): Promise<{ gfid: number; decodeSeconds: number; featureNet: string }> {
  let offset = 0;
  let decodeSeconds = 0;
  const sampler: Sampler = (m: number) => {
    const t0 = performance.now();
    const part = tf.slice(z, [offset, 0, 0, 0], [m, -1, -1, -1]);
    offset += m;
    try {
      return decodeDiTLatents(dit, part, { requantize: opts.requantize });
    } finally {
      part.dispose();
      decodeSeconds += (performance.now() - t0) / 1000;
    }
  };
  const ev = await samplerMetrics(dit.env, sampler, z.shape[0], { featureNet: opts.featureNet, batchSize: opts.batchSize });
  return { gfid: ev.fid, decodeSeconds, featureNet: ev.featureNet };
}

/** How far sampled latents lie from the code grid, in bins: |z·h − round(z·h)| ∈ [0, 0.5] (uniform ⇒ 0.25). */
export function offGridDistance(fsq: FSQ, latents: tf.Tensor): { mean: number; within10pct: number; outOfRange: number } {
  const v = latents.dataSync();
  const d = fsq.dim;
  let s = 0;
  let close = 0;
  let out = 0;
  for (let i = 0; i < v.length; i++) {
    const h = fsq.halfWidths[i % d];
    const u = v[i] * h;
    const dist = Math.abs(u - Math.round(u));
    s += dist;
    if (dist <= 0.1) close++;
    if (Math.abs(v[i]) > 1) out++;
  }
  return { mean: s / v.length, within10pct: close / v.length, outOfRange: out / v.length };
}

export interface RequantizeRow {
  decoding: "continuous" | "re-quantized";
  gfid: number;
  /** Mean distance of the sampled latents to the code grid, in bins (0 on the grid, 0.25 for uniform). */
  offGrid: number;
  /** Share of latent values within 0.1 bin of a code. */
  nearCode: number;
  /** Share of latent values outside [−1, 1]. */
  outOfRange: number;
}

/**
 * gFID of the same samples decoded continuously (the paper) and after snapping them to the code grid. The latents
 * are integrated once (uniformly drawn classes) and decoded both ways; `ditSamplingStudy` gives the same table
 * together with the Euler-steps sweep.
 */
export async function ditRequantizeComparison(dit: DiTModel, opts: Omit<DiTEvalOptions, "requantize"> = {}): Promise<RequantizeRow[]> {
  const steps = samplingOf(dit, opts).steps;
  return (await ditSamplingStudy(dit, { ...opts, steps: [steps], requantizeAt: steps })).requantize!;
}
