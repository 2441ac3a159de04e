/**
 * The AR experiment: the `ar` train kind (LlamaGen on a tokenizer run's tokens), train-or-reuse, sampling to images
 * and gFID.
 *
 *   const ar = await trainAr({ preset: "quick" });                  // reuses a finished run of the same config
 *   const x = await sampleImages(ar, [0, 1, 2], { cfgScale: 2 });   // [3, 32, 32, 1] on [−1, 1]
 *   const ev = await evaluateAr(ar, { n: 1000 });                   // { gfid, samplesPerSec, … }
 *
 * CLI: `npm run train -- ar --preset quick [--set tokenizer.bound=tanh] [--set tokens=single …]`.
 *
 * The tokenizer. The AR config holds the tokenizer's full resolved config (`tokenizer`, by default the preset of
 * the same name: `quick` → the quick iFSQ tokenizer) and, filled in when the config is resolved, its run id
 * `tokenizerRun` (`tokenizer-<hash12>`, the run folder) and full `tokenizerHash`. Both are part of the AR config's
 * hash, so an AR run is tied to exactly one tokenizer run; a stale or hand-set id that disagrees with `tokenizer` is
 * an error. A diffusion run that records the same `tokenizerHash` uses the same tokenizer.
 *
 * Tokens of the training split are extracted once per tokenizer run and cached next to it:
 * `<runsDir>/<tokenizerRun>/tokens-train-n<N>.bin` (one mixed-radix index per position, int32, raster order).
 *
 * Paper deviations (scale): no data augmentation (tokens are pre-extracted), AdamW decays only rank ≥ 2 tensors
 * (the paper decays all), EMA decay and learning-rate schedule shortened for short runs.
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { mixSeed, Rng } from "../rng";
import { LlamaGen, tokenLayout, tokensToCodes, indicesToTokenArray, type LlamaGenArch, type TokenLayout, type GenerateOptions } from "../models/llamagen";
import type { SamplingOptions } from "../models/sampling";
import type { Tokenizer } from "../models/tokenizer";
import { loadFashionMnist, FASHION_MNIST_CLASSES, type ImageDataset } from "../data/fashion-mnist";
import { batchIndices } from "../data/batches";
import { evaluateGenerator, type Sampler } from "../eval/features";
import type { FeatureNetPreset } from "../eval/feature-net";
import { TrainConfigSchema, defineConfig, resolveConfig, type ConfigDef, type ResolveOptions } from "../train/config";
import { registerTrainKind } from "../train/registry";
import { train, loadRunWeights, type TrainTask, type TrainOptions } from "../train/trainer";
import { findFinishedRun, defaultRunsDir, type MetricsRow } from "../train/run";
import { writeFileAtomic } from "../atomic";
import { progress } from "../view/progress";
import { trainTokenizer } from "./tokenizer";
import { generatorConfigFields, withTokenizerRef, tokenizerPreset } from "./generator-config";

const ArConfigBase = TrainConfigSchema.extend({
  ...generatorConfigFields,
  tokens: z.enum(["factorized", "single"]).default("factorized").describe('"factorized": one sub-token per channel group (paper f2x2 variant); "single": one index per position (small codebooks)'),
  channelsPerGroup: z.int().positive().default(1).describe("latent channels per sub-token (factorized); 1 = one sub-token per latent dim with L values"),
  dim: z.int().positive().default(128).describe("transformer width D (paper LlamaGen-L: 1024)"),
  depth: z.int().positive().default(4).describe("trunk blocks (paper 24)"),
  heads: z.int().positive().default(4).describe("attention heads; D/heads must be a multiple of 4 (paper 16)"),
  headDepth: z.int().positive().default(1).describe("blocks of the intra-position head over a position's sub-tokens (paper f2x2: 2)"),
  headMlpHidden: z.int().min(0).default(0).describe("SwiGLU hidden width of the intra-position head; 0 = the trunk's (paper)"),
  mlpHidden: z.int().min(0).default(0).describe("SwiGLU hidden width; 0 = ⌈2/3·4D⌉ rounded up to a multiple of 64"),
  clsRope: z.enum(["zero", "identity"]).default("zero").describe('RoPE of the class position: "zero" = official quirk (q, k zeroed), "identity" = unrotated'),
  tokenDropout: z.number().min(0).lt(1).default(0.1).describe("elementwise dropout on the input embeddings (paper 0.1)"),
  residDropout: z.number().min(0).lt(1).default(0.1).describe("dropout on the attention and MLP outputs (paper 0.1)"),
  evalCfgScale: z.number().default(1).describe("CFG scale of the in-run gFID (paper online eval: 1.0; final: 2.0)"),
  evalTemperature: z.number().min(0).default(1).describe("temperature of the in-run samples"),
  evalTopK: z.int().min(0).default(0).describe("top-k of the in-run samples (0 = off)"),
  evalTopP: z.number().gt(0).max(1).default(1).describe("top-p of the in-run samples (1 = off)"),
  sampleBatch: z.int().positive().default(250).describe("sequences generated together"),
});

export const ArConfigSchema = ArConfigBase.overwrite(withTokenizerRef<z.output<typeof ArConfigBase>>("ar"));
export type ArConfig = z.output<typeof ArConfigSchema>;

/**
 * Presets (wasm, 2 shared cores): tiny = seconds (tests, CI notebook), quick ≈ 10 min, paper-cpu = about an hour.
 * Each uses the tokenizer preset of the same name. Widths and batch match the DiT presets; a factorized AR step costs
 * about twice a DiT step of the same width (the intra-position head runs on T·G slots: 21.9 vs ≈ 11 GFLOP at D = 128,
 * batch 32), so the AR presets take half the DiT's steps and the two generators get about equal training FLOPs.
 * lr warm-up + cosine and short EMA decays suit short runs (paper: lr 1e-4 constant, EMA 0.9999, 500k steps, batch 256).
 */
