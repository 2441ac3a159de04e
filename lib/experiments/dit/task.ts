/**
 * The `dit` kind: a TrainTask for a DiT trained by flow matching on a tokenizer run's quantized latents, and
 * train-or-reuse of a config's run.
 *
 *   const env = runEnv();                                    // lib/experiments/kinds.ts
 *   const dit = await trainDiT(env, { preset: "quick" });    // reuses a finished run of the same config
 *
 * Latents (paper §6): x₁ = ẑ · m, the quantized codes of the 8×8×d grid (from the token cache, ../latents.ts) times
 * the latent multiplier m = 1/std(ẑ) over the training latents (the paper's 1.092421 for ImageNet). m is computed from
 * the data, written to `<run>/latent.json` with the tokenizer run id and hash, and kept in every checkpoint (a resume
 * checks it, and so does loading a finished run).
 * Loss: x_t = t·x₁ + (1 − t)·x₀, x₀ ~ N(0, I), t ~ logit-normal; ‖v̂(x_t, t, y) − (x₁ − x₀)‖² + w·(1 − cos) (lib/flow).
 * With `repa`: + λ·L_REPA of the hidden states after block ℓ, token i aligned with the teacher's patch i
 * (repa-training/alignment.ts).
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../../rng";
import { DiT } from "../../models/dit";
import { FASHION_MNIST_CLASSES } from "../../data/fashion-mnist";
import { batchIndices } from "../../data/batches";
import { flowPair } from "../../flow/path";
import { flowMatchingLoss } from "../../flow/loss";
import { writeFileAtomic } from "../../atomic";
import type { TrainTask } from "../../train/trainer";
import { Run } from "../../train/run";
import { reuseAndLoad, type ReuseOptions, type ReusedRun, type RunEnv } from "../env";
import { gatherExamples, trainLatents, type LatentSet } from "../latents";
import { generatorTokenizer, inRunEvaluation } from "../generator";
import { setupRepa, type RepaTraining } from "../repa-training/alignment";
import { ditConfig, ditArch, type DiTConfig, type DiTConfigSchema } from "./config";
import { ditEvalDraw, type DiTModel } from "./sample";
import { inRunFidManifests } from "../fid-manifests";

export interface DiTBatch {
  /** x₁ = codes·m [B, g, g, d] */
  x1: tf.Tensor4D;
  labels: tf.Tensor1D;
  /** REPA targets [B, T, Dt] (teacher feature of patch i for token i), when REPA is on. */
  targets?: tf.Tensor3D;
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

/** Reads `<run>/latent.json` of a DiT run folder (null when absent). */
export function readLatentRecord(runDir: string): LatentRecord | null {
  const f = path.join(runDir, "latent.json");
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as LatentRecord) : null;
}

/** The latent multiplier of a config on a latent set: the configured value, else 1/std. */
export function latentMultiplierOf(cfg: DiTConfig, latents: LatentSet): number {
  if (cfg.latentMultiplier > 0) return cfg.latentMultiplier;
  if (!(latents.std > 0)) throw new Error(`dit: the training latents have std ${latents.std}; cannot normalise them (is the tokenizer collapsed?)`);
  return 1 / latents.std;
}

function checkMultiplier(cfg: DiTConfig, stored: number, m: number, where: string): void {
  if (Math.abs(stored - m) > 1e-6 * m) {
    throw new Error(`dit: ${where} was trained with latent multiplier ${stored}, but the training latents now give ${m}; the token cache of ${cfg.tokenizerRun} changed (start over with --fresh)`);
  }
}

type BuiltDiT = DiTModel & { latents: LatentSet; tokenizerRunDir: string; dispose(): void };

/** The DiT of a config on its tokenizer run's latents (weights from config.seed), with m and the latent set. */
async function buildDiT(cfg: DiTConfig, env: RunEnv): Promise<BuiltDiT> {
  const { tokenizer, runDir } = await generatorTokenizer(env, "dit", cfg);
  try {
    const latents = await trainLatents(tokenizer, runDir, { n: cfg.trainLimit, tokenizerHash: cfg.tokenizerHash, log: env.log });
    const classNames = FASHION_MNIST_CLASSES;
    const model = new DiT(ditArch(cfg, latents.grid, latents.channels, classNames.length), cfg.seed);
    const dispose = () => (model.dispose(), tokenizer.dispose());
    return { model, tokenizer, config: cfg, latentMultiplier: latentMultiplierOf(cfg, latents), classNames, env, latents, tokenizerRunDir: runDir, dispose };
  } catch (e) {
    tokenizer.dispose();
    throw e;
  }
}

export interface DiTTask extends TrainTask<DiTBatch>, BuiltDiT {
  config: DiTConfig;
  /** REPA's projector and targets (training only), when the config has `repa`. */
  repa: RepaTraining | null;
}

