/**
 * The diffusion experiment: the `dit` train kind (a DiT trained by flow matching on a tokenizer run's quantized
 * latents), train-or-reuse, Euler sampling to images, gFID, and the notebook's sweeps.
 *
 *   const dit = await trainDiT({ preset: "quick" });                        // reuses a finished run of the same config
 *   const x = await sampleDiTImages(dit, [0, 1, 2], { steps: 50 });         // [3, 32, 32, 1] on about [−1, 1]
 *   const ev = await evaluateDiT(dit, { n: 1000, steps: 50 });              // { gfid, samplesPerSec, … }
 *
 * CLI: `npm run train -- dit --preset quick [--set tokenizer.bound=tanh] [--set dim=192 …]`.
 *
 * The tokenizer: as for the AR model (lib/experiments/ar.ts), the config holds the tokenizer's full resolved config
 * (the preset of the same name by default, so `quick` → the quick iFSQ tokenizer the AR model uses), and its run id
 * `tokenizerRun` and hash `tokenizerHash` are filled in when the config is resolved; both are part of the DiT
 * config's hash. The training split is encoded once per tokenizer run, through the AR module's token cache
 * (`<tokenizerRun>/tokens-train-n<N>.bin`, one lossless mixed-radix index per position); the DiT turns the indices
 * back into the exact codes ẑ = k/h.
 *
 * Latents (paper §6): x₁ = ẑ · m, the quantized codes of the 8×8×d grid times the latent multiplier
 * m = 1/std(ẑ) over the training latents (the paper's 1.092421 for ImageNet). m is computed from the data, written
 * to `<run>/latent.json` with the tokenizer run id and hash, and kept in every checkpoint (a resume checks it).
 * Samples are divided by m and decoded without re-quantizing (`requantize: true` snaps them to the code grid first,
 * for comparison).
 *
 * Paper deviations (scale): no data augmentation (latents are pre-extracted), no REPA yet (the model exposes the
 * hidden states after block ℓ for it), gradient clipping at 1 (the paper has none), short EMA and a cosine lr
 * schedule for short runs (paper: lr 2e-4 constant, EMA 0.9999, 100k steps at batch 1024), Euler with 50 steps by
 * default (paper 250), CFG on all channels when it is used (the official code guides 3 of 4; option
 * `guidedChannels: 3`).
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { mixSeed } from "../rng";
import { DiT, type DiTArch } from "../models/dit";
import type { Tokenizer } from "../models/tokenizer";
import type { FSQ } from "../quant/fsq";
import { FASHION_MNIST_CLASSES } from "../data/fashion-mnist";
import { batchIndices } from "../data/batches";
import { flowPair } from "../flow/path";
import { flowMatchingLoss } from "../flow/loss";
import { sampleFlow } from "../flow/sampler";
import { DEFAULT_EULER_STEPS } from "../flow/euler";
import { evaluateGenerator, type Sampler } from "../eval/features";
import type { FeatureNetPreset } from "../eval/feature-net";
import { TrainConfigSchema, defineConfig, resolveConfig, PRESET_NAMES, type ConfigDef, type ResolveOptions, type PresetName } from "../train/config";
import { registerTrainKind } from "../train/registry";
import { train, loadRunWeights, type TrainTask, type TrainOptions } from "../train/trainer";
import { findFinishedRun, defaultRunsDir, Run, type MetricsRow } from "../train/run";
import { writeFileAtomic } from "../atomic";
import { trainTokenizer } from "./tokenizer";
import { generatorConfigFields, withTokenizerRef, tokenizerPreset } from "./generator-config";
import { trainTokens, sampleClasses } from "./ar";

const DiTConfigBase = TrainConfigSchema.extend({
  ...generatorConfigFields,
  dim: z.int().positive().default(128).describe("transformer width D (paper DiT-L: 1024)"),
  depth: z.int().positive().default(4).describe("blocks (paper 24)"),
  heads: z.int().positive().default(4).describe("attention heads; D/heads must be a multiple of 4 (paper 16)"),
  mlpHidden: z.int().min(0).default(0).describe("SwiGLU hidden width; 0 = ⌊2/3·4D⌋ (paper 2730)"),
  freqDim: z.int().positive().default(256).describe("width of the timestep sinusoid (paper 256)"),
  absPosEmbed: z.boolean().default(true).describe("add the fixed 2-D sin-cos position embedding on top of RoPE (as the official DiT)"),
  cosineWeight: z.number().min(0).default(1).describe("weight of the cosine term added to the velocity MSE (paper 1; 0 = plain MSE)"),
  timeDist: z.enum(["logit-normal", "uniform"]).default("logit-normal").describe("training-time distribution (paper: logit-normal, μ 0, s 1)"),
  timeMean: z.number().default(0).describe("μ of the logit-normal"),
  timeStd: z.number().positive().default(1).describe("s of the logit-normal"),
  latentMultiplier: z.number().min(0).default(0).describe("x₁ = codes·m; 0 = m = 1/std of the training latents (paper: 1.092421, also 1/std)"),
  evalSteps: z.int().positive().default(DEFAULT_EULER_STEPS).describe("Euler steps of the in-run samples (paper 250)"),
  evalCfgScale: z.number().default(1).describe("CFG scale of the in-run gFID (paper: 1.0, no guidance)"),
  guidedChannels: z.int().min(0).default(0).describe("channels CFG guides; 0 = all (our choice), 3 = the official code's quirk"),
  sampleBatch: z.int().positive().default(250).describe("samples integrated together"),
});

export const DiTConfigSchema = DiTConfigBase.overwrite(withTokenizerRef<z.output<typeof DiTConfigBase>>("dit"));
export type DiTConfig = z.output<typeof DiTConfigSchema>;

/**
 * Presets (wasm, 2 shared cores): tiny = seconds (tests, CI notebook), quick ≈ 10 min, paper-cpu = about an hour.
 * Each uses the tokenizer preset of the same name; widths, depths, batch, steps, lr schedule and EMA match the AR
 * presets so the two generators are compared at equal budgets.
 */