export const arConfig: ConfigDef<typeof ArConfigSchema> = defineConfig({
  name: "ar",
  schema: ArConfigSchema,
  presets: {
    tiny: {
      tokenizer: tokenizerPreset("tiny"),
      dim: 32,
      depth: 2,
      heads: 2,
      headDepth: 1,
      steps: 40,
      batchSize: 16,
      lr: 3e-3,
      warmupSteps: 5,
      beta2: 0.95,
      weightDecay: 0.05,
      tokenDropout: 0,
      residDropout: 0,
      trainLimit: 2048,
      logEvery: 5,
      evalSamples: 0,
      sampleBatch: 64,
      featureNet: "tiny",
    },
    quick: {
      tokenizer: tokenizerPreset("quick"),
      dim: 128,
      depth: 4,
      heads: 4,
      headDepth: 1,
      steps: 250,
      batchSize: 32,
      lr: 1e-3,
      warmupSteps: 25,
      schedule: "cosine",
      beta2: 0.95,
      weightDecay: 0.05,
      emaDecay: 0.98,
      residDropout: 0,
      logEvery: 10,
      evalEvery: 125,
      ckptEvery: 125,
      evalSamples: 500,
      featureNet: "full",
    },
    "paper-cpu": {
      tokenizer: tokenizerPreset("paper-cpu"),
      dim: 192,
      depth: 6,
      heads: 6,
      headDepth: 2,
      steps: 1500,
      batchSize: 64,
      lr: 6e-4,
      warmupSteps: 100,
      schedule: "cosine",
      beta2: 0.95,
      weightDecay: 0.05,
      emaDecay: 0.995,
      logEvery: 25,
      evalEvery: 250,
      ckptEvery: 250,
      evalSamples: 2000,
      featureNet: "full",
    },
  },
});

/** Resolves an AR config (preset default: $IFSQ_PRESET, else "quick"). */
export function resolveArConfig(opts: ResolveOptions<typeof ArConfigSchema> = {}): ArConfig {
  return resolveConfig(arConfig, opts);
}

