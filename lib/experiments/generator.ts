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
 *   - `inRunEvaluation`: what a generator task evaluates during training (gFID, optionally guided, sample snapshots),
 *     on the run's data-parallel workers when it has them.
 */
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { Rng, mixSeed } from "../rng";
import type { Tokenizer } from "../models/tokenizer";
import { evaluateGenerator, testSetEmbedding, type GenerationMetrics, type Sampler } from "../eval/features";
import { evaluatesAt, type EvalPool } from "../train/trainer";
import type { RunEnv } from "./env";
import type { TokenizerConfig } from "./tokenizer/config";
import { trainTokenizer } from "./tokenizer/task";
import type { FeatureNetName } from "./featurenet/config";
import { loadFeatureNet, extractorOf } from "./featurenet/task";
import { writeSampleSnapshot } from "./sample-snapshots";
import { writeRunFidManifests, type FidManifest } from "../eval/fid-manifest";
import { samplerManifest } from "./fid-manifests";

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
  /** How the gFID was measured (lib/eval/fid-manifest.ts), when the caller gave its sampling settings (`measured`). */
  manifest?: FidManifest;
}

/** The sampling settings of an evaluation that its FID manifest records (fid-manifests.ts `samplerManifest`). */
export interface MeasuredSampling {
  generator: string;
  guidanceScale: number;
  samplingSteps: number | null;
  ema: boolean | null;
}

/** Extra metrics of a gFID evaluation: precision/recall, and the gFIDs of the two halves of the samples. */
export interface ExtraGenerationMetrics {
  precisionRecall?: boolean;
  halves?: boolean;
}

/** FID / IS of n images of any sampler against the test split, with a named feature network (trained when missing). */
export async function samplerMetrics(env: RunEnv, sampler: Sampler, n: number, opts: ExtraGenerationMetrics & { featureNet: FeatureNetName; batchSize: number; seed?: number; concurrency?: number }): Promise<GenerationMetrics & { featureNet: string }> {
  const net = await loadFeatureNet(env, opts.featureNet);
  const m = await evaluateGenerator(sampler, n, { extractor: extractorOf(net), cacheDir: net.dir, batchSize: opts.batchSize, seed: opts.seed ?? 0, precisionRecall: opts.precisionRecall ?? false, halves: opts.halves, progress: false, concurrency: opts.concurrency });
  return { ...m, featureNet: net.runId };
}

/** gFID (vs the Fashion-MNIST test split) and speed of n samples of a generator's class sampler. */
export async function evaluateSampler(env: RunEnv, draw: ClassSampler, opts: ExtraGenerationMetrics & { n: number; numClasses: number; seed: number; batchSize: number; featureNet: FeatureNetName; what: string; measured?: MeasuredSampling }): Promise<SamplerEvaluation> {
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
    ...(opts.measured ? { manifest: samplerManifest({ ...opts.measured, samples: opts.n, numClasses: opts.numClasses, featureNet: m.featureNet, seed: opts.seed }) } : {}),
  };
}

/**
 * A generator's drawing of in-run samples: images [n, 32, 32, 1] for `classes` from `seed` at CFG scale `cfgScale`,
 * with the run's evaluation settings otherwise (one sampling batch: the caller passes at most sampleBatch classes).
 * The same function runs in this process and, as `task.remote.draw`, on a data-parallel worker.
 */
export type EvalDraw = (classes: Int32Array, seed: number, cfgScale: number) => Promise<tf.Tensor4D>;

