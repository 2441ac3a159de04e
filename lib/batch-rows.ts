/**
 * Batch rows: which rows [lo, hi) of a step's batch of `of` rows one gradient computation sees. A data-parallel
 * worker computes the gradient of its shard; a single process sees all rows (`rows` absent).
 *
 * Rule that makes a 2-worker run equal to the 1-process run: every random draw made per batch row (noise, times,
 * label and token dropout, residual dropout masks) is drawn for the whole batch from the step's seed and then cut to
 * the shard's rows. So row r gets the same noise on any sharding; only float summation order differs.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "./rng";

export interface BatchRows {
  /** first row of the shard */
  lo: number;
  /** one past its last row */
  hi: number;
  /** rows of the whole batch */
  of: number;
}

/** Rows of the whole batch when `rows` is absent: { lo: 0, hi: n, of: n }. Validates the range. */
export function rowsOrWhole(rows: BatchRows | undefined, n: number): BatchRows {
  if (!rows) return { lo: 0, hi: n, of: n };
  const { lo, hi, of } = rows;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && Number.isInteger(of) && 0 <= lo && lo < hi && hi <= of)) {
    throw new Error(`batch rows {lo: ${lo}, hi: ${hi}, of: ${of}}: expected integers 0 ≤ lo < hi ≤ of`);
  }
  if (hi - lo !== n) throw new Error(`batch rows {lo: ${lo}, hi: ${hi}, of: ${of}} name ${hi - lo} rows, but the tensor has ${n}`);
  return rows;
}

/** Whether `rows` is a proper part of the batch (not absent, not all of it). */
export function isShard(rows: BatchRows | undefined): rows is BatchRows {
  return !!rows && (rows.lo !== 0 || rows.hi !== rows.of);
}

/** The same shard of a batch whose rows were each expanded into `k` consecutive rows ([B, …] → [B·k, …]). */
export function scaleRows(rows: BatchRows | undefined, k: number): BatchRows | undefined {
  return rows && { lo: rows.lo * k, hi: rows.hi * k, of: rows.of * k };
}

/**
 * A random tensor for the rows of `shape` (first axis = the shard's rows): `draw(fullShape)` is called with the
 * first axis set to the whole batch, and rows [lo, hi) of its result are kept.
 */
export function drawRows<T extends tf.Tensor>(shape: number[], rows: BatchRows | undefined, draw: (shape: number[]) => T): T {
  if (!isShard(rows)) return draw(shape);
  const r = rowsOrWhole(rows, shape[0]);
  return tf.tidy(() => tf.slice(draw([r.of, ...shape.slice(1)]), [r.lo], [r.hi - r.lo]) as T);
}

/** Sequential draws `rng.next()` for the whole batch, returning those of rows [lo, hi) (n = the shard's rows). */
export function rngRows(rng: Rng, n: number, rows: BatchRows | undefined): number[] {
  const r = rowsOrWhole(rows, n);
  const out: number[] = [];
  for (let i = 0; i < r.of; i++) {
    const u = rng.next();
    if (i >= r.lo && i < r.hi) out.push(u);
  }
  return out;
}

/**
 * Inverted dropout x·⌊u + keep⌋/keep, u ~ U(0, 1) from `seed`, with the mask drawn for the whole batch (tfjs's
 * `tf.dropout` with the same seed on an unsharded batch gives the same mask). x [B, …].
 */
export function dropoutRows<T extends tf.Tensor>(x: T, rate: number, seed: number, rows: BatchRows | undefined): T {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate=${rate} must lie in [0, 1)`);
  if (rate === 0) return x;
  if (!isShard(rows)) return tf.dropout(x, rate, undefined, seed) as T;
  const keep = 1 - rate;
  return tf.tidy(() => {
    const u = drawRows(x.shape, rows, (s) => tf.randomUniform(s, 0, 1, "float32", seed));
    return tf.mul(x, tf.div(tf.floor(tf.add(u, keep)), keep)) as T;
  });
}
