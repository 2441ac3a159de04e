/**
 * Empirical code occupancy: draw z ~ N(mean, σ²) as tensors, run it through `FSQ.quantize`, count the codes per
 * channel. This is the Monte-Carlo counterpart of `codeProbabilities` (collapse.ts) and the check that the tfjs
 * quantizer and the analysis agree. Shapes: codes [..., d]; counts [d][L_j] indexed by digit q + h.
 */
import * as tf from "@tensorflow/tfjs";
import { FSQ } from "./fsq";
import { mixSeed } from "../rng";

/** Counts per channel and digit, read back from a codes tensor [..., d]. Throws on a value that is not a code. */
export function codeCounts(fsq: FSQ, codes: tf.Tensor): number[][] {
  if (codes.rank === 0 || codes.shape[codes.rank - 1] !== fsq.dim) {
    throw new Error(`codes have shape [${codes.shape.join(", ")}]; expected last dimension d=${fsq.dim}`);
  }
  const counts = fsq.levels.map((L) => new Array<number>(L).fill(0));
  addCounts(fsq, codes.dataSync() as Float32Array, counts);
  return counts;
}

function addCounts(fsq: FSQ, values: ArrayLike<number>, counts: number[][]): void {
  const d = fsq.dim;
  for (let i = 0; i < values.length; i++) {
    const j = i % d;
    const h = fsq.halfWidths[j];
    const digit = Math.round(values[i] * h + h);
    if (!(digit >= 0 && digit < fsq.levels[j])) throw new Error(`code ${values[i]} on channel ${j} is not on the grid of L=${fsq.levels[j]} (NaN input?)`);
    counts[j][digit]++;
  }
}

export interface OccupancyOptions {
  /** Standard deviation of the pre-activation (default 1). */
  sigma?: number;
  mean?: number;
  /** Samples per channel. */
  n: number;
  seed: number;
  /** Rows drawn per tensor (default 2¹⁸). */
  chunk?: number;
}

/** Monte-Carlo code frequencies per channel: `freqs[j][q + h]` ≈ P(q) for channel j. */
export function sampleOccupancy(fsq: FSQ, opts: OccupancyOptions): { n: number; counts: number[][]; freqs: number[][] } {
  const sigma = opts.sigma ?? 1;
  const mean = opts.mean ?? 0;
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new Error(`n=${opts.n} is invalid; expected a positive integer number of samples`);
  if (!Number.isFinite(sigma) || sigma <= 0) throw new Error(`sigma=${sigma} is invalid; expected a finite standard deviation > 0`);
  const chunk = opts.chunk ?? 1 << 18;
  const counts = fsq.levels.map((L) => new Array<number>(L).fill(0));
  for (let start = 0, c = 0; start < opts.n; start += chunk, c++) {
    const rows = Math.min(chunk, opts.n - start);
    const codes = tf.tidy(() => fsq.quantize(tf.randomNormal([rows, fsq.dim], mean, sigma, "float32", mixSeed(opts.seed, "occupancy", c))));
    const values = codes.dataSync();
    codes.dispose();
    addCounts(fsq, values, counts);
  }
  return { n: opts.n, counts, freqs: counts.map((row) => row.map((k) => k / opts.n)) };
}
