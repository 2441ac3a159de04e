/**
 * Equal training compute for REPA runs: a REPA run's step costs its baseline's plus the projector's
 * 6·T·(D·H + H·H + H·Dt) FLOPs per sample, so it takes ⌊S · F_base / (F_base + F_proj)⌋ steps for a baseline of S
 * steps (never more compute than the baseline; at most one step's worth less). Pure functions of resolved configs
 * (no weights are built): the `repa` sweep's step counts are checked against them in its test.
 */
import { FSQ } from "../quant/fsq";
import { llamaGenFlops, tokenLayout } from "../models/llamagen";
import { ditFlops } from "../models/dit";
import { FASHION_MNIST_CLASSES } from "../data/fashion-mnist";
import { boundOf, tokenizerArch } from "./tokenizer/config";
import { llamaGenArch, type ArConfig } from "./ar/config";
import { ditArch, type DiTConfig } from "./dit/config";
import { repaTrainFlopsPerSample } from "./repa-training/alignment";

/** Latent grid side of a generator config's tokenizer (32 / 2^(levels of the encoder − 1)). */
export function latentGrid(cfg: ArConfig | DiTConfig): number {
  const a = tokenizerArch(cfg.tokenizer);
  return a.imageSize / 2 ** (a.channels.length - 1);
}

/** Training FLOPs per sample of a generator config, the REPA projector's included. */
export function generatorTrainFlopsPerSample(kind: "ar" | "dit", cfg: ArConfig | DiTConfig): number {
  const g = latentGrid(cfg);
  const C = FASHION_MNIST_CLASSES.length;
  let flops: number;
  if (kind === "ar") {
    const ar = cfg as ArConfig;
    const layout = tokenLayout(new FSQ({ levels: [...ar.tokenizer.levels], bound: boundOf(ar.tokenizer) }), ar.tokens, ar.channelsPerGroup);
    flops = llamaGenFlops(llamaGenArch(ar, layout, g, C)).trainPerSample;
  } else {
    flops = ditFlops(ditArch(cfg as DiTConfig, g, cfg.tokenizer.levels.length, C)).trainPerSample;
  }
  return flops + (cfg.repa ? repaTrainFlopsPerSample(cfg.repa, cfg.dim, g * g) : 0);
}

/** Steps of a REPA config with the training compute of a baseline config of `baseSteps` steps (same batch). */
export function equalFlopSteps(kind: "ar" | "dit", base: ArConfig | DiTConfig, repa: ArConfig | DiTConfig): number {
  if (base.batchSize !== repa.batchSize) throw new Error(`equalFlopSteps: batch ${repa.batchSize} vs the baseline's ${base.batchSize}; equal steps·batch are assumed`);
  return Math.floor((base.steps * generatorTrainFlopsPerSample(kind, base)) / generatorTrainFlopsPerSample(kind, repa));
}
