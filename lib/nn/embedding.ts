/**
 * Embedding lookup: out[..., :] = table[ids[...], :].
 *
 * Forward `tf.gather`; backward `tf.scatterND`, which sums rows of duplicate ids. (The default gradient of gather is
 * UnsortedSegmentSum: missing on wasm, O(V·N·d) on tfjs cpu.)
 */
import * as tf from "@tensorflow/tfjs";
import { customOp } from "./custom";

/** table [V, d], ids int32 [...] (values in [0, V)) → [..., d]. Ids are not range-checked here (see checkIds). */
export function embedding(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  if (table.rank !== 2) throw new Error(`embedding: table must be [V, d], got [${table.shape}]`);
  if (ids.dtype !== "int32") throw new Error(`embedding: ids must be int32, got ${ids.dtype}`);
  const [V, d] = table.shape as [number, number];
  const outShape = [...ids.shape, d];
  const n = ids.size;
  return customOp(
    [table],
    (save) => {
      const flat = tf.reshape(ids, [n]);
      save([flat]);
      return tf.reshape(tf.gather(table, flat), outShape);
    },
    (dy, [flat]) => [() => tf.scatterND(tf.reshape(flat, [n, 1]), tf.reshape(dy, [n, d]), [V, d])],
  );
}

/** Throws a clear error when an id is outside [0, V) (reads the ids back: use on inputs, not in hot loops). */
export function checkIds(ids: tf.Tensor | Int32Array | number[], V: number, what = "ids"): void {
  const vals = ids instanceof tf.Tensor ? ids.dataSync() : ids;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if (!Number.isInteger(v) || v < 0 || v >= V) throw new Error(`${what}[${i}]=${v} is out of range; expected an integer in [0, ${V})`);
  }
}
