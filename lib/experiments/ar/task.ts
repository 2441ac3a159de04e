/**
 * The `ar` kind: a TrainTask for LlamaGen on a tokenizer run's cached tokens, and train-or-reuse of a config's run.
 *
 *   const env = runEnv();                                  // lib/experiments/kinds.ts
 *   const ar = await trainAr(env, { preset: "quick" });    // reuses a finished run of the same config
 *
 * Loss (lib/models/llamagen): Σ_g CE_g over the G sub-tokens of every position, each the mean over batch and the
 * T = 64 positions; class → null with probability labelDropout (CFG). With `repa`: + λ·L_REPA of the hidden states
 * after block ℓ, position i aligned with the teacher's patch i, the one it predicts (repa-training/alignment.ts). Batch: rows of the token cache, one image's
 * T·G sub-tokens each [B, T, G] int32, with its class [B].
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../../rng";
import { LlamaGen, tokenLayout, indicesToTokenArray } from "../../models/llamagen";
import { FASHION_MNIST_CLASSES } from "../../data/fashion-mnist";
import { batchIndices } from "../../data/batches";
import type { TrainTask } from "../../train/trainer";
import { reuseAndLoad, type ReuseOptions, type ReusedRun, type RunEnv } from "../env";
import { gatherExamples, trainTokens, type TokenSet } from "../latents";
import { generatorTokenizer, inRunEvaluation } from "../generator";
import { setupRepa, type RepaTraining } from "../repa-training/alignment";
import { arConfig, llamaGenArch, type ArConfig, type ArConfigSchema } from "./config";
import { arEvalDraw, type ArModel } from "./sample";
import { Run } from "../../train/run";
import { inRunFidManifests } from "../fid-manifests";

export interface ArBatch {
  classes: tf.Tensor1D;
  tokens: tf.Tensor3D;
  /** REPA targets [B, T, Dt] (teacher feature of the patch each position predicts), when REPA is on. */
  targets?: tf.Tensor3D;
}

export interface ArTask extends TrainTask<ArBatch>, ArModel {
  config: ArConfig;
  tokens: TokenSet;
  tokenizerRunDir: string;
  /** REPA's projector and targets (training only), when the config has `repa`. */
  repa: RepaTraining | null;
  dispose(): void;
}

/** The AR model of a config on its tokenizer run (weights from config.seed), and that run's folder. */
async function buildAr(cfg: ArConfig, env: RunEnv): Promise<ArModel & { tokenizerRunDir: string; dispose(): void }> {
  const { tokenizer, runDir } = await generatorTokenizer(env, "ar", cfg);
  try {
    const layout = tokenLayout(tokenizer.fsq, cfg.tokens, cfg.channelsPerGroup);
    const classNames = FASHION_MNIST_CLASSES;
    const model = new LlamaGen(llamaGenArch(cfg, layout, tokenizer.gridSize, classNames.length), cfg.seed);
    model.checkLayout(layout);
    const dispose = () => (model.dispose(), tokenizer.dispose());
    return { model, tokenizer, layout, config: cfg, classNames, env, tokenizerRunDir: runDir, dispose };
  } catch (e) {
    tokenizer.dispose();
    throw e;
  }
}

/**
 * A TrainTask for a resolved AR config: trains or reuses the tokenizer run, extracts (or reads) the cached tokens,
 * builds the model from config.seed.
 */
export async function makeArTask(cfg: ArConfig, env: RunEnv): Promise<ArTask> {
  const ar = await buildAr(cfg, env);
  let tokens: TokenSet;
  let repa: RepaTraining | null;
  try {
    tokens = await trainTokens(ar.tokenizer, ar.tokenizerRunDir, { n: cfg.trainLimit, tokenizerHash: cfg.tokenizerHash, log: env.log });
    const grid = ar.model.arch.gridH;
    repa = await setupRepa(env, "ar", cfg.repa, { params: ar.model.params, dim: cfg.dim, depth: cfg.depth, grid }, { tokenizerRunDir: ar.tokenizerRunDir, n: tokens.n });
  } catch (e) {
    ar.dispose();
    throw e;
  }
  const { model, layout } = ar;
  const T = model.seqLen;
  const G = model.numGroups;
  const dataSeed = mixSeed(cfg.seed, "ar-data");
  return {
    ...ar,
    kind: "ar",
    params: model.params,
    tokens,
    repa,
    batch(step: number): ArBatch {
      const idx = batchIndices(dataSeed, step, cfg.batchSize, tokens.n);
      const { rows, labels } = gatherExamples(tokens.indices, tokens.labels, idx, T);
      const b: ArBatch = { classes: tf.tensor1d(labels, "int32"), tokens: tf.tensor3d(indicesToTokenArray(layout, rows), [idx.length, T, G], "int32") };
      if (repa) b.targets = repa.targetBatch(idx);
      return b;
    },
    loss: (b, ctx) => {
      const hiddenAt = repa ? [repa.config.depth] : undefined;
      const r = model.loss(b.classes, b.tokens, { seed: ctx.seed, labelDropout: cfg.labelDropout, tokenDropout: cfg.tokenDropout, residDropout: cfg.residDropout, hiddenAt, rows: ctx.rows });
      if (!repa) return { loss: r.loss, parts: r.parts };
      // position i of the hidden states predicts token i: aligned with patch i
      const { weighted, align } = repa.term(r.hidden[0], b.targets!);
      const loss = tf.add(r.loss, weighted) as tf.Scalar;
      return { loss, parts: { ...r.parts, repa: align } };
    },
    disposeBatch: (b) => tf.dispose([b.classes, b.tokens, ...(b.targets ? [b.targets] : [])]),
    flopsPerStep: (model.flops().trainPerSample + (repa?.flopsPerSample ?? 0)) * cfg.batchSize,
    ...inRunEvaluation("ar", cfg, {
      env,
      draw: arEvalDraw(ar),
      numClasses: ar.classNames.length,
      runDir: Run.locate("ar", cfg, env.runsDir).dir,
      fidManifests: inRunFidManifests("ar", cfg, ar.classNames.length),
    }),
  };
}

export interface TrainedAr extends ArModel, ReusedRun {
  tokenizerRunDir: string;
  dispose(): void;
}

/**
 * The AR model of a config with its finished run's final weights (EMA when the run had EMA): the run is reused, or
 * trained now (the tokenizer run first when it is missing; an unfinished run resumes from its checkpoint).
 */
export function trainAr(env: RunEnv, opts: ReuseOptions<typeof ArConfigSchema> = {}): Promise<TrainedAr> {
  return reuseAndLoad(env, "ar", arConfig, opts, (cfg) => buildAr(cfg, env), (m) => m.model.params);
}