/** The model architecture of a config for a token layout (vocabularies from the tokenizer) and C classes. */
export function llamaGenArch(cfg: ArConfig, layout: TokenLayout, grid: number, numClasses: number): LlamaGenArch {
  return {
    dim: cfg.dim,
    depth: cfg.depth,
    heads: cfg.heads,
    mlpHidden: cfg.mlpHidden > 0 ? cfg.mlpHidden : undefined,
    headDepth: cfg.headDepth,
    headMlpHidden: cfg.headMlpHidden > 0 ? cfg.headMlpHidden : undefined,
    gridH: grid,
    gridW: grid,
    numClasses,
    groupSizes: [...layout.groupSizes],
    clsRope: cfg.clsRope,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Token cache

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
  (opts.log ?? ((l: string) => console.log(l)))(`ar: extracting the tokens of ${n} training images once → ${file}`);
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
  try {
    for (let lo = 0; lo < n; lo += batchSize) {
      const m = Math.min(batchSize, n - lo);
      const codes = tf.tidy(() => tokenizer.quantizedLatent(tf.tensor4d(ds.images.subarray(lo * per, (lo + m) * per), [m, ds.height, ds.width, ds.channels])));
      const idx = tokenizer.fsq.codesToIndices(codes);
      codes.dispose();
      out.set((await idx.data()) as Int32Array, lo * g * g);
      idx.dispose();
      bar?.tick(lo + m);
    }
  } finally {
    bar?.done();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Training task

export interface ArBatch {
  classes: tf.Tensor1D;
  tokens: tf.Tensor3D;
}

/** A trained (or training) AR model with everything needed to sample from it. */
export interface ArModel {
  model: LlamaGen;
  tokenizer: Tokenizer;
  layout: TokenLayout;
  config: ArConfig;
  classNames: readonly string[];
}

export interface ArTask extends TrainTask<ArBatch>, ArModel {
  config: ArConfig;
  tokens: TokenSet;
  tokenizerRunDir: string;
  dispose(): void;
}

export interface MakeArTaskOptions {
  runsDir?: string;
  /** Options of the tokenizer training when its run is missing. */
  tokenizerTrain?: Omit<TrainOptions, "runsDir">;
  log?: (line: string) => void;
}

/**
 * A TrainTask for a resolved AR config: trains or reuses the tokenizer run, extracts (or reads) the cached tokens,
 * builds the model from config.seed.
 */
export async function makeArTask(cfg: ArConfig, opts: MakeArTaskOptions = {}): Promise<ArTask> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const tk = await trainTokenizer({ config: cfg.tokenizer, runsDir: opts.runsDir, train: opts.tokenizerTrain });
  if (path.basename(tk.runDir) !== cfg.tokenizerRun) {
    tk.tokenizer.dispose();
    throw new Error(`ar: the tokenizer run is ${path.basename(tk.runDir)}, but the config names ${cfg.tokenizerRun}`);
  }
  if (!tk.reused) log(`ar: trained tokenizer ${cfg.tokenizerRun}`);
  const tokenizer = tk.tokenizer;
  const layout = tokenLayout(tokenizer.fsq, cfg.tokens, cfg.channelsPerGroup);
  const tokens = await trainTokens(tokenizer, tk.runDir, { n: cfg.trainLimit, tokenizerHash: cfg.tokenizerHash, log });
  const classNames = FASHION_MNIST_CLASSES;
  const model = new LlamaGen(llamaGenArch(cfg, layout, tokenizer.gridSize, classNames.length), cfg.seed);
  model.checkLayout(layout);
  const T = model.seqLen;
  const G = model.numGroups;
  const dataSeed = mixSeed(cfg.seed, "ar-data");
  const ar: ArModel = { model, tokenizer, layout, config: cfg, classNames };
  return {
    kind: "ar",
    params: model.params,
    ...ar,
    tokens,
    tokenizerRunDir: tk.runDir,
    batch(step: number): ArBatch {
      const idx = batchIndices(dataSeed, step, cfg.batchSize, tokens.n);
      const B = idx.length;
      const ind = new Int32Array(B * T);
      const cls = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        ind.set(tokens.indices.subarray(idx[b] * T, (idx[b] + 1) * T), b * T);
        cls[b] = tokens.labels[idx[b]];
      }
      return { classes: tf.tensor1d(cls, "int32"), tokens: tf.tensor3d(indicesToTokenArray(layout, ind), [B, T, G], "int32") };
    },
    loss: (b, ctx) => {
      const r = model.loss(b.classes, b.tokens, { seed: ctx.seed, labelDropout: cfg.labelDropout, tokenDropout: cfg.tokenDropout, residDropout: cfg.residDropout });
      return { loss: r.loss, parts: r.parts };
    },
    disposeBatch: (b) => tf.dispose([b.classes, b.tokens]),
    flopsPerStep: model.flops().trainPerSample * cfg.batchSize,
    evaluate:
      cfg.evalSamples > 0
        ? async (step: number) => {
            const ev = await evaluateAr(ar, { n: cfg.evalSamples, seed: mixSeed(cfg.seed, "ar-eval", step) });
            return { gfid: ev.gfid, samplesPerSec: ev.samplesPerSec };
          }
        : undefined,
    dispose: () => {
      model.dispose();
      tokenizer.dispose();
    },
  };
}

registerTrainKind("ar", {
  description: "LlamaGen (class-conditional AR transformer, factorized FSQ tokens) on a tokenizer run's tokens",
  configDef: arConfig,
  makeTask: (cfg) => makeArTask(cfg),
});

// ---------------------------------------------------------------------------------------------------------------
// Sampling and evaluation

/** In-run sampling settings of a config. */
export function evalSampling(cfg: ArConfig): SamplingOptions {
  return { cfgScale: cfg.evalCfgScale, temperature: cfg.evalTemperature, topK: cfg.evalTopK, topP: cfg.evalTopP };
}

/** Sampled tokens → images [B, S, S, C] through the tokenizer's decoder (values about [−1, 1]). */
export function decodeTokens(ar: ArModel, tokens: Int32Array, batch: number): tf.Tensor4D {
  const { model, tokenizer, layout } = ar;
  model.checkLayout(layout);
  return tf.tidy(() => {
    const t = tf.tensor3d(tokens, [batch, model.seqLen, model.numGroups], "int32");
    return tokenizer.decode(tokensToCodes(layout, t, model.arch.gridH, model.arch.gridW));
  });
}

/** Samples images for the given classes (in [0, C); C = unconditional), in batches of `batchSize`. */
export async function sampleImages(ar: ArModel, classes: ArrayLike<number>, opts: GenerateOptions & { batchSize?: number } = {}): Promise<tf.Tensor4D> {
  const bs = opts.batchSize ?? ar.config.sampleBatch;
  const cls = Array.from(classes);
  const parts: tf.Tensor4D[] = [];
  try {
    for (let lo = 0, b = 0; lo < cls.length; lo += bs, b++) {
      const c = cls.slice(lo, lo + bs);
      const toks = await ar.model.generate(c, { ...opts, seed: mixSeed(opts.seed ?? 0, "batch", b) });
      parts.push(decodeTokens(ar, toks, c.length));
    }
    return parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor4D);
  } finally {
    if (parts.length > 1) tf.dispose(parts);
  }
}