export const ditConfig: ConfigDef<typeof DiTConfigSchema> = defineConfig({
  name: "dit",
  schema: DiTConfigSchema,
  presets: {
    tiny: {
      tokenizer: tokenizerPreset("tiny"),
      dim: 32,
      depth: 2,
      heads: 2,
      steps: 40,
      batchSize: 16,
      lr: 3e-3,
      warmupSteps: 5,
      beta2: 0.95,
      trainLimit: 2048,
      logEvery: 5,
      evalSamples: 0,
      evalSteps: 10,
      sampleBatch: 64,
      featureNet: "tiny",
    },
    quick: {
      tokenizer: tokenizerPreset("quick"),
      dim: 128,
      depth: 4,
      heads: 4,
      steps: 500,
      batchSize: 32,
      lr: 1e-3,
      warmupSteps: 50,
      schedule: "cosine",
      beta2: 0.95,
      emaDecay: 0.99,
      logEvery: 10,
      evalEvery: 250,
      ckptEvery: 250,
      evalSamples: 500,
      evalSteps: 25,
      featureNet: "full",
    },
    "paper-cpu": {
      tokenizer: tokenizerPreset("paper-cpu"),
      dim: 192,
      depth: 6,
      heads: 6,
      steps: 3000,
      batchSize: 64,
      lr: 6e-4,
      warmupSteps: 200,
      schedule: "cosine",
      beta2: 0.95,
      emaDecay: 0.999,
      logEvery: 25,
      evalEvery: 500,
      ckptEvery: 250,
      evalSamples: 2000,
      evalSteps: 50,
      featureNet: "full",
    },
  },
});

/** Resolves a DiT config (preset default: $IFSQ_PRESET, else "quick"). */
export function resolveDiTConfig(opts: ResolveOptions<typeof DiTConfigSchema> = {}): DiTConfig {
  return resolveConfig(ditConfig, opts);
}

