/**
 * The tokenizer's evaluation row (paper §8): code entropy / utilisation / usage / perplexity, end-code mass, PSNR,
 * SSIM and L1 on the test split, in one batched pass, plus a few reconstructions for a grid.
 *
 *   const ev = await evaluateTokenizer(tokenizer, { limit: 2000 });   // ev.row, ev.stats, ev.examples
 *
 *   PSNR = 10·log₁₀(1 / MSE) on [0, 1] per image; utilisation_j = H_j / log₂ L_j; perplexity = exp(entropy of the joint codes)
 *   rFID = Fréchet distance between feature-net statistics of the originals and of their reconstructions (with `metricNet`)
 */
import * as tf from "@tensorflow/tfjs";
import type { Tokenizer } from "../../models/tokenizer";
import { boundLabel } from "../../quant/bounds";
import { loadFashionMnist, type ImageDataset } from "../../data/fashion-mnist";
import { codeStats, type CodeStats } from "../../eval/code-stats";
import { psnrPerImage } from "../../eval/psnr";
import { ssimPerImage } from "../../eval/ssim";
import { rFID, type MetricNetOptions } from "../../eval/features";
import type { FidManifest } from "../../eval/fid-manifest";
import { rfidManifest } from "../fid-manifests";


/** One table row (paper §8 metrics on the test split). */
export interface TokenizerRow {
  bound: string;
  levels: string;
  /** Mean per-dimension code entropy, bits. */
  entropy: number;
  /** Mean per-dimension H_j / log₂ L_j. */
  utilisation: number;
  /** Distinct codes seen / K. */
  usage: number;
  /** exp of the global code entropy. */
  perplexity: number;
  /** Mass of the two end codes, mean over dimensions. */
  endBinMass: number;
  /** dB on [0, 1], mean over images. */
  psnr: number;
  ssim: number;
  /** mean |x − x̂| on [−1, 1]. */
  l1: number;
  /** Reconstruction FID over the evaluated images (NaN when no `metricNet` was given). */
  rfid: number;
  images: number;
}

export interface TokenizerEvaluation {
  row: TokenizerRow;
  stats: CodeStats;
  /** The first `examples` test images and their reconstructions, [n, 32, 32, 1] each, values on [−1, 1]. */
  examples: { originals: Float32Array; reconstructions: Float32Array; shape: [number, number, number, number] };
  /** How row.rfid was measured (with `metricNet` only). */
  rfidManifest?: FidManifest;
}

export interface TokenizerEvaluateOptions {
  /** Test images to use (default: all 10 000). */
  limit?: number;
  batchSize?: number;
  /** Histogram bins (default 64). */
  bins?: number;
  /** Images kept for a reconstruction grid (default 16). */
  examples?: number;
  /** Data set to evaluate on (default: the Fashion-MNIST test split). */
  dataset?: ImageDataset;
  /** Feature network for rFID (needs more images than its feature dimension); without it rfid is NaN. */
  metricNet?: MetricNetOptions;
}

/** Code statistics + reconstruction metrics of a tokenizer in one batched pass over the test split. */
export async function evaluateTokenizer(tokenizer: Tokenizer, opts: TokenizerEvaluateOptions = {}): Promise<TokenizerEvaluation> {
  const ds = opts.dataset ?? loadFashionMnist("test");
  const limit = Math.min(opts.limit ?? ds.n, ds.n);
  const nEx = Math.min(opts.examples ?? 16, limit);
  const per = ds.height * ds.width * ds.channels;
  const originals = new Float32Array(nEx * per);
  const reconstructions = new Float32Array(nEx * per);
  // every evaluated image and its reconstruction, for rFID only
  const all = opts.metricNet ? { x: new Float32Array(limit * per), xHat: new Float32Array(limit * per) } : null;
  let psnrSum = 0;
  let ssimSum = 0;
  let l1Sum = 0;
  let count = 0;
  const stats = await codeStats(tokenizer, ds, {
    limit,
    batchSize: opts.batchSize ?? 250,
    bins: opts.bins,
    onBatch: async (x, enc, start) => {
      const xHat = tf.tidy(() => tokenizer.decode(enc.codes));
      try {
        const [a, b] = await Promise.all([x.data() as Promise<Float32Array>, xHat.data() as Promise<Float32Array>]);
        const n = x.shape[0];
        const arrA = { images: a, n, height: ds.height, width: ds.width, channels: ds.channels };
        const arrB = { images: b, n, height: ds.height, width: ds.width, channels: ds.channels };
        for (const v of psnrPerImage(arrA, arrB, { range: [-1, 1] })) psnrSum += v;
        for (const v of ssimPerImage(arrA, arrB, { range: [-1, 1] })) ssimSum += v;
        for (let i = 0; i < a.length; i++) l1Sum += Math.abs(a[i] - b[i]);
        if (all) {
          all.x.set(a, start * per);
          all.xHat.set(b, start * per);
        }
        count += n;
        if (start < nEx) {
          const k = Math.min(nEx - start, n);
          originals.set(a.subarray(0, k * per), start * per);
          reconstructions.set(b.subarray(0, k * per), start * per);
        }
      } finally {
        xHat.dispose();
      }
    },
  });
  let rfid = NaN;
  if (all && opts.metricNet) {
    const shape = { n: count, height: ds.height, width: ds.width, channels: ds.channels };
    rfid = rFID({ images: all.x.subarray(0, count * per), ...shape }, { images: all.xHat.subarray(0, count * per), ...shape }, { ...opts.metricNet, progress: false });
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const row: TokenizerRow = {
    bound: boundLabel(tokenizer.arch.bound),
    levels: `[${tokenizer.arch.levels.join(",")}]`,
    entropy: stats.meanEntropy,
    utilisation: stats.meanUtilisation,
    usage: stats.usage,
    perplexity: stats.perplexity,
    endBinMass: mean(stats.endBinMass),
    psnr: psnrSum / count,
    ssim: ssimSum / count,
    l1: l1Sum / (count * per),
    rfid,
    images: count,
  };
  const examples = { originals, reconstructions, shape: [nEx, ds.height, ds.width, ds.channels] as [number, number, number, number] };
  return { row, stats, examples, ...(opts.metricNet ? { rfidManifest: rfidManifest(count, opts.metricNet.extractor.id) } : {}) };
}
