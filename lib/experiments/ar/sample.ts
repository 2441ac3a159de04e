/**
 * Sampling from an AR model: class-conditional token generation with a KV cache (lib/models/llamagen `generate`),
 * then the tokenizer's decoder.
 *
 *   const x = await sampleImages(ar, [0, 1, 2], { cfgScale: 2 });   // [3, 32, 32, 1] on about [−1, 1]
 *
 * CFG on logits: ℓ = ℓ_null + s·(ℓ_cond − ℓ_null) per sub-token; then temperature, top-k, top-p, a multinomial draw.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../../rng";
import { tokensToCodes, type GenerateOptions, type LlamaGen, type TokenLayout } from "../../models/llamagen";
import type { SamplingOptions } from "../../models/sampling";
import type { Tokenizer } from "../../models/tokenizer";
import type { RunEnv } from "../env";
import type { EvalDraw } from "../generator";
import type { ArConfig } from "./config";

/** A trained (or training) AR model with everything needed to sample from it and evaluate it. */
export interface ArModel {
  model: LlamaGen;
  tokenizer: Tokenizer;
  layout: TokenLayout;
  config: ArConfig;
  classNames: readonly string[];
  /** Where its feature network for gFID is found or trained. */
  env: RunEnv;
}

/** In-run sampling settings of a config. */
export function evalSampling(cfg: ArConfig): SamplingOptions {
  return { cfgScale: cfg.evalCfgScale, temperature: cfg.evalTemperature, topK: cfg.evalTopK, topP: cfg.evalTopP };
}

/** Sampled tokens [batch·T·G] → images [B, S, S, C] through the tokenizer's decoder (values about [−1, 1]). */
export function decodeTokens(ar: ArModel, tokens: Int32Array, batch: number): tf.Tensor4D {
  const { model, tokenizer, layout } = ar;
  model.checkLayout(layout);
  return tf.tidy(() => {
    const t = tf.tensor3d(tokens, [batch, model.seqLen, model.numGroups], "int32");
    return tokenizer.decode(tokensToCodes(layout, t, model.arch.gridH, model.arch.gridW));
  });
}

/** The in-run evaluation's draw (generator.ts EvalDraw): the config's sampling settings at CFG scale `cfgScale`. */
export function arEvalDraw(ar: ArModel): EvalDraw {
  return (classes, seed, cfgScale) => sampleImages(ar, classes, { ...evalSampling(ar.config), cfgScale, seed, batchSize: ar.config.sampleBatch });
}

/** Samples images for the given classes (in [0, C); C = unconditional), in batches of `batchSize`. */
export async function sampleImages(ar: ArModel, classes: ArrayLike<number>, opts: GenerateOptions & { batchSize?: number } = {}): Promise<tf.Tensor4D> {
  const bs = opts.batchSize ?? ar.config.sampleBatch;
  const cls = Array.from(classes);
  const parts: tf.Tensor4D[] = [];
  try {
    for (let lo = 0, b = 0; lo < cls.length; lo += bs, b++) {
      const c = cls.slice(lo, lo + bs);
      const toks = await ar.model.generate(c, { ...opts, seed: mixSeed(opts.seed ?? 0, "batch", b) });
      parts.push(decodeTokens(ar, toks, c.length));
    }
    return parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor4D);
  } finally {
    if (parts.length > 1) tf.dispose(parts);
  }
}
