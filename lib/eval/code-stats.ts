/**
 * Code statistics of an FSQ / iFSQ bottleneck over a data set (paper §8, "codebook / bin utilisation").
 *
 * For latent vectors ẑ ∈ ∏_j {(k − h_j)/h_j : k = 0 … L_j − 1} (h_j = ⌊L_j/2⌋) and their bounded activations
 * y_j = bound_j(z_j)/h_j ≈ [−1, 1]:
 *   - per-dimension histogram of y_j on [−1, 1] (values outside are clamped into the end bins);
 *   - per-dimension code occupancy p_{jk} = #{digit_j = k}/N, digit_j = ẑ_j·h_j + h_j;
 *   - per-dimension entropy H_j = −Σ_k p_{jk} log₂ p_{jk} and utilisation H_j / log₂ L_j; end-bin mass p_{j0} + p_{j,L−1};
 *   - global code index idx = Σ_j digit_j·B_j, B_0 = 1, B_j = ∏_{i<j} L_i (first dimension least significant, as
 *     in the official code); usage = #{codes seen}/K with K = ∏ L_j; global entropy H = −Σ p̄ log₂ p̄ and
 *     perplexity = 2^H = exp(−Σ p̄ ln p̄);
 *   - per-dimension mean / std of the pre-activation z (to check the Gaussian assumption behind α = 1.6).
 *
 * Accumulation is in plain JS counts (exact, backend independent); tensors are read batch by batch and disposed.
 */
import * as tf from "@tensorflow/tfjs";
import { breather } from "../event-loop";
import type { Tokenizer } from "../models/tokenizer";
import type { ImageDataset } from "../data/fashion-mnist";

export interface CodeStatsOptions {
  /** Histogram bins of y over [−1, 1] (default 64: for L = 17 every code bin (k ± ½)/8 is exactly 4 bins). */
  bins?: number;
}

export interface CodeStats {
  levels: number[];
  /** Number of latent vectors counted (images × g²). */
  count: number;
  /** Histogram bin edges on [−1, 1], length bins + 1. */
  histEdges: number[];
  /** Per dimension: counts of y_j per bin. */
  histCounts: number[][];
  /** Per dimension: density of y_j per bin (integrates to 1; a uniform y on [−1, 1] has density ½). */
  histDensity: number[][];
  /** Per dimension: count of each code digit k = 0 … L_j − 1. */
  occupancy: number[][];
  /** Per dimension: p_{jk}. */
  occupancyP: number[][];
  /** Per dimension: H_j in bits. */
  entropy: number[];
  /** Per dimension: H_j / log₂ L_j. */
  utilisation: number[];
  /** Per dimension: mass of the two end codes. */
  endBinMass: number[];
  /** Per dimension: mean and std of the pre-activation z_j (NaN when no pre-activations were given). */
  preMean: number[];
  preStd: number[];
  /** Mean over dimensions of H_j (bits) and of H_j / log₂ L_j. */
  meanEntropy: number;
  meanUtilisation: number;
  /** K = ∏ L_j. */
  codebookSize: number;
  /** Distinct codes seen, and their share of K. */
  usedCodes: number;
  usage: number;
  /** Global code entropy in bits, and perplexity 2^H. */
  globalEntropy: number;
  perplexity: number;
  /** Global entropy / log₂ K. */
  globalUtilisation: number;
}

/** Accumulates code statistics from batches of (bounded, codes[, preQuant]) values, each [..., d] flattened. */
export class CodeStatsAccumulator {
  readonly levels: number[];
  readonly bins: number;
  private readonly d: number;
  private readonly half: number[];
  private readonly basis: number[];
  readonly codebookSize: number;
  private n = 0;
  private readonly hist: Float64Array[];
  private readonly occ: Float64Array[];
  private readonly dense: Uint32Array | null;
  private readonly sparse: Map<number, number> | null;
  private preN = 0;
  private readonly preSum: Float64Array;
  private readonly preSq: Float64Array;

