/**
 * The one cache of a tokenizer run's training data that both generators read: the training split encoded once per
 * tokenizer run, as one lossless mixed-radix index per grid position, next to the run:
 *
 *   <runsDir>/<tokenizerRun>/tokens-train-n<N>.bin     JSON header line, then int32 [N·g·g] (raster order)
 *
 * The AR model reads the indices as tokens (`trainTokens`); the DiT turns them back into the exact codes
 * ẑ = k/h ∈ [−1, 1]^d (`trainLatents`), with the mean and std of the code values (its latent multiplier is 1/std).
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "fs";
import * as path from "path";
import { breather } from "../event-loop";
import type { Tokenizer } from "../models/tokenizer";
import type { FSQ } from "../quant/fsq";
import { loadFashionMnist, type ImageDataset } from "../data/fashion-mnist";
import { writeFileAtomic } from "../atomic";
import { progress } from "../view/progress";

/** The training split's tokenizer indices, one int32 per grid position, raster order. */
export interface TokenSet {
  /** [n·g·g] tokenizer indices (mixed radix over all channels). */
  indices: Int32Array;
  labels: Int32Array;
  n: number;
  grid: number;
  file: string;
  /** Whether the file existed (no encoding pass this time). */
  cached: boolean;
}

const TOKENS_FORMAT = "ifsq-ar-tokens-v1";

interface TokenHeader {
  format: string;
  tokenizerRun: string;
  tokenizerHash: string;
  n: number;
  grid: number;
  codebookSize: number;
}

function readTokenFile(file: string, want: { tokenizerHash: string; grid: number; codebookSize: number }): { header: TokenHeader; indices: Int32Array } | null {
  const buf = fs.readFileSync(file);
  const nl = buf.indexOf(10);
  if (nl < 0) throw new Error(`${file}: no header line; delete the file to re-extract the tokens`);
  const header = JSON.parse(buf.subarray(0, nl).toString("utf8")) as TokenHeader;
  if (header.format !== TOKENS_FORMAT || header.tokenizerHash !== want.tokenizerHash || header.grid !== want.grid || header.codebookSize !== want.codebookSize) return null;
  const need = header.n * header.grid * header.grid * 4;
  if (buf.length - nl - 1 !== need) throw new Error(`${file}: ${buf.length - nl - 1} data bytes, expected ${need}; delete the file to re-extract the tokens`);
  const body = new Uint8Array(buf.subarray(nl + 1)); // copy: aligned for Int32Array
  return { header, indices: new Int32Array(body.buffer, body.byteOffset, header.n * header.grid * header.grid) };
}

/**
 * Tokens of the first `n` training images under a tokenizer run: read from `<tokenizerRunDir>/tokens-train-n<M>.bin`
 * (any cached M ≥ n; the loader's `limit` takes the first images, so those are the same), else encoded now in
 * batches and cached (atomic write). `tokenizerHash` guards against a file of another tokenizer.
 */
export async function trainTokens(tokenizer: Tokenizer, tokenizerRunDir: string, opts: { n?: number; tokenizerHash: string; batchSize?: number; log?: (l: string) => void }): Promise<TokenSet> {
  const full = loadFashionMnist("train");
  const n = opts.n && opts.n > 0 ? Math.min(opts.n, full.n) : full.n;
  const grid = tokenizer.gridSize;
  const T = grid * grid;
  const want = { tokenizerHash: opts.tokenizerHash, grid, codebookSize: tokenizer.fsq.codebookSize };
  const labels = full.labels.slice(0, n);
  if (fs.existsSync(tokenizerRunDir)) {
    const files = fs.readdirSync(tokenizerRunDir).filter((f) => /^tokens-train-n\d+\.bin$/.test(f));
    const sizes = files.map((f) => Number(/n(\d+)/.exec(f)![1])).filter((m) => m >= n).sort((a, b) => a - b);
    for (const m of sizes) {
      const file = path.join(tokenizerRunDir, `tokens-train-n${m}.bin`);
      const r = readTokenFile(file, want);
      if (r) return { indices: r.indices.slice(0, n * T), labels, n, grid, file, cached: true };
    }
  }
  const file = path.join(tokenizerRunDir, `tokens-train-n${n}.bin`);
  (opts.log ?? ((l: string) => console.log(l)))(`extracting the tokens of ${n} training images once → ${file}`);
  const indices = await encodeIndices(tokenizer, full, n, opts.batchSize ?? 250);
  const header: TokenHeader = { format: TOKENS_FORMAT, tokenizerRun: path.basename(tokenizerRunDir), tokenizerHash: opts.tokenizerHash, n, grid, codebookSize: want.codebookSize };
  const head = Buffer.from(JSON.stringify(header) + "\n", "utf8");
  writeFileAtomic(file, Buffer.concat([head, Buffer.from(indices.buffer, indices.byteOffset, indices.byteLength)]));
  return { indices, labels, n, grid, file, cached: false };
}

