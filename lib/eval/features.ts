/**
 * Embedding images with the frozen feature network, and the FID / IS / precision–recall API built on it.
 *
 * Images are [N, 32, 32, 1] in the data range [−1, 1] (what lib/data and the generators produce); they are clamped to
 * [−1, 1] before embedding, as saving them as 8-bit images would. Reference statistics of the whole test split
 * (10 000 images) are computed once per feature network and cached next to its weights (`cacheDir`). The network
 * itself is a training kind (lib/experiments/featurenet); every function here takes it as an extractor.
 *
 * All FIDs here use our Fashion-MNIST classifier's 128-d penultimate features, not Inception's 2048-d pool3:
 * they compare our runs with each other, not with the paper's ImageNet numbers.
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "fs";
import * as path from "path";
import { loadFashionMnist } from "../data/fashion-mnist";
import { progress } from "../view/progress";
import { breather } from "../event-loop";
import { frechetDistance } from "./fid";
import { momentsOf } from "./stats";
import type { FeatureStats } from "./stats";
import { inceptionScore } from "./inception-score";
import type { InceptionScore } from "./inception-score";
import { precisionRecall } from "./precision-recall";
import { readImages } from "./images";
import type { ImageArray, ImagesLike } from "./images";

/** Anything that maps images [B, H, W, C] to features [B, d] (and optionally class logits [B, K]). */
export interface FeatureExtractor {
  featureDim: number;
  /** Stable identifier (keys cached reference statistics). */
  id: string;
  forward(x: tf.Tensor4D): { features: tf.Tensor2D; logits?: tf.Tensor2D };
}

export interface Embedding {
  /** [n, d] row-major. */
  features: Float32Array;
  /** Softmax class probabilities [n, K], when the extractor has logits. */
  probs: Float32Array | null;
  n: number;
  d: number;
  k: number;
}

export interface EmbedOptions {
  batchSize?: number;
  /** Show a progress bar (default: when n ≥ 2000). */
  progress?: boolean;
  label?: string;
}

/** Runs the extractor over images in batches (each batch inside tf.tidy; nothing is leaked). */
export function embedImages(images: ImagesLike, ex: FeatureExtractor, opts: EmbedOptions = {}): Embedding {
  const arr = readImages(images, "embedImages");
  return embedArray(arr, ex, opts);
}

function embedArray(arr: ImageArray, ex: FeatureExtractor, opts: EmbedOptions): Embedding {
  const { n, height: H, width: W, channels: C } = arr;
  const size = H * W * C;
  for (let i = 0; i < arr.images.length; i++) {
    if (Number.isNaN(arr.images[i])) throw new Error(`embedImages: image ${Math.floor(i / size)} holds NaN at value ${i % size}`);
  }
  const bs = opts.batchSize ?? 250;
  const d = ex.featureDim;
  const features = new Float32Array(n * d);
  let probs: Float32Array | null = null;
  let k = 0;
  const bar = opts.progress ?? n >= 2000 ? progress({ total: n, label: opts.label ?? "features" }) : null;
  try {
    for (let lo = 0; lo < n; lo += bs) {
      const m = Math.min(bs, n - lo);
      const { f, p } = tf.tidy(() => {
        const x = tf.clipByValue(tf.tensor4d(arr.images.subarray(lo * size, (lo + m) * size), [m, H, W, C]), -1, 1) as tf.Tensor4D;
        const out = ex.forward(x);
        if (out.features.shape[1] !== d) throw new Error(`embedImages: extractor returned ${out.features.shape[1]} features, declared ${d}`);
        return (out.logits ? { f: out.features, p: tf.softmax(out.logits) } : { f: out.features }) as { f: tf.Tensor2D; p?: tf.Tensor2D };
      });
      features.set(f.dataSync(), lo * d);
      f.dispose();
      if (p) {
        if (!probs) {
          k = p.shape[1] as number;
          probs = new Float32Array(n * k);
        }
        probs.set(p.dataSync(), lo * k);
        p.dispose();
      }
      bar?.tick(lo + m);
    }
  } finally {
    bar?.done();
  }
  return { features, probs, n, d, k };
}

