/**
 * What the two generators (AR and DiT) share at run time; their configs share generator-config.ts, their training
 * data latents.ts.
 *
 *   - `generatorTokenizer`: the tokenizer run a generator config names, trained or reused through the registry,
 *     with a check that the run found is the one the config records;
 *   - `sampleClasses`: the class draw of every gFID (uniform over the C real classes, seeded);
 *   - `evaluateSampler`: gFID and Inception-style score of n samples against the test split, with the feature
 *     network the config names and the sampling speed (images/s, the feature network's time excluded); on request
 *     precision/recall and the gFIDs of the two halves of the samples (their gap = the sampling noise).
 *   - `inRunEvaluation`: what a generator task evaluates during training (gFID, optionally guided, sample snapshots).
 */
import * as path from "path";
import type * as tf from "@tensorflow/tfjs";
import { Rng, mixSeed } from "../rng";
import type { Tokenizer } from "../models/tokenizer";
import { evaluateGenerator, type GenerationMetrics, type Sampler } from "../eval/features";
import type { RunEnv } from "./env";
import type { TokenizerConfig } from "./tokenizer/config";
import { trainTokenizer } from "./tokenizer/task";
import type { FeatureNetName } from "./featurenet/config";
import { loadFeatureNet, extractorOf } from "./featurenet/task";
import { writeSampleSnapshot } from "./sample-snapshots";

/** A generator's tokenizer: loaded from the run its config names (trained first when missing). */
export async function generatorTokenizer(env: RunEnv, kind: string, cfg: { tokenizer: TokenizerConfig; tokenizerRun: string }): Promise<{ tokenizer: Tokenizer; runDir: string }> {
  const tk = await trainTokenizer(env, { config: cfg.tokenizer });
  if (path.basename(tk.runDir) !== cfg.tokenizerRun) {
    tk.tokenizer.dispose();
    throw new Error(`${kind}: the tokenizer run is ${path.basename(tk.runDir)}, but the config names ${cfg.tokenizerRun}`);
  }
  if (!tk.reused) env.log(`${kind}: trained tokenizer ${cfg.tokenizerRun}`);
  return { tokenizer: tk.tokenizer, runDir: tk.runDir };
}

/** Classes of n samples for a seed: uniform over the C real classes. */
export function sampleClasses(n: number, numClasses: number, seed: number): Int32Array {
  const rng = new Rng(seed, "ar-classes");
  return Int32Array.from({ length: n }, () => rng.int(numClasses));
}

/** Draws images [n, 32, 32, 1] for the given classes from a seed (a generator's sampling call). */
export type ClassSampler = (classes: Int32Array, seed: number) => Promise<tf.Tensor4D>;

/** A gFID sampler: n images of uniformly drawn classes per call; the sampling time is added to `clock`. */
export function timedSampler(draw: ClassSampler, numClasses: number, clock: { seconds: number; samples: number }): Sampler {
  return async (n: number, seed: number) => {
    const t0 = performance.now();
    const x = await draw(sampleClasses(n, numClasses, seed), seed);
    clock.seconds += (performance.now() - t0) / 1000;
    clock.samples += n;
    return x;
  };
}

export interface SamplerEvaluation {
  gfid: number;
  /** Inception-style score with the feature network's classifier. */
  inceptionScore: number;
  /** Generated images per second (sampling + decoding, without the feature network). */
  samplesPerSec: number;
  n: number;
  seconds: number;
  /** Run id of the feature network (`featurenet-<hash12>`). */
  featureNet: string;
  /** k-NN precision / recall (k = 3) vs the first n test images; NaN unless asked for (`precisionRecall`). */
  precision: number;
  recall: number;
  /** gFID of each half of the samples, when asked for (`halves`): their gap is the sampling noise at n/2. */
  gfidHalves?: [number, number];
}

/** Extra metrics of a gFID evaluation: precision/recall, and the gFIDs of the two halves of the samples. */
export interface ExtraGenerationMetrics {
  precisionRecall?: boolean;
  halves?: boolean;
}

