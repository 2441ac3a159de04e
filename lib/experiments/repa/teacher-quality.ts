/**
 * The REPA teacher's quality, the first table of notebook 07: its linear-probe accuracy (measured when its run
 * finished), and how far it is from the FID feature network, CKNNA(teacher pooled features, FID features) on the
 * first n test images (k = 10). A CKNNA well below 1 says the teacher is not a copy of the network that scores gFID,
 * so aligning to it does not optimise the metric directly.
 */
import * as tf from "@tensorflow/tfjs";
import { cknna } from "../../eval/cknna";
import { imageBatch } from "../../data/batches";
import { loadFashionMnist } from "../../data/fashion-mnist";
import type { FeatureNet } from "../featurenet/task";
import type { LoadedTeacher } from "../teacher/task";
import { teacherPooled } from "../teacher/evaluate";

export interface TeacherQuality {
  teacherRun: string;
  /** Linear probe, top-1 on the test split. */
  probeAccuracy: number;
  /** The FID network's own classification accuracy (a supervised ceiling for the probe). */
  featureNetAccuracy: number;
  featureNetRun: string;
  /** CKNNA(teacher, FID network) on n test images. */
  cknnaToFeatureNet: number;
  n: number;
  featureDim: number;
  patchGrid: number;
}

/** The teacher's quality numbers on the first n test images. */
export function teacherQuality(t: LoadedTeacher, net: FeatureNet, opts: { n: number; k?: number }): TeacherQuality {
  const ds = loadFashionMnist("test", { limit: opts.n });
  const a = teacherPooled(t.teacher, ds);
  const idx = Array.from({ length: ds.n }, (_, i) => i);
  const f = tf.tidy(() => net.net.forward(imageBatch(ds, idx)).features);
  const b = f.dataSync() as Float32Array;
  f.dispose();
  return {
    teacherRun: t.runId,
    probeAccuracy: t.probeAccuracy,
    featureNetAccuracy: net.testAccuracy,
    featureNetRun: net.runId,
    cknnaToFeatureNet: cknna(a, b, ds.n, t.teacher.arch.featureDim, net.featureDim, { k: opts.k ?? 10 }),
    n: ds.n,
    featureDim: t.teacher.arch.featureDim,
    patchGrid: t.teacher.grid,
  };
}