/** Mean and covariance of the features of a set of images. */
export function featureStats(images: ImagesLike | Embedding, ex: FeatureExtractor, opts: EmbedOptions = {}): FeatureStats {
  const e = isEmbedding(images) ? images : embedImages(images, ex, opts);
  return momentsOf(e.features, e.n, e.d, "featureStats");
}

function isEmbedding(x: unknown): x is Embedding {
  return typeof x === "object" && x !== null && "features" in x && "d" in x;
}

/**
 * Which network the high-level metrics use: any extractor, in practice the frozen feature network of
 * lib/experiments/featurenet (`extractorOf(await loadFeatureNet(env, "full"))`, cacheDir: its run folder).
 */
export interface MetricNetOptions {
  extractor: FeatureExtractor;
  /** Where the reference embedding of the test split is cached (default: not on disk, only in memory). */
  cacheDir?: string;
}

function resolveExtractor(opts: MetricNetOptions): { ex: FeatureExtractor; cacheDir: string | null } {
  if (!opts || !opts.extractor) throw new Error("metrics: no feature extractor given; pass { extractor } (e.g. extractorOf(await loadFeatureNet(env, \"full\")))");
  return { ex: opts.extractor, cacheDir: opts.cacheDir ?? null };
}

const refCache = new Map<string, Embedding>();

/**
 * Embedding of the whole Fashion-MNIST test split (10 000 images), cached in memory (by extractor id) and, with a
 * `cacheDir`, on disk (`test-embedding.bin`, written atomically).
 */
export function testSetEmbedding(opts: MetricNetOptions): Embedding {
  const { ex, cacheDir } = resolveExtractor(opts);
  const key = ex.id;
  const hit = refCache.get(key);
  if (hit) return hit;
  const test = loadFashionMnist("test");
  const file = cacheDir ? path.join(cacheDir, "test-embedding.bin") : null;
  let e: Embedding | null = null;
  if (file && fs.existsSync(file)) e = readEmbedding(file, test.n, ex.featureDim);
  if (!e) {
    e = embedImages(test, ex, { label: "test-set features" });
    if (file) writeEmbedding(file, e);
  }
  refCache.set(key, e);
  return e;
}

/** File layout: JSON header line {n, d, k}\n, then features (f32 n·d), then probs (f32 n·k). */
function writeEmbedding(file: string, e: Embedding): void {
  const header = Buffer.from(JSON.stringify({ n: e.n, d: e.d, k: e.k }) + "\n");
  const parts = [header, Buffer.from(e.features.buffer, e.features.byteOffset, e.features.byteLength)];
  if (e.probs) parts.push(Buffer.from(e.probs.buffer, e.probs.byteOffset, e.probs.byteLength));
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, Buffer.concat(parts));
  fs.renameSync(tmp, file);
}

function readEmbedding(file: string, n: number, d: number): Embedding | null {
  const buf = fs.readFileSync(file);
  const nl = buf.indexOf(10);
  let h: { n: number; d: number; k: number };
  try {
    h = JSON.parse(buf.subarray(0, nl).toString("utf8"));
  } catch {
    throw new Error(`${file}: corrupted embedding header; delete the file to recompute it`);
  }
  if (h.n !== n || h.d !== d) return null;
  const need = 4 * (h.n * h.d + h.n * h.k);
  if (buf.length - nl - 1 !== need) throw new Error(`${file}: ${buf.length - nl - 1} data bytes, expected ${need}; delete the file to recompute it`);
  const body = buf.buffer.slice(buf.byteOffset + nl + 1, buf.byteOffset + buf.length);
  const features = new Float32Array(body, 0, h.n * h.d);
  const probs = h.k > 0 ? new Float32Array(body, 4 * h.n * h.d, h.n * h.k) : null;
  return { features, probs, n: h.n, d: h.d, k: h.k };
}