/** Classes of n samples for a seed: uniform over the C real classes. */
export function sampleClasses(n: number, numClasses: number, seed: number): Int32Array {
  const rng = new Rng(seed, "ar-classes");
  return Int32Array.from({ length: n }, () => rng.int(numClasses));
}

/** A gFID sampler: n images of uniformly drawn classes per call (EVAL's `Sampler`). Accumulates sampling time. */
export function arSampler(ar: ArModel, opts: SamplingOptions = {}, clock?: { seconds: number; samples: number }): Sampler {
  return async (n: number, seed: number) => {
    const t0 = performance.now();
    const x = await sampleImages(ar, sampleClasses(n, ar.classNames.length, seed), { ...opts, seed, batchSize: ar.config.sampleBatch });
    if (clock) {
      clock.seconds += (performance.now() - t0) / 1000;
      clock.samples += n;
    }
    return x;
  };
}

export interface ArEvaluation {
  gfid: number;
  /** Inception-style score with the feature network's classifier. */
  inceptionScore: number;
  /** Generated images per second (tokens + decoding, without the feature network). */
  samplesPerSec: number;
  n: number;
  seconds: number;
  sampling: Required<SamplingOptions>;
}

/** gFID (vs the Fashion-MNIST test split, EVAL's feature network) and sampling speed of an AR model. */
export async function evaluateAr(ar: ArModel, opts: SamplingOptions & { n?: number; seed?: number; featureNet?: FeatureNetPreset } = {}): Promise<ArEvaluation> {
  const cfg = ar.config;
  const s = { ...evalSampling(cfg), ...pickSampling(opts) };
  const sampling = { cfgScale: s.cfgScale ?? 1, temperature: s.temperature ?? 1, topK: s.topK ?? 0, topP: s.topP ?? 1 };
  const n = opts.n ?? cfg.evalSamples;
  if (!(n > 0)) throw new Error(`evaluateAr: n=${n} samples; expected a positive number`);
  const clock = { seconds: 0, samples: 0 };
  const t0 = Date.now();
  const m = await evaluateGenerator(arSampler(ar, sampling, clock), n, {
    preset: opts.featureNet ?? cfg.featureNet,
    batchSize: cfg.sampleBatch,
    seed: opts.seed ?? 0,
    precisionRecall: false,
    progress: false,
  });
  return { gfid: m.fid, inceptionScore: m.inceptionScore.mean, samplesPerSec: clock.samples / Math.max(1e-9, clock.seconds), n, seconds: (Date.now() - t0) / 1000, sampling };
}

