/**
 * The teacher's quality: a linear probe of its pooled features (is the representation semantic?), and the pooled
 * features of any image set (for CKNNA against the FID network's features).
 */
import * as tf from "@tensorflow/tfjs";
import type { PatchTeacher } from "../../models/teacher";
import { imageBatch } from "../../data/batches";
import { loadFashionMnist, type ImageDataset } from "../../data/fashion-mnist";
import { linearProbe, type ProbeResult } from "../../eval/linear-probe";

/** Mean-pooled teacher features [n, Dt] of the first n images of a data set, in batches. */
export function teacherPooled(teacher: PatchTeacher, ds: ImageDataset, n = ds.n, batchSize = 500): Float32Array {
  const D = teacher.arch.featureDim;
  const out = new Float32Array(n * D);
  for (let lo = 0; lo < n; lo += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - lo) }, (_, i) => lo + i);
    const f = tf.tidy(() => teacher.forward(imageBatch(ds, idx)).pooled);
    out.set(f.dataSync() as Float32Array, lo * D);
    f.dispose();
  }
  return out;
}

/** Linear probe of the pooled features: fitted on the first `train` training images, scored on `test` test images (0 = all). */
export function teacherProbe(teacher: PatchTeacher, opts: { train: number; test: number }): ProbeResult {
  const tr = loadFashionMnist("train", { limit: opts.train });
  const te = loadFashionMnist("test", opts.test > 0 ? { limit: opts.test } : {});
  const D = teacher.arch.featureDim;
  return linearProbe({ features: teacherPooled(teacher, tr), labels: tr.labels, n: tr.n }, { features: teacherPooled(teacher, te), labels: te.labels, n: te.n }, D, 10);
}