/** Tokenizer indices of the first n images of a data set, [n·g·g], in batches. */
export async function encodeIndices(tokenizer: Tokenizer, ds: ImageDataset, n: number, batchSize = 250): Promise<Int32Array> {
  const g = tokenizer.gridSize;
  const per = ds.height * ds.width * ds.channels;
  const out = new Int32Array(n * g * g);
  const bar = n >= 2000 ? progress({ total: n, label: "tokens" }) : null;
  const breathe = breather(); // a notebook kernel stays responsive (and interruptible) between batches
  try {
    for (let lo = 0; lo < n; lo += batchSize) {
      const m = Math.min(batchSize, n - lo);
      const codes = tf.tidy(() => tokenizer.quantizedLatent(tf.tensor4d(ds.images.subarray(lo * per, (lo + m) * per), [m, ds.height, ds.width, ds.channels])));
      const idx = tokenizer.fsq.codesToIndices(codes);
      codes.dispose();
      out.set((await idx.data()) as Int32Array, lo * g * g);
      idx.dispose();
      bar?.tick(lo + m);
      await breathe();
    }
  } finally {
    bar?.done();
  }
  return out;
}

/** The training latents: exact codes ẑ of the first n training images, with their labels. */
export interface LatentSet {
  /** [n, g, g, d] row-major codes k/h ∈ [−1, 1] (not yet multiplied). */
  codes: Float32Array;
  labels: Int32Array;
  n: number;
  grid: number;
  channels: number;
  /** Mean and standard deviation of all code values. */
  mean: number;
  std: number;
  /** The token-cache file the codes came from. */
  file: string;
  cached: boolean;
}

/** Tokenizer indices [m] (one per position) → codes [m·d] through the FSQ's own inverse, in chunks. */
export function indicesToCodeArray(fsq: FSQ, indices: Int32Array, chunk = 65536): Float32Array {
  const d = fsq.dim;
  const out = new Float32Array(indices.length * d);
  for (let lo = 0; lo < indices.length; lo += chunk) {
    const m = Math.min(chunk, indices.length - lo);
    const codes = tf.tidy(() => fsq.indicesToCodes(tf.tensor1d(indices.subarray(lo, lo + m), "int32")));
    out.set(codes.dataSync() as Float32Array, lo * d);
    codes.dispose();
  }
  return out;
}

/**
 * Codes of the first `n` (0 = all) training images under a tokenizer run, via the per-run token cache (extracted once,
 * then read back), with the mean and std of the code values.
 */
export async function trainLatents(tokenizer: Tokenizer, tokenizerRunDir: string, opts: { n?: number; tokenizerHash: string; log?: (l: string) => void }): Promise<LatentSet> {
  const toks = await trainTokens(tokenizer, tokenizerRunDir, { n: opts.n, tokenizerHash: opts.tokenizerHash, log: opts.log });
  const codes = indicesToCodeArray(tokenizer.fsq, toks.indices);
  let s = 0;
  for (let i = 0; i < codes.length; i++) s += codes[i];
  const mean = s / codes.length;
  let v = 0;
  for (let i = 0; i < codes.length; i++) v += (codes[i] - mean) * (codes[i] - mean);
  const std = Math.sqrt(v / codes.length);
  return { codes, labels: toks.labels, n: toks.n, grid: toks.grid, channels: tokenizer.fsq.dim, mean, std, file: toks.file, cached: toks.cached };
}

/** The examples `idx` of a cached set: their rows (`per` values each, row-major, a new array) and their labels. */
export function gatherExamples<A extends Int32Array | Float32Array>(values: A, labels: Int32Array, idx: ArrayLike<number>, per: number): { rows: A; labels: Int32Array } {
  const rows = new (values.constructor as new (n: number) => A)(idx.length * per);
  const out = new Int32Array(idx.length);
  for (let b = 0; b < idx.length; b++) {
    rows.set(values.subarray(idx[b] * per, (idx[b] + 1) * per), b * per);
    out[b] = labels[idx[b]];
  }
  return { rows, labels: out };
}
