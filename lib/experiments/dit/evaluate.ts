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
}

/** gFID and speed for each number of Euler steps (same classes and noise for every row). */
export async function ditStepsSweep(dit: DiTModel, opts: Omit<DiTEvalOptions, "steps"> & { steps: number[] }): Promise<StepsRow[]> {
  const rows: StepsRow[] = [];
  for (const steps of opts.steps) {
    const ev = await evaluateDiT(dit, { ...opts, steps });
    rows.push({ steps, gfid: ev.gfid, samplesPerSec: ev.samplesPerSec, nfe: steps * (ev.sampling.cfgScale === 1 ? 1 : 2) });
  }
  return rows;
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
 * are integrated once (uniformly drawn classes, as `evaluateDiT`) and decoded both ways.
 */
export async function ditRequantizeComparison(dit: DiTModel, opts: Omit<DiTEvalOptions, "requantize"> = {}): Promise<RequantizeRow[]> {
  const s = samplingOf(dit, opts);
  const n = opts.n ?? dit.config.evalSamples;
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`ditRequantizeComparison: n=${n} samples; expected a positive integer`);
  const bs = opts.batchSize ?? dit.config.sampleBatch;
  const z = sampleDiTLatents(dit, sampleClasses(n, dit.classNames.length, opts.seed ?? 0), { ...opts, ...s, batchSize: bs });
  try {
    const grid = offGridDistance(dit.tokenizer.fsq, z);
    const rows: RequantizeRow[] = [];
    for (const requantize of [false, true]) {
      // serves consecutive slices of the precomputed latents, decoded one way or the other
      let offset = 0;
      const sampler: Sampler = (m: number) => {
        const part = tf.slice(z, [offset, 0, 0, 0], [m, -1, -1, -1]);
        offset += m;
        try {
          return decodeDiTLatents(dit, part, { requantize });
        } finally {
          part.dispose();
        }
      };
      const ev = await samplerMetrics(dit.env, sampler, n, { featureNet: opts.featureNet ?? dit.config.featureNet, batchSize: bs });
      rows.push({
        decoding: requantize ? "re-quantized" : "continuous",
        gfid: ev.fid,
        offGrid: requantize ? 0 : grid.mean,
        nearCode: requantize ? 1 : grid.within10pct,
        outOfRange: requantize ? 0 : grid.outOfRange,
      });
    }
    return rows;
  } finally {
    z.dispose();
  }
}