/** What a worker returns for a remote draw. */
interface DrawnImages {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** The in-run settings of a generator config. */
export interface InRunConfig {
  evalSamples: number;
  seed: number;
  sampleBatch: number;
  featureNet: FeatureNetName;
  evalCfgScale: number;
  evalGuidedScale?: number;
  evalGuidedAt?: number[];
  evalGridPerClass?: number;
  /** When the trainer evaluates (to check evalGuidedAt against). */
  steps?: number;
  evalEvery?: number;
  evalAt?: number[];
}

/**
 * Seed and classes of the in-run samples after step `step` (the rule of inRunEvaluation below): with a sample grid
 * (`evalGridPerClass`), one seed for every step and class i mod C for sample i; without, a seed per step and
 * classes drawn from each batch's seed. Batch b of the samples is drawn from seed·1000003 + b (embedSamples).
 */
export function inRunSampling(kind: string, cfg: Pick<InRunConfig, "seed" | "evalGridPerClass">, numClasses: number, step: number): { seed: number; classes(m: number, lo: number, batchSeed: number): Int32Array } {
  const grid = cfg.evalGridPerClass !== undefined;
  return {
    seed: grid ? mixSeed(cfg.seed, `${kind}-eval`) : mixSeed(cfg.seed, `${kind}-eval`, step),
    classes: (m, lo, batchSeed) => (grid ? Int32Array.from({ length: m }, (_, i) => (lo + i) % numClasses) : sampleClasses(m, numClasses, batchSeed)),
  };
}

/**
 * A generator task's in-run evaluation and the worker side of it. After completed step s: gFID and speed of
 * cfg.evalSamples samples at evalCfgScale; with `evalGuidedScale`, the same samples (classes and noise) again with
 * CFG at that scale (gfidGuided), at the steps of `evalGuidedAt` (absent: at every evaluation). The samples come in
 * batches of sampleBatch, batch b drawn from seed·1000003 + b (lib/eval/features `embedSamples`); with a pool
 * (the run's data-parallel workers, idle meanwhile) the batches are drawn on the workers at once, with the same
 * images as in this process. samplesPerSec is per core (samples / Σ seconds of the draws).
 *
 *   seed: mixSeed(cfg.seed, "<kind>-eval", s); classes of batch b: sampleClasses(n_b, C, its seed)  (no grid)
 *   with `evalGridPerClass` = k: seed mixSeed(cfg.seed, "<kind>-eval") at every step and class i mod C for sample i,
 *   so the first k·C samples (k of every class, the same noise at every step) are stored as the run's sample
 *   snapshot of s (sample-snapshots.ts), grouped by class.
 * The row carries evalSeconds (the evaluation's wall time) and evalWorkers (1 without a pool). `prepare` loads (or
 * trains) the feature network and its test-split embedding before training starts. None of it when evalSamples is 0.
 */
export function inRunEvaluation(
  kind: string,
  cfg: InRunConfig,
  setup: { env: RunEnv; draw: EvalDraw; numClasses: number; runDir: string; fidManifests?: Record<string, FidManifest> },
): {
  evaluate?: (step: number, pool?: EvalPool) => Promise<Record<string, number>>;
  prepare?: () => Promise<void>;
  remote: { draw(args: { classes: Int32Array; seed: number; cfgScale: number }): Promise<DrawnImages> };
} {
  const C = setup.numClasses;
  const remote = {
    draw: async (a: { classes: Int32Array; seed: number; cfgScale: number }): Promise<DrawnImages> => {
      const x = await setup.draw(a.classes, a.seed, a.cfgScale);
      try {
        return { data: (await x.data()) as Float32Array, shape: x.shape as DrawnImages["shape"] };
      } finally {
        x.dispose();
      }
    },
  };
  if (!(cfg.evalSamples > 0)) return { remote };
  if (cfg.evalGuidedAt && cfg.steps !== undefined) {
    const when = { steps: cfg.steps, evalEvery: cfg.evalEvery ?? 0, evalAt: cfg.evalAt };
    const off = cfg.evalGuidedAt.filter((st) => !evaluatesAt(when, st));
    if (off.length) throw new Error(`${kind}: evalGuidedAt has step(s) ${off.join(", ")} where the run does not evaluate; expected steps of evalAt, multiples of evalEvery=${cfg.evalEvery ?? 0}, or steps=${cfg.steps}`);
  }
  const k = cfg.evalGridPerClass;
  if (k !== undefined && k * C > Math.min(cfg.sampleBatch, cfg.evalSamples)) {
    throw new Error(`${kind}: evalGridPerClass=${k} needs ${k * C} samples from the first sampling batch, but sampleBatch=${cfg.sampleBatch} and evalSamples=${cfg.evalSamples}; expected k·${C} ≤ both`);
  }
  const evaluate = async (step: number, pool?: EvalPool): Promise<Record<string, number>> => {
    const t0 = performance.now();
    const grid = k !== undefined;
    const sampling = inRunSampling(kind, cfg, C, step);
    const seed = sampling.seed;
    let snapshot: tf.Tensor4D | null = null;
    const once = async (cfgScale: number, keepGrid: boolean) => {
      const clock = { seconds: 0, samples: 0 };
      const sampler: Sampler = async (m, batchSeed, at) => {
        const classes = sampling.classes(m, at.lo, batchSeed);
        let x: tf.Tensor4D;
        if (pool) {
          const r = await pool.call("draw", { classes, seed: batchSeed, cfgScale });
          const img = r.result as DrawnImages;
          x = tf.tensor4d(img.data, img.shape);
          clock.seconds += r.seconds;
        } else {
          const s0 = performance.now();
          x = await setup.draw(classes, batchSeed, cfgScale);
          clock.seconds += (performance.now() - s0) / 1000;
        }
        clock.samples += m;
        if (keepGrid && at.b === 0) {
          // k of every class, grouped by class: sample j·C + c is copy j of class c
          const rows = Int32Array.from({ length: k! * C }, (_, i) => (i % k!) * C + Math.floor(i / k!));
          snapshot = tf.gather(x, rows) as tf.Tensor4D;
        }
        return x;
      };
      const m = await samplerMetrics(setup.env, sampler, cfg.evalSamples, { featureNet: cfg.featureNet, batchSize: cfg.sampleBatch, seed, concurrency: pool?.workers ?? 1 });
      return { gfid: m.fid, samplesPerSec: clock.samples / Math.max(1e-9, clock.seconds) };
    };
    try {
      const ev = await once(cfg.evalCfgScale, grid);
      const out: Record<string, number> = { gfid: ev.gfid, samplesPerSec: ev.samplesPerSec };
      if (cfg.evalGuidedScale !== undefined && (cfg.evalGuidedAt === undefined || cfg.evalGuidedAt.includes(step))) {
        const g = await once(cfg.evalGuidedScale, false);
        out.gfidGuided = g.gfid;
        out.samplesPerSecGuided = g.samplesPerSec;
      }
      if (snapshot) {
        const classes = Int32Array.from({ length: k! * C }, (_, i) => Math.floor(i / k!));
        writeSampleSnapshot(setup.runDir, step, classes, snapshot);
      }
      out.evalWorkers = pool?.workers ?? 1;
      out.evalSeconds = (performance.now() - t0) / 1000;
      return out;
    } finally {
      (snapshot as tf.Tensor4D | null)?.dispose();
    }
  };
  // before the first step, not inside the first evaluation: the feature network (trained when missing) and its
  // embedding of the test split (computed once per feature network, then read from its run folder)
  const prepare = async () => {
    const net = await loadFeatureNet(setup.env, cfg.featureNet);
    testSetEmbedding({ extractor: extractorOf(net), cacheDir: net.dir });
    // how the run's gFIDs are measured, next to its metrics (fid-manifests.ts inRunFidManifests)
    if (setup.fidManifests) writeRunFidManifests(setup.runDir, setup.fidManifests);
  };
  return { evaluate, prepare, remote };
}
