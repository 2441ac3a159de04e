/** Top-1 accuracy of the feature network's classifier: the one number that says the network is usable for FID. */
import * as tf from "@tensorflow/tfjs";
import type { Classifier } from "../../models/classifier";
import { imageBatch } from "../../data/batches";
import type { ImageDataset } from "../../data/fashion-mnist";

/** Top-1 accuracy of the network on a data set, in batches: mean over i of [argmax logits(x_i) = y_i]. */
export function classifierAccuracy(net: Classifier, ds: ImageDataset, batchSize = 500): number {
  let correct = 0;
  for (let lo = 0; lo < ds.n; lo += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, ds.n - lo) }, (_, i) => lo + i);
    const pred = tf.tidy(() => tf.argMax(net.forward(imageBatch(ds, idx)).logits, 1));
    const p = pred.dataSync();
    pred.dispose();
    for (let i = 0; i < idx.length; i++) if (p[i] === ds.labels[idx[i]]) correct++;
  }
  return correct / ds.n;
}
