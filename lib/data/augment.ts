/**
 * Seeded image augmentations for self-supervised training (the REPA teacher's SimCLR views), on plain arrays of
 * grey images [n, S, S] (values in [−1, 1], background −1). Each view of image i applies, in order:
 *   1. random resized crop: a square of side a·S (a ~ U[minCrop, 1]) at a uniform position, resampled bilinearly to S×S;
 *   2. horizontal flip with probability ½;
 *   3. contrast and brightness: y = c·(x + 1) − 1 + b, c ~ U[0.6, 1.4], b ~ U[−0.2, 0.2], clamped to [−1, 1];
 *   4. cutout with probability ½: a k×k square (k ~ U{S/8 … S/4}) set to the background −1;
 *   5. Gaussian noise of std `noise`.
 * Every draw comes from the Rng passed in, so (seed, step) fixes the views.
 */
import type { Rng } from "../rng";

export interface AugmentOptions {
  /** Smallest crop side as a fraction of the image side (default 0.6). */
  minCrop?: number;
  /** Std of the additive Gaussian noise (default 0.05). */
  noise?: number;
}

/** One augmented view of `src` (S×S) written into `dst` (S×S). */
export function augmentImage(src: Float32Array, dst: Float32Array, S: number, rng: Rng, opts: AugmentOptions = {}): void {
  const minCrop = opts.minCrop ?? 0.6;
  const noise = opts.noise ?? 0.05;
  const a = (minCrop + (1 - minCrop) * rng.next()) * S;
  const x0 = rng.next() * (S - a);
  const y0 = rng.next() * (S - a);
  const flip = rng.next() < 0.5;
  const c = 0.6 + 0.8 * rng.next();
  const b = -0.2 + 0.4 * rng.next();
  const at = (y: number, x: number) => (y < 0 || x < 0 || y >= S || x >= S ? -1 : src[y * S + x]);
  for (let i = 0; i < S; i++) {
    const sy = y0 + ((i + 0.5) * a) / S - 0.5;
    const iy = Math.floor(sy);
    const fy = sy - iy;
    for (let j = 0; j < S; j++) {
      const jj = flip ? S - 1 - j : j;
      const sx = x0 + ((jj + 0.5) * a) / S - 0.5;
      const ix = Math.floor(sx);
      const fx = sx - ix;
      const v = (1 - fy) * ((1 - fx) * at(iy, ix) + fx * at(iy, ix + 1)) + fy * ((1 - fx) * at(iy + 1, ix) + fx * at(iy + 1, ix + 1));
      dst[i * S + j] = Math.max(-1, Math.min(1, c * (v + 1) - 1 + b));
    }
  }
  if (rng.next() < 0.5) {
    const lo = Math.max(1, Math.round(S / 8));
    const k = lo + rng.int(Math.max(1, Math.round(S / 4)) - lo + 1);
    const cy = rng.int(S - k + 1);
    const cx = rng.int(S - k + 1);
    for (let i = cy; i < cy + k; i++) for (let j = cx; j < cx + k; j++) dst[i * S + j] = -1;
  }
  if (noise > 0) for (let p = 0; p < S * S; p++) dst[p] += noise * rng.normal();
}

/**
 * Two augmented views of each of n images [n·S·S] → [2n·S·S]: rows 0…n−1 are the first views, n…2n−1 the second
 * (the pairing nn/nt-xent expects).
 */
export function twoViews(images: Float32Array, n: number, S: number, rng: Rng, opts: AugmentOptions = {}): Float32Array {
  if (images.length !== n * S * S) throw new Error(`twoViews: ${images.length} values for ${n} images of ${S}×${S} (expected ${n * S * S})`);
  const out = new Float32Array(2 * n * S * S);
  for (let v = 0; v < 2; v++) {
    for (let i = 0; i < n; i++) {
      augmentImage(images.subarray(i * S * S, (i + 1) * S * S), out.subarray((v * n + i) * S * S, (v * n + i + 1) * S * S), S, rng, opts);
    }
  }
  return out;
}