/** The first `n` rows of an embedding (views). */
export function headOf(e: Embedding, n: number): Embedding {
  if (n > e.n) throw new Error(`headOf: asked for ${n} rows of an embedding of ${e.n}`);
  return { features: e.features.subarray(0, n * e.d), probs: e.probs ? e.probs.subarray(0, n * e.k) : null, n, d: e.d, k: e.k };
}

/** Reference statistics of the test split (all 10 000 images). */
export function testSetStats(opts: MetricNetOptions): FeatureStats {
  const e = testSetEmbedding(opts);
  return momentsOf(e.features, e.n, e.d, "test set");
}

/**
 * Reconstruction FID: Fréchet distance between the features of originals and of their reconstructions (same N,
 * same shape, both in [−1, 1]). N must exceed the feature dimension (128).
 */
export function rFID(originals: ImagesLike, reconstructions: ImagesLike, opts: MetricNetOptions & EmbedOptions): number {
  const a = readImages(originals, "rFID(originals)");
  const b = readImages(reconstructions, "rFID(reconstructions)");
  if (a.n !== b.n || a.height !== b.height || a.width !== b.width || a.channels !== b.channels) {
    throw new Error(`rFID: originals [${a.n}, ${a.height}, ${a.width}, ${a.channels}] and reconstructions [${b.n}, ${b.height}, ${b.width}, ${b.channels}] differ in shape`);
  }
  const { ex } = resolveExtractor(opts);
  return frechetDistance(featureStats(a, ex, { ...opts, label: "rFID originals" }), featureStats(b, ex, { ...opts, label: "rFID reconstructions" }));
}

/**
 * A generator: `n` images [n, 32, 32, 1] in [−1, 1] from `seed` (the caller of the sampler disposes the tensor);
 * `at` says which batch of the evaluation it is (batch b, its first sample lo).
 */
export type Sampler = (n: number, seed: number, at: { b: number; lo: number }) => Promise<tf.Tensor4D> | tf.Tensor4D;

export interface GenerationMetrics {
  /** FID vs the whole test split. */
  fid: number;
  inceptionScore: InceptionScore;
  /** k-NN precision/recall (k = 3) vs the first n test images. */
  precision: number;
  recall: number;
  /** FIDs of the first and the second half of the samples (only with `halves`): their gap measures the sampling noise. */
  fidHalves?: [number, number];
  n: number;
  seconds: number;
}

/** Draws n images from a sampler in batches and embeds them (the sampler's tensors are disposed here). */
export async function embedSamples(sampler: Sampler, n: number, ex: FeatureExtractor, opts: EmbedOptions & { seed?: number; concurrency?: number } = {}): Promise<Embedding> {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`embedSamples: n=${n} must be a positive integer`);
  const bs = opts.batchSize ?? 250;
  const conc = opts.concurrency ?? 1;
  if (!Number.isInteger(conc) || conc < 1) throw new Error(`embedSamples: concurrency=${conc}; expected a positive integer (sampler calls in flight)`);
  const batches: { b: number; lo: number; m: number }[] = [];
  for (let lo = 0, b = 0; lo < n; lo += bs, b++) batches.push({ b, lo, m: Math.min(bs, n - lo) });
  // up to `conc` sampler calls in flight (e.g. on worker threads); their images are embedded in batch order
  const inFlight = new Map<number, Promise<tf.Tensor4D>>();
  const launch = (i: number) => {
    const { b, lo, m } = batches[i];
    inFlight.set(i, Promise.resolve().then(() => sampler(m, (opts.seed ?? 0) * 1000003 + b, { b, lo })));
  };
  const parts: Embedding[] = [];
  const breathe = breather(); // a notebook kernel stays responsive (and interruptible) between batches
  const bar = opts.progress ?? n >= 1000 ? progress({ total: n, label: opts.label ?? "samples" }) : null;
  try {
    for (let i = 0; i < Math.min(conc, batches.length); i++) launch(i);
    for (let i = 0; i < batches.length; i++) {
      const { lo, m } = batches[i];
      const x = await inFlight.get(i)!;
      inFlight.delete(i);
      try {
        if (x.rank !== 4 || x.shape[0] !== m) throw new Error(`sampler returned shape [${x.shape.join(", ")}] for ${m} images; expected [${m}, H, W, C]`);
        parts.push(embedImages(x, ex, { ...opts, progress: false }));
      } finally {
        x.dispose();
      }
      if (i + conc < batches.length) launch(i + conc);
      bar?.tick(lo + m);
      await breathe();
    }
  } finally {
    bar?.done();
    for (const p of inFlight.values()) p.then((x) => x.dispose(), () => {}); // after a failure: free what still arrives
  }
  const d = ex.featureDim;
  const k = parts[0].k;
  const features = new Float32Array(n * d);
  const probs = k > 0 ? new Float32Array(n * k) : null;
  let o = 0;
  for (const p of parts) {
    features.set(p.features, o * d);
    if (probs && p.probs) probs.set(p.probs, o * k);
    o += p.n;
  }
  return { features, probs, n, d, k };
}