  constructor(levels: number[], opts: CodeStatsOptions = {}) {
    if (!Array.isArray(levels) || levels.length === 0) throw new Error(`CodeStats: levels=${JSON.stringify(levels)} must be a non-empty list`);
    levels.forEach((l, j) => {
      if (!Number.isInteger(l) || l < 2) throw new Error(`CodeStats: levels[${j}]=${l} must be an integer ≥ 2`);
    });
    const bins = opts.bins ?? 64;
    if (!Number.isInteger(bins) || bins < 1) throw new Error(`CodeStats: bins=${bins} must be a positive integer`);
    this.levels = [...levels];
    this.bins = bins;
    this.d = levels.length;
    this.half = levels.map((l) => Math.floor(l / 2));
    this.basis = [];
    let b = 1;
    for (const l of levels) {
      this.basis.push(b);
      b *= l;
    }
    this.codebookSize = b;
    this.hist = levels.map(() => new Float64Array(bins));
    this.occ = levels.map((l) => new Float64Array(l));
    // A dense counter up to 16 M codes (64 MB), a Map above that.
    this.dense = b <= 1 << 24 ? new Uint32Array(b) : null;
    this.sparse = this.dense ? null : new Map();
    this.preSum = new Float64Array(this.d);
    this.preSq = new Float64Array(this.d);
  }

  /**
   * Adds N = bounded.length / d latent vectors.
   * @param bounded y values (row-major [..., d])
   * @param codes   ẑ values (same layout)
   * @param preQuant optional z values (same layout)
   */
  add(bounded: ArrayLike<number>, codes: ArrayLike<number>, preQuant?: ArrayLike<number>): void {
    const d = this.d;
    if (codes.length % d !== 0) throw new Error(`CodeStats.add: ${codes.length} code values is not a multiple of d=${d}`);
    if (bounded.length !== codes.length)
      throw new Error(`CodeStats.add: bounded has ${bounded.length} values but codes has ${codes.length}; expected the same layout`);
    if (preQuant && preQuant.length !== codes.length)
      throw new Error(`CodeStats.add: preQuant has ${preQuant.length} values but codes has ${codes.length}`);
    const n = codes.length / d;
    const bins = this.bins;
    for (let i = 0; i < n; i++) {
      let idx = 0;
      for (let j = 0; j < d; j++) {
        const o = i * d + j;
        const h = this.half[j];
        const c = codes[o];
        const digit = Math.round(c * h + h);
        if (!(digit >= 0 && digit < this.levels[j]) || Math.abs(c * h + h - digit) > 1e-3)
          throw new Error(`CodeStats.add: code value ${c} in dimension ${j} is not on the grid of L=${this.levels[j]} (digit ${c * h + h})`);
        this.occ[j][digit] += 1;
        idx += digit * this.basis[j];
        const y = bounded[o];
        if (Number.isNaN(y)) throw new Error(`CodeStats.add: bounded value in dimension ${j} is NaN`);
        let bin = Math.floor(((y + 1) / 2) * bins);
        if (bin < 0) bin = 0;
        else if (bin >= bins) bin = bins - 1;
        this.hist[j][bin] += 1;
        if (preQuant) {
          const z = preQuant[o];
          this.preSum[j] += z;
          this.preSq[j] += z * z;
        }
      }
      if (this.dense) this.dense[idx] += 1;
      else this.sparse!.set(idx, (this.sparse!.get(idx) ?? 0) + 1);
    }
    this.n += n;
    if (preQuant) this.preN += n;
  }

  /** Reads tensors [..., d] (does not dispose them). */
  async addTensors(bounded: tf.Tensor, codes: tf.Tensor, preQuant?: tf.Tensor): Promise<void> {
    const d = this.d;
    for (const [name, t] of [["bounded", bounded], ["codes", codes], ["preQuant", preQuant]] as const) {
      if (t && t.shape[t.rank - 1] !== d) throw new Error(`CodeStats.addTensors: ${name} has shape [${t.shape}]; expected last dimension d=${d}`);
    }
    const [b, c, z] = await Promise.all([bounded.data(), codes.data(), preQuant ? preQuant.data() : Promise.resolve(undefined)]);
    this.add(b as Float32Array, c as Float32Array, z as Float32Array | undefined);
  }

  get count(): number {
    return this.n;
  }

