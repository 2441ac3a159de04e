/**
 * The `teacher` kind: a TrainTask for the REPA teacher (SimCLR on augmented views, no labels), and the frozen
 * teacher a REPA run aligns to, loaded from its finished run (trained once when missing, then reused).
 *
 *   const t = await loadTeacher(env, "quick");    // t.teacher: PatchTeacher, t.probeAccuracy, t.runId
 *
 * Batch of step s: B training images (seeded epoch order), two views each (data/augment, Rng(seed, "views", s)),
 * x [2B, 32, 32, 1]. Loss: NT-Xent(project(mean-pooled patch features)).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../rng";
import { PatchTeacher } from "../../models/teacher";
import { ntXent } from "../../nn/nt-xent";
import { twoViews } from "../../data/augment";
import { batchIndices, gatherImages } from "../../data/batches";
import { loadFashionMnist, type ImageDataset } from "../../data/fashion-mnist";
import type { TrainKind } from "../../train/registry";
import type { TrainTask } from "../../train/trainer";
import { runId } from "../../train/run";
import { presetConfig, type PresetName } from "../../train/config";
import { reuseAndLoad, type RunEnv } from "../env";
import { teacherArch, teacherConfig, type TeacherConfig, type TeacherConfigSchema } from "./config";
import { teacherProbe } from "./evaluate";

export interface TeacherTask extends TrainTask<{ x: tf.Tensor4D }> {
  config: TeacherConfig;
  teacher: PatchTeacher;
  dispose(): void;
}

/** A TrainTask for a resolved teacher config; weights are initialised from config.seed. */
export function makeTeacherTask(cfg: TeacherConfig): TeacherTask {
  const teacher = new PatchTeacher(teacherArch(cfg), cfg.seed);
  let ds: ImageDataset | null = null;
  const S = teacher.arch.side;
  return {
    kind: "teacher",
    config: cfg,
    params: teacher.params,
    teacher,
    batch(step) {
      ds ??= loadFashionMnist("train", cfg.trainLimit > 0 ? { limit: cfg.trainLimit } : {});
      const idx = batchIndices(cfg.seed, step, cfg.batchSize, ds.n);
      const views = twoViews(gatherImages(ds, idx), idx.length, S, new Rng(cfg.seed, "views", step), { minCrop: cfg.minCrop, noise: cfg.noise });
      return { x: tf.tensor4d(views, [2 * idx.length, S, S, 1]) };
    },
    loss: (b) => ({ loss: tf.tidy(() => ntXent(teacher.project(teacher.forward(b.x).pooled), cfg.temperature)) }),
    disposeBatch: (b) => b.x.dispose(),
    flopsPerStep: 2 * 3 * teacher.macsPerImage() * 2 * cfg.batchSize,
    evaluate: async () => {
      const p = teacherProbe(teacher, { train: cfg.probeTrain, test: cfg.probeTest });
      return { probeAccuracy: p.testAccuracy, probeTrainAccuracy: p.trainAccuracy };
    },
    dispose: () => teacher.dispose(),
  };
}

export const teacherKind: TrainKind<typeof TeacherConfigSchema> = {
  description: "the REPA teacher: a self-supervised (SimCLR) patch encoder on an 8×8 grid, standing in for DINOv2",
  configDef: teacherConfig,
  dataParallel: "its NT-Xent loss takes every other row of the batch as a negative, so a shard's loss is not part of the batch's",
  makeTask: (cfg) => makeTeacherTask(cfg),
};

/** A trained teacher with its provenance. */
export interface LoadedTeacher {
  teacher: PatchTeacher;
  config: TeacherConfig;
  /** `teacher-<hash12>`: keys the cached patch features of the training images. */
  runId: string;
  dir: string;
  /** Linear-probe top-1 accuracy on the test split, measured at the end of training. */
  probeAccuracy: number;
  reused: boolean;
}

/** The teacher of a preset (or a resolved config): its finished run, trained now when missing. */
export async function loadTeacher(env: RunEnv, which: PresetName | TeacherConfig): Promise<LoadedTeacher> {
  const config = typeof which === "string" ? presetConfig(teacherConfig, which) : which;
  const build = (cfg: TeacherConfig) => {
    const teacher = new PatchTeacher(teacherArch(cfg), cfg.seed);
    return { teacher, dispose: () => teacher.dispose() };
  };
  const r = await reuseAndLoad(env, "teacher", teacherConfig, { config }, build, (m) => m.teacher.params);
  const probes = r.metrics.filter((m) => m.type === "eval" && m.probeAccuracy !== undefined);
  const probeAccuracy = probes.length ? Number(probes[probes.length - 1].probeAccuracy) : NaN;
  return { teacher: r.teacher, config, runId: runId("teacher", config), dir: r.runDir, probeAccuracy, reused: r.reused };
}
