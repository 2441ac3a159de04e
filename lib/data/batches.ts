/**
 * Deterministic, seeded mini-batches. Epoch e visits the set in the order of a permutation drawn from
 * `new Rng(seed, "epoch", e)`; step s of a run reads batch (s mod S) of epoch ⌊s / S⌋ with S = ⌊N / B⌋ steps per
 * epoch (the last partial batch of an epoch is dropped). So the batch of any step is a pure function of
 * (seed, step, B, N): resuming at step s needs no saved data-loader state. Only index permutations are built (4 bytes
 * per example), never a copy of the images.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";
import type { ImageDataset } from "./fashion-mnist";

const permCache: { key: string; perm: Uint32Array }[] = [];
const PERM_CACHE_SIZE = 4;

/** The visiting order of epoch `epoch`: a permutation of 0…n−1 (cached; do not mutate). */
export function epochOrder(seed: number, epoch: number, n: number): Uint32Array {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`epochOrder: n=${n} must be a positive integer`);
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`epochOrder: epoch=${epoch} must be a non-negative integer`);
  const key = `${seed}|${epoch}|${n}`;
  const hit = permCache.find((c) => c.key === key);
  if (hit) return hit.perm;
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  new Rng(seed, "epoch", epoch).shuffle(perm);
  permCache.push({ key, perm });
  if (permCache.length > PERM_CACHE_SIZE) permCache.shift();
  return perm;
}

/** Steps per epoch for batch size `batchSize` over `n` examples (partial last batch dropped). */
export function stepsPerEpoch(batchSize: number, n: number): number {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batch size ${batchSize} must be a positive integer`);
  if (batchSize > n) throw new Error(`batch size ${batchSize} is larger than the data set (${n} examples)`);
  return Math.floor(n / batchSize);
}

/** Example indices of training step `step` (see the file comment). A new Int32Array of length batchSize. */
export function batchIndices(seed: number, step: number, batchSize: number, n: number): Int32Array {
  if (!Number.isInteger(step) || step < 0) throw new Error(`batchIndices: step=${step} must be a non-negative integer`);
  const spe = stepsPerEpoch(batchSize, n);
  const epoch = Math.floor(step / spe);
  const start = (step % spe) * batchSize;
  return Int32Array.from(epochOrder(seed, epoch, n).subarray(start, start + batchSize));
}

function checkIndices(ds: ImageDataset, indices: ArrayLike<number>, what: string): void {
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= ds.n) throw new Error(`${what}: index[${i}]=${j} is outside the data set (0…${ds.n - 1})`);
  }
}

/** Copies the selected images into a new Float32Array [B·H·W·C]. */
export function gatherImages(ds: ImageDataset, indices: ArrayLike<number>): Float32Array {
  checkIndices(ds, indices, "gatherImages");
  const size = ds.height * ds.width * ds.channels;
  const out = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) out.set(ds.images.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
  return out;
}

/** The selected images as a new tensor [B, H, W, C] (the caller disposes it). */
export function imageBatch(ds: ImageDataset, indices: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(gatherImages(ds, indices), [indices.length, ds.height, ds.width, ds.channels]);
}

/** The selected labels as a new int32 tensor [B] (the caller disposes it). */
export function labelBatch(ds: ImageDataset, indices: ArrayLike<number>): tf.Tensor1D {
  checkIndices(ds, indices, "labelBatch");
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = ds.labels[indices[i]];
  return tf.tensor1d(out, "int32");
}

/** A data set of the selected examples (copies them). */
export function subset(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const labels = new Int32Array(indices.length);
  const images = gatherImages(ds, indices);
  for (let i = 0; i < indices.length; i++) labels[i] = ds.labels[indices[i]];
  return { ...ds, images, labels, n: indices.length };
}

/**
 * Random horizontal flips in place: each image of a batch [B, H, W, C] (row-major, as gatherImages returns it) is
 * mirrored left↔right with probability ½, the coins drawn from `new Rng(seed, "hflip")`. Returns how many flipped.
 */
export function randomHFlip(images: Float32Array, shape: readonly [number, number, number, number], seed: number): number {
  const [B, H, W, C] = shape;
  if (images.length !== B * H * W * C) throw new Error(`randomHFlip: ${images.length} values do not fill a batch [${shape.join(", ")}]`);
  const rng = new Rng(seed, "hflip");
  let flipped = 0;
  for (let b = 0; b < B; b++) {
    if (rng.next() >= 0.5) continue;
    flipped++;
    for (let y = 0; y < H; y++) {
      const row = (b * H + y) * W * C;
      for (let x = 0; x < W >> 1; x++) {
        const l = row + x * C;
        const r = row + (W - 1 - x) * C;
        for (let c = 0; c < C; c++) {
          const t = images[l + c];
          images[l + c] = images[r + c];
          images[r + c] = t;
        }
      }
    }
  }
  return flipped;
}
