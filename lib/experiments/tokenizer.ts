/**
 * Tokenizer experiments: the `tokenizer` train kind (config + presets + TrainTask on Fashion-MNIST), train-or-reuse,
 * and the evaluation row of paper §8 (code entropy / utilisation / usage / perplexity, PSNR, SSIM on the test split).
 *
 *   const { tokenizer, metrics } = await trainTokenizer({ preset: "quick", overrides: { bound: "tanh" } });
 *   const ev = await evaluateTokenizer(tokenizer, { limit: 2000 });   // ev.row, ev.stats, ev.examples
 *
 * CLI: `npm run train -- tokenizer --preset quick --set bound=ifsq`.
 *
 * Same seed ⇒ the same initial weights (parameter names do not depend on the bound) and the same batches, so an FSQ
 * and an iFSQ run that differ only in `bound` are a controlled comparison.
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { mixSeed } from "../rng";
import { Tokenizer, type TokenizerArch } from "../models/tokenizer";
import { boundLabel } from "../quant/bounds";
import { loadFashionMnist, type ImageDataset } from "../data/fashion-mnist";
import { batchIndices, imageBatch } from "../data/batches";
import { codeStats, type CodeStats } from "../eval/code-stats";
import { psnrPerImage } from "../eval/psnr";
import { ssimPerImage } from "../eval/ssim";
import { TrainConfigSchema, defineConfig, resolveConfig, type ConfigDef, type ResolveOptions } from "../train/config";
import { registerTrainKind } from "../train/registry";
import { train, loadRunWeights, type TrainTask, type TrainOptions } from "../train/trainer";
import { findFinishedRun, type MetricsRow } from "../train/run";

export const TokenizerConfigSchema = TrainConfigSchema.extend({
  channels: z.array(z.int().positive()).min(1).default([16, 32, 32]).describe("width per resolution level; f = 2^(len−1) (paper [128,128,256,512,512])"),
  resBlocks: z.int().min(0).default(1).describe("ResnetBlocks per encoder level; the decoder has one more per level (paper 2)"),
  midBlocks: z.int().min(0).default(1).describe("ResnetBlocks in the middle of encoder and decoder (paper 2)"),
  levels: z.array(z.int().min(2)).min(1).default([17, 17, 17, 17]).describe("FSQ levels per latent channel; d = len (paper [17,17,17,17] = 4 bits)"),
  bound: z.enum(["tanh", "ifsq"]).default("ifsq").describe('"tanh" = original FSQ bound, "ifsq" = 2σ(α z) − 1'),
  alpha: z.number().positive().default(1.6).describe("iFSQ slope α (ignored by tanh)"),
  normGroups: z.int().positive().default(8).describe("GroupNorm groups (paper 32; must divide every width)"),
  trainLimit: z.int().min(0).default(0).describe("use only the first N training images (0 = all 60 000)"),
  evalLimit: z.int().positive().default(1000).describe("test images used by the in-run evaluation"),
});
export type TokenizerConfig = z.output<typeof TokenizerConfigSchema>;

/**
 * Presets. Measured on the 2-core project machine, wasm (see the closing notes of issue 4 for the numbers):
 *   tiny: seconds (tests, CI notebooks); quick: minutes; paper-cpu: hours.
 * lr 2e-3 with warm-up + cosine is a small-model, short-run choice (the paper uses 1e-4 constant at batch 128 for
 * 100 ImageNet epochs); EMA decays are shortened for the same reason (the EMA starts at the initial weights).
 */
export const tokenizerConfig: ConfigDef<typeof TokenizerConfigSchema> = defineConfig({
  name: "tokenizer",
  schema: TokenizerConfigSchema,
  presets: {
    tiny: {
      channels: [8, 16, 16],
      resBlocks: 1,
      midBlocks: 1,
      steps: 40,
      batchSize: 16,
      lr: 3e-3,
      warmupSteps: 5,
      trainLimit: 2048,
      evalLimit: 256,
      logEvery: 5,
      ckptEvery: 0,
      emaDecay: 0,
    },
    quick: {
      channels: [8, 16, 32],
      resBlocks: 1,
      midBlocks: 1,
      steps: 800,
      batchSize: 32,
      lr: 2e-3,
      warmupSteps: 40,
      schedule: "cosine",
      logEvery: 20,
      ckptEvery: 200,
      evalLimit: 2000,
      emaDecay: 0.99,
    },
    "paper-cpu": {
      channels: [16, 32, 32],
      resBlocks: 1,
      midBlocks: 2,
      steps: 3000,
      batchSize: 64,
      lr: 1e-3,
      warmupSteps: 100,
      schedule: "cosine",
      logEvery: 50,
      evalEvery: 1000,
      ckptEvery: 250,
      evalLimit: 10000,
      emaDecay: 0.999,
    },
  },
});

