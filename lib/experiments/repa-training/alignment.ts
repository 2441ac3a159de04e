/**
 * REPA in a generator's training task (AR and DiT alike): the teacher run (trained or reused), its cached patch
 * features of the training images under the tokenizer run (teacher/features.ts), the training-only projector in the
 * task's ParamStore (nn/repa, names `repa.proj.*`), and the term added to the loss:
 *
 *   loss = generator loss + λ · L_REPA(h^{(ℓ)}, y),   parts.repa = L_REPA (−mean cos, unweighted)
 *
 * Token i of h^{(ℓ)} [B, T, D] is aligned with the teacher feature of latent cell i: for the AR model position i
 * (i = 0 is the class token) is the one that predicts token i, so each position is aligned with the patch it is
 * about to predict; for the DiT token i is cell i. Training FLOPs add 2·3·T·(D·H + H·H + H·Dt) per sample.
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamStore } from "../../nn/params";
import { repaLoss, repaProjector, repaProjectorMacs, type RepaProjector, type RepaProjectorDims } from "../../nn/repa";
import { trainingFlops } from "../../nn/flops";
import { presetConfig } from "../../train/config";
import type { RunEnv } from "../env";
import { loadTeacher } from "../teacher/task";
import { teacherConfig } from "../teacher/config";
import { teacherTargets, type PatchTargets } from "../teacher/features";
import { repaHidden, type RepaConfig } from "./config";

/** What a generator task needs for REPA. */
export interface RepaTraining {
  config: RepaConfig;
  projector: RepaProjector;
  targets: PatchTargets;
  /** `teacher-<hash12>` of the targets. */
  teacherRun: string;
  /** Training FLOPs of the projector per sample. */
  flopsPerSample: number;
  /** Targets of the examples `idx`: [idx.length, T, Dt] (the caller disposes it). */
  targetBatch(idx: ArrayLike<number>): tf.Tensor3D;
  /** λ·L_REPA and L_REPA of hidden states [B, T, D] against their targets [B, T, Dt]. */
  term(hidden: tf.Tensor3D, targets: tf.Tensor3D): { weighted: tf.Scalar; align: tf.Scalar };
}

/** The projector widths of a REPA config at model width D and teacher width Dt. */
export function projectorDims(repa: RepaConfig, dim: number, teacherDim: number): RepaProjectorDims {
  return { inDim: dim, hidden: repaHidden(repa, dim), outDim: teacherDim };
}

/** Training FLOPs per sample that REPA adds at model width D over T tokens (the teacher's width from its preset). */
export function repaTrainFlopsPerSample(repa: RepaConfig, dim: number, tokens: number): number {
  const Dt = presetConfig(teacherConfig, repa.teacher).featureDim;
  return trainingFlops(repaProjectorMacs(projectorDims(repa, dim, Dt), tokens));
}

/**
 * REPA for a generator config, or null when its `repa` key is absent: checks ℓ against the model depth, loads the
 * teacher (training it when missing), reads or computes the targets of the first n training images on the g×g
 * grid, and adds the projector to `params`.
 */
export async function setupRepa(
  env: RunEnv,
  kind: string,
  repa: RepaConfig | undefined,
  model: { params: ParamStore; dim: number; depth: number; grid: number },
  data: { tokenizerRunDir: string; n: number },
): Promise<RepaTraining | null> {
  if (!repa) return null;
  if (repa.depth > model.depth) throw new Error(`${kind}: repa.depth=${repa.depth} is not a block of this ${model.depth}-block model; expected 1 … ${model.depth}`);
  const t = await loadTeacher(env, repa.teacher);
  let targets: PatchTargets;
  try {
    targets = await teacherTargets(t, data.tokenizerRunDir, { n: data.n, grid: model.grid, log: env.log });
  } finally {
    t.teacher.dispose();
  }
  const T = model.grid * model.grid;
  const dims = projectorDims(repa, model.dim, targets.dim);
  const projector = repaProjector(model.params, dims);
  return {
    config: repa,
    projector,
    targets,
    teacherRun: t.runId,
    flopsPerSample: trainingFlops(repaProjectorMacs(dims, T)),
    targetBatch: (idx) => tf.tensor3d(targets.gather(idx), [idx.length, T, targets.dim]),
    term: (hidden, y) =>
      tf.tidy(() => {
        const align = repaLoss(hidden, y, projector);
        return { weighted: tf.mul(align, repa.weight) as tf.Scalar, align };
      }),
  };
}