/** FID / IS of n images of any sampler against the test split, with a named feature network (trained when missing). */
export async function samplerMetrics(env: RunEnv, sampler: Sampler, n: number, opts: ExtraGenerationMetrics & { featureNet: FeatureNetName; batchSize: number; seed?: number }): Promise<GenerationMetrics & { featureNet: string }> {
  const net = await loadFeatureNet(env, opts.featureNet);
  const m = await evaluateGenerator(sampler, n, { extractor: extractorOf(net), cacheDir: net.dir, batchSize: opts.batchSize, seed: opts.seed ?? 0, precisionRecall: opts.precisionRecall ?? false, halves: opts.halves, progress: false });
  return { ...m, featureNet: net.runId };
}

/** gFID (vs the Fashion-MNIST test split) and speed of n samples of a generator's class sampler. */
export async function evaluateSampler(env: RunEnv, draw: ClassSampler, opts: ExtraGenerationMetrics & { n: number; numClasses: number; seed: number; batchSize: number; featureNet: FeatureNetName; what: string }): Promise<SamplerEvaluation> {
  if (!(Number.isInteger(opts.n) && opts.n > 0)) throw new Error(`${opts.what}: n=${opts.n} samples; expected a positive integer`);
  const clock = { seconds: 0, samples: 0 };
  const t0 = Date.now();
  const m = await samplerMetrics(env, timedSampler(draw, opts.numClasses, clock), opts.n, opts);
  const samplesPerSec = clock.samples / Math.max(1e-9, clock.seconds);
  return {
    gfid: m.fid,
    inceptionScore: m.inceptionScore.mean,
    samplesPerSec,
    n: opts.n,
    seconds: (Date.now() - t0) / 1000,
    featureNet: m.featureNet,
    precision: m.precision,
    recall: m.recall,
    ...(m.fidHalves ? { gfidHalves: m.fidHalves } : {}),
  };
}

/**
 * A generator task's in-run evaluation after completed step s: gFID and speed of cfg.evalSamples samples seeded by
 * mixSeed(cfg.seed, "<kind>-eval", s); with `evalGuidedScale` the same again with CFG at that scale (gfidGuided);
 * with `evalGridPerClass` = k, k samples of every class drawn by `grid.draw` from mixSeed(cfg.seed, "<kind>-grid")
 * (the same classes and noise at every step) and stored as the run's sample snapshot of s (sample-snapshots.ts).
 * The row carries evalSeconds, the evaluation's wall time. None when evalSamples is 0.
 */
export function inRunEvaluation(
  kind: string,
  cfg: { evalSamples: number; seed: number; evalGuidedScale?: number; evalGridPerClass?: number },
  evaluate: (opts: { n: number; seed: number; cfgScale?: number }) => Promise<SamplerEvaluation>,
  grid?: { draw: ClassSampler; numClasses: number; runDir: string },
) {
  if (!(cfg.evalSamples > 0)) return undefined;
  return async (step: number): Promise<Record<string, number>> => {
    const t0 = performance.now();
    const seed = mixSeed(cfg.seed, `${kind}-eval`, step);
    const ev = await evaluate({ n: cfg.evalSamples, seed });
    const out: Record<string, number> = { gfid: ev.gfid, samplesPerSec: ev.samplesPerSec };
    if (cfg.evalGuidedScale !== undefined) {
      const g = await evaluate({ n: cfg.evalSamples, seed, cfgScale: cfg.evalGuidedScale });
      out.gfidGuided = g.gfid;
      out.samplesPerSecGuided = g.samplesPerSec;
    }
    if (cfg.evalGridPerClass !== undefined && grid) {
      const k = cfg.evalGridPerClass;
      const classes = Int32Array.from({ length: grid.numClasses * k }, (_, i) => Math.floor(i / k));
      const x = await grid.draw(classes, mixSeed(cfg.seed, `${kind}-grid`));
      try {
        writeSampleSnapshot(grid.runDir, step, classes, x);
      } finally {
        x.dispose();
      }
    }
    out.evalSeconds = (performance.now() - t0) / 1000;
    return out;
  };
}
