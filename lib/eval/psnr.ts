/**
 * Peak signal-to-noise ratio, the paper's convention (train_ddp.valid): per image on [0, 1],
 *   PSNR = 20·log₁₀(1 / √MSE),   MSE over the C·H·W values of that image,
 * then averaged over the N images. An exact reconstruction has PSNR = +∞ (so does the mean then).
 *
 * Inputs in another range (our data is [−1, 1]) are mapped with `range: [lo, hi]` and clamped to [0, 1] first.
 */
import { checkFinite, checkSameShape, ImagesLike, Range, readImages, toUnit } from "./images";

export interface PsnrOptions {
  /** Value range of the inputs; default [0, 1]. Values outside are clamped. */
  range?: Range;
}

/** PSNR of each image pair, in dB (length N). */
export function psnrPerImage(a: ImagesLike, b: ImagesLike, opts: PsnrOptions = {}): Float64Array {
  const x = readImages(a, "psnr(a)");
  const y = readImages(b, "psnr(b)");
  checkSameShape(x, y, "psnr");
  checkFinite(x.images, "psnr(a)");
  checkFinite(y.images, "psnr(b)");
  const [lo, hi] = opts.range ?? [0, 1];
  if (!(hi > lo)) throw new Error(`psnr: range [${lo}, ${hi}] must have hi > lo`);
  const size = x.height * x.width * x.channels;
  const out = new Float64Array(x.n);
  for (let i = 0; i < x.n; i++) {
    let se = 0;
    for (let j = i * size; j < (i + 1) * size; j++) {
      const d = toUnit(x.images[j], lo, hi) - toUnit(y.images[j], lo, hi);
      se += d * d;
    }
    const mse = se / size;
    out[i] = mse === 0 ? Infinity : -10 * Math.log10(mse);
  }
  return out;
}

/** Mean PSNR over images, in dB. */
export function psnr(a: ImagesLike, b: ImagesLike, opts: PsnrOptions = {}): number {
  const per = psnrPerImage(a, b, opts);
  let s = 0;
  for (const v of per) s += v;
  return s / per.length;
}
