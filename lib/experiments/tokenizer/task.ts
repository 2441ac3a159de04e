/**
 * The `tokenizer` kind: a TrainTask on Fashion-MNIST (L1 reconstruction of 32×32×1 images through the FSQ / iFSQ
 * bottleneck, 8×8×d latents), and train-or-reuse of a config's run.
 *
 *   const env = runEnv();                                              // lib/experiments/kinds.ts
 *   const { tokenizer, metrics } = await trainTokenizer(env, { preset: "quick", overrides: { bound: "tanh" } });
 *
 * Same seed ⇒ the same initial weights (parameter names do not depend on the bound) and the same batches (and flips),
 * so an FSQ and an iFSQ run that differ only in `bound` are a controlled comparison.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../../rng";
import { Tokenizer } from "../../models/tokenizer";
import { loadFashionMnist, type ImageDataset } from "../../data/fashion-mnist";
import { batchIndices, gatherImages, randomHFlip } from "../../data/batches";
import type { TrainKind } from "../../train/registry";
import type { TrainTask } from "../../train/trainer";
import { reuseAndLoad, type ReuseOptions, type ReusedRun, type RunEnv } from "../env";
import { tokenizerConfig, tokenizerArch, type TokenizerConfig, type TokenizerConfigSchema } from "./config";
import { evaluateTokenizer } from "./evaluate";

export interface TokenizerTask extends TrainTask<tf.Tensor4D> {
  config: TokenizerConfig;
  tokenizer: Tokenizer;
  /** Frees the model. */
  dispose(): void;
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
      ds ??= loadFashionMnist("train", cfg.trainLimit > 0 ? { limit: cfg.trainLimit } : {});
      const idx = batchIndices(dataSeed, step, cfg.batchSize, ds.n);
      const shape = [idx.length, ds.height, ds.width, ds.channels] as const;
      const x = gatherImages(ds, idx);
      if (cfg.hflip) randomHFlip(x, shape, mixSeed(dataSeed, "hflip", step));
      return tf.tensor4d(x, [...shape]);
    },
    loss: (x) => tokenizer.loss(x),
    disposeBatch: (x) => x.dispose(),
    flopsPerStep: tokenizer.flops().trainPerImage * cfg.batchSize,
    evaluate: async () => {
      const r = (await evaluateTokenizer(tokenizer, { limit: cfg.evalLimit, examples: 0 })).row;
      return { psnr: r.psnr, ssim: r.ssim, l1: r.l1, entropy: r.entropy, utilisation: r.utilisation, usage: r.usage, perplexity: r.perplexity, endBinMass: r.endBinMass };
    },
    dispose: () => tokenizer.dispose(),
  };
}

export const tokenizerKind: TrainKind<typeof TokenizerConfigSchema> = {
  description: "FSQ / iFSQ conv tokenizer on Fashion-MNIST (32×32×1 → 8×8×d), L1 loss",
  configDef: tokenizerConfig,
  makeTask: (cfg) => makeTokenizerTask(cfg),
};

export type TrainTokenizerOptions = ReuseOptions<typeof TokenizerConfigSchema>;

export interface TrainedTokenizer extends ReusedRun {
  tokenizer: Tokenizer;
  config: TokenizerConfig;
  /** Frees the tokenizer. */
  dispose(): void;
}

/**
 * The tokenizer of a config: its finished run's final weights (EMA when the run had EMA), training the run first
 * when it is missing (an unfinished run resumes from its newest checkpoint).
 */
export function trainTokenizer(env: RunEnv, opts: TrainTokenizerOptions = {}): Promise<TrainedTokenizer> {
  const build = (config: TokenizerConfig) => {
    const tokenizer = new Tokenizer(tokenizerArch(config), config.seed);
    return { tokenizer, config, dispose: () => tokenizer.dispose() };
  };
  return reuseAndLoad(env, "tokenizer", tokenizerConfig, opts, build, (m) => m.tokenizer.params);
}