export interface GeneratorEvalOptions extends MetricNetOptions, EmbedOptions {
  /** Seed of the sampler calls (batch b gets seed·1000003 + b). */
  seed?: number;
  /** Sampler calls in flight at once (default 1; more when the sampler hands batches to worker threads). */
  concurrency?: number;
  /** Compute precision/recall (default true; O(n²) distances). */
  precisionRecall?: boolean;
  /** Reference images instead of the whole test split (embedded on the fly, not cached). */
  reference?: ImagesLike;
  /** Also the FID of each half of the samples (`fidHalves`; needs n ≥ 2·(d + 1)). */
  halves?: boolean;
}

/** Generation metrics of a sampler: FID vs the test split (or `reference`), Inception-style score, precision/recall. */
export async function evaluateGenerator(sampler: Sampler, n: number, opts: GeneratorEvalOptions): Promise<GenerationMetrics> {
  const t0 = Date.now();
  const { ex } = resolveExtractor(opts);
  const ref = opts.reference ? embedImages(opts.reference, ex, { ...opts, label: "reference features" }) : testSetEmbedding(opts);
  const gen = await embedSamples(sampler, n, ex, opts);
  const fid = frechetDistance(momentsOf(gen.features, gen.n, gen.d, "generated"), momentsOf(ref.features, ref.n, ref.d, "test set"));
  const is = gen.probs ? inceptionScore(gen.probs, gen.n, gen.k, { splits: Math.min(10, gen.n) }) : { mean: NaN, std: NaN, splits: 0 };
  let precision = NaN;
  let recall = NaN;
  if (opts.precisionRecall !== false) {
    const m = Math.min(n, ref.n);
    const real = headOf(ref, m);
    const pr = precisionRecall(real.features, m, gen.features, gen.n, gen.d);
    precision = pr.precision;
    recall = pr.recall;
  }
  let fidHalves: [number, number] | undefined;
  if (opts.halves) {
    const h = Math.floor(n / 2);
    if (h <= gen.d) throw new Error(`evaluateGenerator: halves of n=${n} samples have ${h} each; the ${gen.d}-d features need more than ${gen.d} per half (n ≥ ${2 * (gen.d + 1)})`);
    const refStats = momentsOf(ref.features, ref.n, ref.d, "test set");
    const half = (lo: number) => frechetDistance(momentsOf(gen.features.subarray(lo * gen.d, (lo + h) * gen.d), h, gen.d, "generated half"), refStats);
    fidHalves = [half(0), half(h)];
  }
  return { fid, inceptionScore: is, precision, recall, ...(fidHalves ? { fidHalves } : {}), n, seconds: (Date.now() - t0) / 1000 };
}

/** Generation FID: n samples of `sampler` vs the test split. */
export async function gFID(sampler: Sampler, n: number, opts: GeneratorEvalOptions): Promise<number> {
  return (await evaluateGenerator(sampler, n, { ...opts, precisionRecall: false })).fid;
}