function pickSampling(o: SamplingOptions): SamplingOptions {
  const out: SamplingOptions = {};
  if (o.cfgScale !== undefined) out.cfgScale = o.cfgScale;
  if (o.temperature !== undefined) out.temperature = o.temperature;
  if (o.topK !== undefined) out.topK = o.topK;
  if (o.topP !== undefined) out.topP = o.topP;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Train or reuse

export interface TrainArOptions extends ResolveOptions<typeof ArConfigSchema> {
  /** A resolved config (skips preset/overrides/set). */
  config?: ArConfig;
  runsDir?: string;
  /** Passed to the trainer (progress sink, log, …). */
  train?: Omit<TrainOptions, "runsDir">;
  log?: (line: string) => void;
}

export interface TrainedAr extends ArModel {
  runDir: string;
  tokenizerRunDir: string;
  /** Every metrics row of the run (train rows carry `flops`, eval rows `gfid`). */
  metrics: MetricsRow[];
  /** Whether a finished run with this exact config was loaded instead of trained. */
  reused: boolean;
  dispose(): void;
}

/**
 * Trains the AR model of a config, or loads the finished run with the same config (EMA weights when the run had
 * EMA); an unfinished run is resumed. The tokenizer run is trained first when it is missing.
 */
export async function trainAr(opts: TrainArOptions = {}): Promise<TrainedAr> {
  const config = opts.config ?? resolveArConfig(opts);
  const runsDir = opts.runsDir ?? defaultRunsDir();
  const tokenizerTrain = opts.train ? { progress: opts.train.progress, log: opts.train.log } : undefined;
  const task = await makeArTask(config, { runsDir, log: opts.log, tokenizerTrain });
  try {
    const found = findFinishedRun("ar", config, { runsDir });
    let runDir: string;
    let metrics: MetricsRow[];
    if (found) {
      loadRunWeights(found, task.params);
      runDir = found.dir;
      metrics = found.metrics;
    } else {
      const res = await train(task, { ...opts.train, runsDir });
      runDir = res.runDir;
      metrics = res.metrics;
    }
    return { model: task.model, tokenizer: task.tokenizer, layout: task.layout, config, classNames: task.classNames, runDir, tokenizerRunDir: task.tokenizerRunDir, metrics, reused: !!found, dispose: task.dispose };
  } catch (e) {
    task.dispose();
    throw e;
  }
}