  result(): CodeStats {
    const n = this.n;
    if (n === 0) throw new Error("CodeStats.result: no latent vectors were added");
    const bins = this.bins;
    const width = 2 / bins;
    const histEdges = Array.from({ length: bins + 1 }, (_, i) => -1 + i * width);
    const histCounts = this.hist.map((h) => Array.from(h));
    const histDensity = this.hist.map((h) => Array.from(h, (c) => c / (n * width)));
    const occupancy = this.occ.map((o) => Array.from(o));
    const occupancyP = this.occ.map((o) => Array.from(o, (c) => c / n));
    const entropy = occupancyP.map(entropyBits);
    const utilisation = entropy.map((h, j) => h / Math.log2(this.levels[j]));
    const endBinMass = occupancyP.map((p) => p[0] + p[p.length - 1]);
    const preMean = Array.from(this.preSum, (s) => (this.preN ? s / this.preN : NaN));
    const preStd = Array.from(this.preSq, (s, j) => (this.preN ? Math.sqrt(Math.max(0, s / this.preN - preMean[j] * preMean[j])) : NaN));
    let used = 0;
    let hGlobal = 0;
    const addCount = (c: number) => {
      if (c > 0) {
        used++;
        const p = c / n;
        hGlobal -= p * Math.log2(p);
      }
    };
    if (this.dense) for (let i = 0; i < this.dense.length; i++) addCount(this.dense[i]);
    else for (const c of this.sparse!.values()) addCount(c);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    return {
      levels: [...this.levels],
      count: n,
      histEdges,
      histCounts,
      histDensity,
      occupancy,
      occupancyP,
      entropy,
      utilisation,
      endBinMass,
      preMean,
      preStd,
      meanEntropy: mean(entropy),
      meanUtilisation: mean(utilisation),
      codebookSize: this.codebookSize,
      usedCodes: used,
      usage: used / this.codebookSize,
      globalEntropy: hGlobal,
      perplexity: 2 ** hGlobal,
      globalUtilisation: hGlobal / Math.log2(this.codebookSize),
    };
  }
}

/** −Σ p log₂ p over a probability vector (0 log 0 = 0). */
export function entropyBits(p: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) h -= p[i] * Math.log2(p[i]);
  return h;
}

/** One contiguous batch [b, H, W, C] of a data set as a new tensor (no copy of the whole set). */
export function sliceImages(ds: ImageDataset, start: number, end: number): tf.Tensor4D {
  const per = ds.height * ds.width * ds.channels;
  return tf.tensor4d(ds.images.subarray(start * per, end * per), [end - start, ds.height, ds.width, ds.channels]);
}

export interface DatasetStatsOptions extends CodeStatsOptions {
  /** Images per forward pass (default 256). */
  batchSize?: number;
  /** Use only the first `limit` images (default: all). */
  limit?: number;
  /**
   * Called with each batch's images and encoding while they are alive (e.g. to accumulate reconstruction metrics);
   * the tensors are disposed after it resolves.
   */
  onBatch?: (x: tf.Tensor4D, enc: { codes: tf.Tensor4D; bounded: tf.Tensor4D; preQuant: tf.Tensor4D }, start: number) => Promise<void> | void;
}

/** Code statistics of a tokenizer over (the first `limit` images of) a data set, batched, without leaks. */
export async function codeStats(tokenizer: Tokenizer, ds: ImageDataset, opts: DatasetStatsOptions = {}): Promise<CodeStats> {
  const acc = new CodeStatsAccumulator(tokenizer.arch.levels, opts);
  const total = Math.min(opts.limit ?? ds.n, ds.n);
  const bs = opts.batchSize ?? 256;
  if (!Number.isInteger(bs) || bs < 1) throw new Error(`codeStats: batchSize=${bs} must be a positive integer`);
  if (!(total > 0)) throw new Error(`codeStats: limit=${opts.limit} leaves no images (data set has ${ds.n})`);
  const breathe = breather(); // a notebook kernel stays responsive (and interruptible) between batches
  for (let start = 0; start < total; start += bs) {
    const end = Math.min(total, start + bs);
    const x = sliceImages(ds, start, end);
    const enc = tf.tidy(() => {
      const e = tokenizer.encode(x);
      return { codes: e.codes, bounded: e.bounded, preQuant: e.preQuant };
    });
    try {
      await acc.addTensors(enc.bounded, enc.codes, enc.preQuant);
      if (opts.onBatch) await opts.onBatch(x, enc, start);
    } finally {
      tf.dispose([x, enc.codes, enc.bounded, enc.preQuant]);
    }
    await breathe();
  }
  return acc.result();
}
