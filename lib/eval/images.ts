/**
 * Image inputs of the metrics: a tensor [N, H, W, C] or a data set (`{ images, n, height, width, channels }`, as
 * returned by lib/data), read into a plain Float32Array in NHWC order.
 */
import * as tf from "@tensorflow/tfjs";

export interface ImageArray {
  /** [N, H, W, C] row-major. */
  images: Float32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
}

export type ImagesLike = tf.Tensor4D | tf.Tensor | ImageArray;

/** Reads images into a Float32Array (a tensor is copied out; the caller keeps ownership of it). */
export function readImages(x: ImagesLike, what = "images"): ImageArray {
  if (x instanceof tf.Tensor) {
    if (x.rank !== 4) throw new Error(`${what}: expected a tensor [N, H, W, C], got shape [${x.shape.join(", ")}]`);
    const [n, height, width, channels] = x.shape;
    return { images: x.dataSync() as Float32Array, n, height, width, channels };
  }
  const { images, n, height, width, channels } = x;
  if (images.length !== n * height * width * channels) {
    throw new Error(`${what}: ${images.length} values do not match n·h·w·c = ${n}·${height}·${width}·${channels}`);
  }
  return x;
}

/** Throws unless a and b have the same N, H, W, C. */
export function checkSameShape(a: ImageArray, b: ImageArray, what: string): void {
  const sa = [a.n, a.height, a.width, a.channels];
  const sb = [b.n, b.height, b.width, b.channels];
  if (sa.some((v, i) => v !== sb[i])) {
    throw new Error(`${what}: image sets differ in shape: [${sa.join(", ")}] vs [${sb.join(", ")}] (expected equal [N, H, W, C])`);
  }
}

/** Throws on the first NaN/∞ value, naming its index. */
export function checkFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`${what}: value[${i}] is ${values[i]}; expected finite numbers`);
  }
}

/** Value range option: images are mapped from [lo, hi] to [0, 1] (and clamped) before PSNR/SSIM. */
export type Range = [number, number];

/** Maps v from [lo, hi] to [0, 1], clamped. */
export function toUnit(v: number, lo: number, hi: number): number {
  const u = (v - lo) / (hi - lo);
  return u < 0 ? 0 : u > 1 ? 1 : u;
}