/** The model architecture a config describes (d = levels.length; 32×32×1 Fashion-MNIST images). */
export function tokenizerArch(cfg: TokenizerConfig): TokenizerArch {
  return {
    imageSize: 32,
    inChannels: 1,
    channels: [...cfg.channels],
    resBlocks: cfg.resBlocks,
    midBlocks: cfg.midBlocks,
    latentDim: cfg.levels.length,
    levels: [...cfg.levels],
    bound: cfg.bound === "ifsq" ? { kind: "ifsq", alpha: cfg.alpha } : { kind: "tanh" },
    normGroups: cfg.normGroups,
    normEps: 1e-6,
  };
}

/** Resolves a tokenizer config (preset default: $IFSQ_PRESET, else "quick"). */
export function resolveTokenizerConfig(opts: ResolveOptions<typeof TokenizerConfigSchema> = {}): TokenizerConfig {
  return resolveConfig(tokenizerConfig, opts);
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

/** One table row (paper §8 metrics on the test split). */
export interface TokenizerRow {
  bound: string;
  levels: string;
  /** Mean per-dimension code entropy, bits. */
  entropy: number;
  /** Mean per-dimension H_j / log₂ L_j. */
  utilisation: number;
  /** Distinct codes seen / K. */
  usage: number;
  /** exp of the global code entropy. */
  perplexity: number;
  /** Mass of the two end codes, mean over dimensions. */
  endBinMass: number;
  /** dB on [0, 1], mean over images. */
  psnr: number;
  ssim: number;
  /** mean |x − x̂| on [−1, 1]. */
  l1: number;
  images: number;
}

export interface TokenizerEvaluation {
  row: TokenizerRow;
  stats: CodeStats;
  /** The first `examples` test images and their reconstructions, [n, 32, 32, 1] each, values on [−1, 1]. */
  examples: { originals: Float32Array; reconstructions: Float32Array; shape: [number, number, number, number] };
}

export interface TokenizerEvaluateOptions {
  /** Test images to use (default: all 10 000). */
  limit?: number;
  batchSize?: number;
  /** Histogram bins (default 64). */
  bins?: number;
  /** Images kept for a reconstruction grid (default 16). */
  examples?: number;
  /** Data set to evaluate on (default: the Fashion-MNIST test split). */
  dataset?: ImageDataset;
}

/** Code statistics + reconstruction metrics of a tokenizer in one batched pass over the test split. */
export async function evaluateTokenizer(tokenizer: Tokenizer, opts: TokenizerEvaluateOptions = {}): Promise<TokenizerEvaluation> {
  const ds = opts.dataset ?? loadFashionMnist("test");
  const limit = Math.min(opts.limit ?? ds.n, ds.n);
  const nEx = Math.min(opts.examples ?? 16, limit);
  const per = ds.height * ds.width * ds.channels;
  const originals = new Float32Array(nEx * per);
  const reconstructions = new Float32Array(nEx * per);
  let psnrSum = 0;
  let ssimSum = 0;
  let l1Sum = 0;
  let count = 0;
  const stats = await codeStats(tokenizer, ds, {
    limit,
    batchSize: opts.batchSize ?? 250,
    bins: opts.bins,
    onBatch: async (x, enc, start) => {
      const xHat = tf.tidy(() => tokenizer.decode(enc.codes));
      try {
        const [a, b] = await Promise.all([x.data() as Promise<Float32Array>, xHat.data() as Promise<Float32Array>]);
        const n = x.shape[0];
        const arrA = { images: a, n, height: ds.height, width: ds.width, channels: ds.channels };
        const arrB = { images: b, n, height: ds.height, width: ds.width, channels: ds.channels };
        for (const v of psnrPerImage(arrA, arrB, { range: [-1, 1] })) psnrSum += v;
        for (const v of ssimPerImage(arrA, arrB, { range: [-1, 1] })) ssimSum += v;
        for (let i = 0; i < a.length; i++) l1Sum += Math.abs(a[i] - b[i]);
        count += n;
        if (start < nEx) {
          const k = Math.min(nEx - start, n);
          originals.set(a.subarray(0, k * per), start * per);
          reconstructions.set(b.subarray(0, k * per), start * per);
        }
      } finally {
        xHat.dispose();
      }
    },
  });
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const row: TokenizerRow = {
    bound: boundLabel(tokenizer.arch.bound),
    levels: `[${tokenizer.arch.levels.join(",")}]`,
    entropy: stats.meanEntropy,
    utilisation: stats.meanUtilisation,
    usage: stats.usage,
    perplexity: stats.perplexity,
    endBinMass: mean(stats.endBinMass),
    psnr: psnrSum / count,
    ssim: ssimSum / count,
    l1: l1Sum / (count * per),
    images: count,
  };
  return { row, stats, examples: { originals, reconstructions, shape: [nEx, ds.height, ds.width, ds.channels] } };
}

// ---------------------------------------------------------------------------------------------------------------
// Training

export interface TokenizerTask extends TrainTask<tf.Tensor4D> {
  config: TokenizerConfig;
  tokenizer: Tokenizer;
  /** Frees the model. */
  dispose(): void;
}

/** Loads the (possibly limited) training split once per process (the loader caches the files). */
function trainSet(cfg: TokenizerConfig): ImageDataset {
  return loadFashionMnist("train", cfg.trainLimit > 0 ? { limit: cfg.trainLimit } : {});
}

/** A TrainTask for a resolved tokenizer config; parameters are initialised from config.seed. */
export function makeTokenizerTask(cfg: TokenizerConfig): TokenizerTask {
  const tokenizer = new Tokenizer(tokenizerArch(cfg), cfg.seed);
  let ds: ImageDataset | null = null;
  const dataSeed = mixSeed(cfg.seed, "tokenizer-data");
  return {
    kind: "tokenizer",
    config: cfg,
    params: tokenizer.params,
    tokenizer,
    batch(step: number): tf.Tensor4D {
      ds ??= trainSet(cfg);
      return imageBatch(ds, batchIndices(dataSeed, step, cfg.batchSize, ds.n));
    },
    loss: (x) => tokenizer.loss(x),
    disposeBatch: (x) => x.dispose(),
    flopsPerStep: tokenizer.flops().trainPerImage * cfg.batchSize,
    evaluate: async () => {
      const ev = await evaluateTokenizer(tokenizer, { limit: cfg.evalLimit, examples: 0 });
      const r = ev.row;
      return { psnr: r.psnr, ssim: r.ssim, l1: r.l1, entropy: r.entropy, utilisation: r.utilisation, usage: r.usage, perplexity: r.perplexity, endBinMass: r.endBinMass };
    },
    dispose: () => tokenizer.dispose(),
  };
}

registerTrainKind("tokenizer", {
  description: "FSQ / iFSQ conv tokenizer on Fashion-MNIST (32×32×1 → 8×8×d), L1 loss",
  configDef: tokenizerConfig,
  makeTask: (cfg) => makeTokenizerTask(cfg),
});

export interface TrainTokenizerOptions extends ResolveOptions<typeof TokenizerConfigSchema> {
  /** A resolved config (skips preset/overrides/set). */
  config?: TokenizerConfig;
  runsDir?: string;
  /** Passed to the trainer (progress sink, log, …). */
  train?: Omit<TrainOptions, "runsDir">;
}

export interface TrainedTokenizer {
  tokenizer: Tokenizer;
  config: TokenizerConfig;
  runDir: string;
  /** Every metrics row of the run. */
  metrics: MetricsRow[];
  /** Whether a finished run with this exact config was found and loaded instead of trained. */
  reused: boolean;
}

/**
 * Trains a tokenizer for a config, or loads the finished run with the same config (its EMA weights when the run
 * had EMA). An unfinished run of the same config is resumed from its newest checkpoint.
 */
export async function trainTokenizer(opts: TrainTokenizerOptions = {}): Promise<TrainedTokenizer> {
  const config = opts.config ?? resolveTokenizerConfig(opts);
  const found = findFinishedRun("tokenizer", config, { runsDir: opts.runsDir });
  if (found) {
    const tokenizer = new Tokenizer(tokenizerArch(config), config.seed);
    loadRunWeights(found, tokenizer.params);
    return { tokenizer, config, runDir: found.dir, metrics: found.metrics, reused: true };
  }
  const task = makeTokenizerTask(config);
  try {
    const res = await train(task, { ...opts.train, runsDir: opts.runsDir });
    return { tokenizer: task.tokenizer, config, runDir: res.runDir, metrics: res.metrics, reused: false };
  } catch (e) {
    task.dispose();
    throw e;
  }
}