/** The model architecture of a config on a g×g×C latent grid with K classes. */
export function ditArch(cfg: DiTConfig, grid: number, channels: number, numClasses: number): DiTArch {
  return {
    gridSize: grid,
    channels,
    dim: cfg.dim,
    depth: cfg.depth,
    heads: cfg.heads,
    mlpHidden: cfg.mlpHidden > 0 ? cfg.mlpHidden : undefined,
    numClasses,
    freqDim: cfg.freqDim,
    absPosEmbed: cfg.absPosEmbed,
    ropeBase: 10000,
    normEps: 1e-6,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Latents

/** The training latents: exact codes ẑ of the first n training images, with their labels. */
export interface LatentSet {
  /** [n, g, g, d] row-major codes k/h ∈ [−1, 1] (not yet multiplied). */
  codes: Float32Array;
  labels: Int32Array;
  n: number;
  grid: number;
  channels: number;
  /** Mean and standard deviation of all code values. */
  mean: number;
  std: number;
  /** The token-cache file the codes came from. */
  file: string;
  cached: boolean;
}

/** Tokenizer indices [m] (one per position) → codes [m·d] through the FSQ's own inverse, in chunks. */
export function indicesToCodeArray(fsq: FSQ, indices: Int32Array, chunk = 65536): Float32Array {
  const d = fsq.dim;
  const out = new Float32Array(indices.length * d);
  for (let lo = 0; lo < indices.length; lo += chunk) {
    const m = Math.min(chunk, indices.length - lo);
    const codes = tf.tidy(() => fsq.indicesToCodes(tf.tensor1d(indices.subarray(lo, lo + m), "int32")));
    out.set(codes.dataSync() as Float32Array, lo * d);
    codes.dispose();
  }
  return out;
}

/**
 * Codes of the first `n` (0 = all) training images under a tokenizer run, via the AR module's per-run token cache
 * (extracted once, then read back), with the mean and std of the code values.
 */
export async function trainLatents(tokenizer: Tokenizer, tokenizerRunDir: string, opts: { n?: number; tokenizerHash: string; log?: (l: string) => void }): Promise<LatentSet> {
  const toks = await trainTokens(tokenizer, tokenizerRunDir, { n: opts.n, tokenizerHash: opts.tokenizerHash, log: opts.log });
  const codes = indicesToCodeArray(tokenizer.fsq, toks.indices);
  let s = 0;
  for (let i = 0; i < codes.length; i++) s += codes[i];
  const mean = s / codes.length;
  let v = 0;
  for (let i = 0; i < codes.length; i++) v += (codes[i] - mean) * (codes[i] - mean);
  const std = Math.sqrt(v / codes.length);
  return { codes, labels: toks.labels, n: toks.n, grid: toks.grid, channels: tokenizer.fsq.dim, mean, std, file: toks.file, cached: toks.cached };
}

/** The latent multiplier of a config on a latent set: the configured value, else 1/std. */
export function latentMultiplierOf(cfg: DiTConfig, latents: LatentSet): number {
  if (cfg.latentMultiplier > 0) return cfg.latentMultiplier;
  if (!(latents.std > 0)) throw new Error(`dit: the training latents have std ${latents.std}; cannot normalise them (is the tokenizer collapsed?)`);
  return 1 / latents.std;
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

// ---------------------------------------------------------------------------------------------------------------
// Training task

export interface DiTBatch {
  /** x₁ = codes·m [B, g, g, d] */
  x1: tf.Tensor4D;
  labels: tf.Tensor1D;
}

/** A trained (or training) DiT with everything needed to sample from it. */
export interface DiTModel {
  model: DiT;
  tokenizer: Tokenizer;
  config: DiTConfig;
  /** m: latents x₁ = codes·m; samples are divided by m before decoding. */
  latentMultiplier: number;
  classNames: readonly string[];
}

export interface DiTTask extends TrainTask<DiTBatch>, DiTModel {
  config: DiTConfig;
  latents: LatentSet;
  tokenizerRunDir: string;
  dispose(): void;
}

export interface MakeDiTTaskOptions {
  runsDir?: string;
  /** Options of the tokenizer training when its run is missing. */
  tokenizerTrain?: Omit<TrainOptions, "runsDir">;
  log?: (line: string) => void;
}

/** What `<run>/latent.json` holds. */
export interface LatentRecord {
  latentMultiplier: number;
  latentMean: number;
  latentStd: number;
  n: number;
  tokenizerRun: string;
  tokenizerHash: string;
}

/**
 * A TrainTask for a resolved DiT config: trains or reuses the tokenizer run, reads (or extracts once) its training
 * latents, computes the latent multiplier, builds the model from config.seed.
 */
export async function makeDiTTask(cfg: DiTConfig, opts: MakeDiTTaskOptions = {}): Promise<DiTTask> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const runsDir = opts.runsDir ?? defaultRunsDir();
  const tk = await trainTokenizer({ config: cfg.tokenizer, runsDir, train: opts.tokenizerTrain });
  if (path.basename(tk.runDir) !== cfg.tokenizerRun) {
    tk.tokenizer.dispose();
    throw new Error(`dit: the tokenizer run is ${path.basename(tk.runDir)}, but the config names ${cfg.tokenizerRun}`);
  }
  if (!tk.reused) log(`dit: trained tokenizer ${cfg.tokenizerRun}`);
  const tokenizer = tk.tokenizer;
  let latents: LatentSet;
  try {
    latents = await trainLatents(tokenizer, tk.runDir, { n: cfg.trainLimit, tokenizerHash: cfg.tokenizerHash, log });
  } catch (e) {
    tokenizer.dispose();
    throw e;
  }
  const m = latentMultiplierOf(cfg, latents);
  const record: LatentRecord = { latentMultiplier: m, latentMean: latents.mean, latentStd: latents.std, n: latents.n, tokenizerRun: cfg.tokenizerRun, tokenizerHash: cfg.tokenizerHash };
  writeFileAtomic(path.join(Run.locate("dit", cfg, runsDir).dir, "latent.json"), JSON.stringify(record, null, 2) + "\n");

  const classNames = FASHION_MNIST_CLASSES;
  const model = new DiT(ditArch(cfg, latents.grid, latents.channels, classNames.length), cfg.seed);
  const per = latents.grid * latents.grid * latents.channels;
  const dataSeed = mixSeed(cfg.seed, "dit-data");
  const tOpts = { distribution: cfg.timeDist, mean: cfg.timeMean, std: cfg.timeStd };
  const dit: DiTModel = { model, tokenizer, config: cfg, latentMultiplier: m, classNames };
  return {
    kind: "dit",
    params: model.params,
    ...dit,
    latents,
    tokenizerRunDir: tk.runDir,
    batch(step: number): DiTBatch {
      const idx = batchIndices(dataSeed, step, cfg.batchSize, latents.n);
      const B = idx.length;
      const x = new Float32Array(B * per);
      const y = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const src = latents.codes.subarray(idx[b] * per, (idx[b] + 1) * per);
        for (let i = 0; i < per; i++) x[b * per + i] = src[i] * m;
        y[b] = latents.labels[idx[b]];
      }
      return { x1: tf.tensor4d(x, [B, latents.grid, latents.grid, latents.channels]), labels: tf.tensor1d(y, "int32") };
    },
    loss: (b, ctx) => {
      const y = model.dropLabels(b.labels, cfg.labelDropout, mixSeed(ctx.seed, "labels"));
      const pair = flowPair(b.x1, mixSeed(ctx.seed, "flow"), tOpts);
      const v = model.velocity(pair.xt, pair.t, y);
      const r = flowMatchingLoss(v, pair.target, { cosineWeight: cfg.cosineWeight });
      return { loss: r.loss, parts: { mse: r.mse, cosine: r.cosine } };
    },
    disposeBatch: (b) => tf.dispose([b.x1, b.labels]),
    flopsPerStep: model.flops().trainPerSample * cfg.batchSize,
    evaluate:
      cfg.evalSamples > 0
        ? async (step: number) => {
            const ev = await evaluateDiT(dit, { n: cfg.evalSamples, seed: mixSeed(cfg.seed, "dit-eval", step) });
            return { gfid: ev.gfid, samplesPerSec: ev.samplesPerSec };
          }
        : undefined,
    extraState: {
      get: () => ({ latentMultiplier: m, tokenizerRun: cfg.tokenizerRun }),
      set: (s) => {
        if (typeof s.latentMultiplier === "number" && Math.abs(s.latentMultiplier - m) > 1e-6 * m) {
          throw new Error(`dit: the checkpoint was trained with latent multiplier ${s.latentMultiplier}, but the training latents now give ${m}; the token cache of ${cfg.tokenizerRun} changed (start over with --fresh)`);
        }
      },
    },
    dispose: () => {
      model.dispose();
      tokenizer.dispose();
    },
  };
}

registerTrainKind("dit", {
  description: "DiT (adaLN-Zero, RMSNorm, QK-norm, SwiGLU, 2-D RoPE) with flow matching on a tokenizer run's quantized latents",
  configDef: ditConfig,
  makeTask: (cfg) => makeDiTTask(cfg),
});

// ---------------------------------------------------------------------------------------------------------------
// Sampling and evaluation

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

function samplingOf(dit: DiTModel, o: DiTSampleOptions): DiTSampling {
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

/** Samples images for the given classes: Euler in latent space, then decoding (continuous by default). */
export async function sampleDiTImages(dit: DiTModel, classes: ArrayLike<number>, opts: DiTSampleOptions & { requantize?: boolean } = {}): Promise<tf.Tensor4D> {
  const z = sampleDiTLatents(dit, classes, opts);
  try {
    return decodeDiTLatents(dit, z, opts);
  } finally {
    z.dispose();
  }
}

/** A gFID sampler: n images of uniformly drawn classes per call (the AR's class draw). Accumulates sampling time. */
export function ditSampler(dit: DiTModel, opts: DiTSampleOptions & { requantize?: boolean } = {}, clock?: { seconds: number; samples: number }): Sampler {
  return async (n: number, seed: number) => {
    const t0 = performance.now();
    const x = await sampleDiTImages(dit, sampleClasses(n, dit.classNames.length, seed), { ...opts, seed });
    if (clock) {
      clock.seconds += (performance.now() - t0) / 1000;
      clock.samples += n;
    }
    return x;
  };
}

export interface DiTEvaluation {
  gfid: number;
  /** Inception-style score with the feature network's classifier. */
  inceptionScore: number;
  /** Generated images per second (Euler + decoding, without the feature network). */
  samplesPerSec: number;
  n: number;
  seconds: number;
  sampling: DiTSampling & { requantize: boolean };
}

export interface DiTEvalOptions extends DiTSampleOptions {
  n?: number;
  requantize?: boolean;
  featureNet?: FeatureNetPreset;
}

/** gFID (vs the Fashion-MNIST test split, EVAL's feature network) and sampling speed of a DiT. */
export async function evaluateDiT(dit: DiTModel, opts: DiTEvalOptions = {}): Promise<DiTEvaluation> {
  const cfg = dit.config;
  const s = samplingOf(dit, opts);
  const n = opts.n ?? cfg.evalSamples;
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`evaluateDiT: n=${n} samples; expected a positive integer`);
  const requantize = opts.requantize ?? false;
  const clock = { seconds: 0, samples: 0 };
  const t0 = Date.now();
  const bs = opts.batchSize ?? cfg.sampleBatch;
  const m = await evaluateGenerator(ditSampler(dit, { ...s, batchSize: bs, requantize }, clock), n, {
    preset: opts.featureNet ?? cfg.featureNet,
    batchSize: bs,
    seed: opts.seed ?? 0,
    precisionRecall: false,
    progress: false,
  });
  return { gfid: m.fid, inceptionScore: m.inceptionScore.mean, samplesPerSec: clock.samples / Math.max(1e-9, clock.seconds), n, seconds: (Date.now() - t0) / 1000, sampling: { ...s, requantize } };
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
      const ev = await evaluateGenerator(sampler, n, { preset: opts.featureNet ?? dit.config.featureNet, batchSize: bs, precisionRecall: false, progress: false });
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

// ---------------------------------------------------------------------------------------------------------------
// Train or reuse

export interface TrainDiTOptions extends ResolveOptions<typeof DiTConfigSchema> {
  /** A resolved config (skips preset/overrides/set). */
  config?: DiTConfig;
  runsDir?: string;
  /** Passed to the trainer (progress sink, log, …). */
  train?: Omit<TrainOptions, "runsDir">;
  log?: (line: string) => void;
}

export interface TrainedDiT extends DiTModel {
  runDir: string;
  tokenizerRunDir: string;
  /** Every metrics row of the run (train rows carry `flops`, eval rows `gfid`). */
  metrics: MetricsRow[];
  /** Whether a finished run with this exact config was loaded instead of trained. */
  reused: boolean;
  latents: LatentSet;
  dispose(): void;
}

/**
 * Trains the DiT of a config, or loads the finished run with the same config (EMA weights when the run had EMA); an
 * unfinished run is resumed. The tokenizer run is trained first when it is missing.
 */
export async function trainDiT(opts: TrainDiTOptions = {}): Promise<TrainedDiT> {
  const config = opts.config ?? resolveDiTConfig(opts);
  const runsDir = opts.runsDir ?? defaultRunsDir();
  const task = await makeDiTTask(config, { runsDir, log: opts.log, tokenizerTrain: opts.train });
  try {
    const found = findFinishedRun("dit", config, { runsDir });
    let runDir: string;
    let metrics: MetricsRow[];
    if (found) {
      loadRunWeights(found, task.params);
      runDir = found.dir;
      metrics = found.metrics;
    } else {
      const res = await train(task, { ...opts.train, runsDir });
      runDir = res.runDir;
      metrics = res.metrics;
    }
    return {
      model: task.model,
      tokenizer: task.tokenizer,
      config,
      latentMultiplier: task.latentMultiplier,
      classNames: task.classNames,
      runDir,
      tokenizerRunDir: task.tokenizerRunDir,
      metrics,
      reused: !!found,
      latents: task.latents,
      dispose: task.dispose,
    };
  } catch (e) {
    task.dispose();
    throw e;
  }
}

/** Reads `<run>/latent.json` of a DiT run folder (null when absent). */
export function readLatentRecord(runDir: string): LatentRecord | null {
  const f = path.join(runDir, "latent.json");
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as LatentRecord) : null;
}

/** The DiT config keys that name presets, for notebooks' parameter cells. */
export const DIT_PRESETS: readonly PresetName[] = PRESET_NAMES;