/**
 * A TrainTask for a resolved DiT config: trains or reuses the tokenizer run, reads (or extracts once) its training
 * latents, computes the latent multiplier (written to `<run>/latent.json`), builds the model from config.seed.
 */
export async function makeDiTTask(cfg: DiTConfig, env: RunEnv): Promise<DiTTask> {
  const dit = await buildDiT(cfg, env);
  const { model, latents, latentMultiplier: m } = dit;
  let repa: RepaTraining | null;
  try {
    repa = await setupRepa(env, "dit", cfg.repa, { params: model.params, dim: cfg.dim, depth: cfg.depth, grid: latents.grid }, { tokenizerRunDir: dit.tokenizerRunDir, n: latents.n });
  } catch (e) {
    dit.dispose();
    throw e;
  }
  const record: LatentRecord = { latentMultiplier: m, latentMean: latents.mean, latentStd: latents.std, n: latents.n, tokenizerRun: cfg.tokenizerRun, tokenizerHash: cfg.tokenizerHash };
  writeFileAtomic(path.join(Run.locate("dit", cfg, env.runsDir).dir, "latent.json"), JSON.stringify(record, null, 2) + "\n");
  const per = latents.grid * latents.grid * latents.channels;
  const dataSeed = mixSeed(cfg.seed, "dit-data");
  const tOpts = { distribution: cfg.timeDist, mean: cfg.timeMean, std: cfg.timeStd };
  return {
    ...dit,
    kind: "dit",
    params: model.params,
    repa,
    batch(step: number): DiTBatch {
      const idx = batchIndices(dataSeed, step, cfg.batchSize, latents.n);
      const { rows: x, labels } = gatherExamples(latents.codes, latents.labels, idx, per);
      for (let i = 0; i < x.length; i++) x[i] *= m;
      const b: DiTBatch = { x1: tf.tensor4d(x, [idx.length, latents.grid, latents.grid, latents.channels]), labels: tf.tensor1d(labels, "int32") };
      if (repa) b.targets = repa.targetBatch(idx);
      return b;
    },
    loss: (b, ctx): { loss: tf.Scalar; parts: Record<string, tf.Scalar> } => {
      const y = model.dropLabels(b.labels, cfg.labelDropout, mixSeed(ctx.seed, "labels"), ctx.rows);
      const pair = flowPair(b.x1, mixSeed(ctx.seed, "flow"), tOpts, ctx.rows);
      const out = model.forward(pair.xt, pair.t, y, repa ? { hiddenAfter: repa.config.depth } : {});
      const r = flowMatchingLoss(out.velocity, pair.target, { cosineWeight: cfg.cosineWeight });
      if (!repa) return { loss: r.loss, parts: { mse: r.mse, cosine: r.cosine } };
      // token i of the hidden states after block ℓ is aligned with patch i
      const { weighted, align } = repa.term(out.hidden!, b.targets!);
      return { loss: tf.add(r.loss, weighted) as tf.Scalar, parts: { mse: r.mse, cosine: r.cosine, repa: align } };
    },
    disposeBatch: (b) => tf.dispose([b.x1, b.labels, ...(b.targets ? [b.targets] : [])]),
    flopsPerStep: (model.flops().trainPerSample + (repa?.flopsPerSample ?? 0)) * cfg.batchSize,
    ...inRunEvaluation("dit", cfg, {
      env,
      draw: ditEvalDraw(dit),
      numClasses: dit.classNames.length,
      runDir: Run.locate("dit", cfg, env.runsDir).dir,
      fidManifests: inRunFidManifests("dit", cfg, dit.classNames.length),
    }),
    extraState: {
      get: () => ({ latentMultiplier: m, tokenizerRun: cfg.tokenizerRun }),
      set: (s) => {
        if (typeof s.latentMultiplier === "number") checkMultiplier(cfg, s.latentMultiplier, m, "the checkpoint");
      },
    },
  };
}

export type TrainedDiT = BuiltDiT & ReusedRun;

/**
 * The DiT of a config with its finished run's final weights (EMA when the run had EMA): the run is reused, or trained
 * now (the tokenizer run first when it is missing; an unfinished run resumes from its checkpoint). The latent
 * multiplier recorded with the run must equal the one the token cache gives now.
 */
export function trainDiT(env: RunEnv, opts: ReuseOptions<typeof DiTConfigSchema> = {}): Promise<TrainedDiT> {
  const check = (run: { dir: string }, dit: BuiltDiT) => {
    const rec = readLatentRecord(run.dir);
    if (rec) checkMultiplier(dit.config, rec.latentMultiplier, dit.latentMultiplier, run.dir);
  };
  return reuseAndLoad(env, "dit", ditConfig, opts, (cfg) => buildDiT(cfg, env), (m) => m.model.params, check);
}
