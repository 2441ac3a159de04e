/**
 * Fashion-MNIST (Xiao et al. 2017): 70 000 grey 28×28 images of 10 clothing classes, the published split of
 * 60 000 train / 10 000 test images, read from the original IDX gzip files.
 *
 * Preprocessing (our scaled-down stand-in for the paper's 256² ImageNet): zero-pad 28×28 → 32×32 (2 pixels of
 * background on every side, so an f = 4 tokenizer gives an 8×8 grid) and scale uint8 → [−1, 1] as x/127.5 − 1.
 *
 * Where the files are looked for: `opts.dir` if given, else `$IFSQ_DATA_DIR` if set (relative to the repository
 * root), each as the only folder; otherwise `data/fashion-mnist/` under the repository root (git-ignored, your own
 * copy) and then Debian's `dataset-fashion-mnist` package (/usr/share/datasets/fashion-mnist). A folder that holds
 * some of the four files but not all is an error naming the missing ones, never skipped. The root is found from this
 * file's location, not the working directory, so notebooks in any folder find it.
 */
import * as fs from "fs";
import * as path from "path";
import { dataDirSetting } from "../backend";
import { projectRoot } from "../project-root";
import { IDX_MAGIC, readIdxFile } from "./idx";

export type Split = "train" | "test";

export interface ImageDataset {
  /** [N, 32, 32, 1] row-major (NHWC), values in [−1, 1]. Shared with the in-process cache: do not mutate. */
  images: Float32Array;
  /** Class ids 0…9, length N. Shared with the in-process cache: do not mutate. */
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  classNames: readonly string[];
}

export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;

/** Published split sizes. */
export const FASHION_MNIST_SIZES: Record<Split, number> = { train: 60000, test: 10000 };
/** Raw and padded side lengths. */
export const RAW_SIDE = 28;
export const SIDE = 32;
const PAD = (SIDE - RAW_SIDE) / 2;

const FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
};

export const DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";


/** `data/` under the repository root (git-ignored; caches, runs, downloaded data). */
export function dataDir(): string {
  return path.join(projectRoot(), "data");
}

/** The file for one part of a split in `dir`, gzipped or not, or null. */
function findFile(dir: string, base: string): string | null {
  for (const name of [`${base}.gz`, base]) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) return f;
  }
  return null;
}

/** The folders searched for the files, in order, each with why it is searched (for messages). */
export function fashionMnistCandidates(dir?: string): { dir: string; source: string }[] {
  if (dir !== undefined) return [{ dir: path.resolve(dir), source: "the dir argument" }];
  const env = dataDirSetting();
  if (env !== null) return [{ dir: path.resolve(projectRoot(), env), source: `IFSQ_DATA_DIR=${env}` }];
  return [
    { dir: path.join(dataDir(), "fashion-mnist"), source: "the project's data folder" },
    { dir: DEBIAN_DIR, source: "Debian's dataset-fashion-mnist package" },
  ];
}

const ALL_FILES = (Object.keys(FILES) as Split[]).flatMap((s) => [FILES[s].images, FILES[s].labels]);
const GET_THEM =
  `download ${ALL_FILES.map((f) => `${f}.gz`).join(", ")} from https://github.com/zalandoresearch/fashion-mnist (folder data/fashion/)`;

/**
 * The folder that holds all four Fashion-MNIST files. Otherwise an error listing every folder searched with what it
 * lacks (full paths) and how to get the files; a folder holding only some of them is an error naming the missing ones.
 */
export function fashionMnistDir(dir?: string): string {
  const candidates = fashionMnistCandidates(dir);
  const target = candidates.length === 1 ? candidates[0].dir : path.join(dataDir(), "fashion-mnist"); // where the files should go
  const only = dir !== undefined ? "" : dataDirSetting() !== null ? " (IFSQ_DATA_DIR is set, so no other folder is searched; unset it to use the defaults)" : "";
  const report: string[] = [];
  for (const c of candidates) {
    if (!fs.existsSync(c.dir)) {
      report.push(`${c.dir} (${c.source}) does not exist`);
      continue;
    }
    const missing = ALL_FILES.filter((f) => !findFile(c.dir, f));
    if (missing.length === 0) return c.dir;
    if (missing.length < ALL_FILES.length) {
      throw new Error(
        `Fashion-MNIST in ${c.dir} (${c.source}) is incomplete: missing ${missing.map((f) => path.join(c.dir, `${f}.gz`)).join(", ")} ` +
          `(gzipped or not). Download the missing file(s) from https://github.com/zalandoresearch/fashion-mnist (folder data/fashion/) into ${c.dir}/${only}`,
      );
    }
    report.push(`${c.dir} (${c.source}) holds none of the four files`);
  }
  throw new Error(
    `Fashion-MNIST not found: ${report.join("; ")}${only}. Install Debian's package (apt-get install dataset-fashion-mnist), ` +
      `or ${GET_THEM} into ${target}/, or set IFSQ_DATA_DIR to a folder that holds them`,
  );
}

interface RawSplit {
  pixels: Uint8Array; // [N, 28, 28]
  labels: Uint8Array; // [N]
}

const rawCache = new Map<string, RawSplit>();
const fullCache = new Map<string, ImageDataset>();

function loadRaw(dir: string, split: Split): RawSplit {
  const key = `${path.resolve(dir)}|${split}`;
  const hit = rawCache.get(key);
  if (hit) return hit;
  const n = FASHION_MNIST_SIZES[split];
  const imgFile = findFile(dir, FILES[split].images)!;
  const lblFile = findFile(dir, FILES[split].labels)!;
  const images = readIdxFile(imgFile, { magic: IDX_MAGIC.images, count: n, dims: [RAW_SIDE, RAW_SIDE] });
  const labels = readIdxFile(lblFile, { magic: IDX_MAGIC.labels, count: n, dims: [] });
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= FASHION_MNIST_CLASSES.length) throw new Error(`${lblFile}: label[${i}]=${labels.data[i]} is not a class id 0…9; the file is corrupted`);
  }
  const raw = { pixels: images.data, labels: labels.data };
  rawCache.set(key, raw);
  return raw;
}

/** uint8 [n, 28, 28] → float [n, 32, 32, 1] in [−1, 1], background-padded. */
function preprocess(pixels: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n * SIDE * SIDE).fill(-1);
  for (let i = 0; i < n; i++) {
    const src = i * RAW_SIDE * RAW_SIDE;
    const dst = i * SIDE * SIDE;
    for (let r = 0; r < RAW_SIDE; r++) {
      const o = dst + (r + PAD) * SIDE + PAD;
      const s = src + r * RAW_SIDE;
      for (let c = 0; c < RAW_SIDE; c++) out[o + c] = pixels[s + c] / 127.5 - 1;
    }
  }
  return out;
}

/**
 * Loads one published split, padded to 32×32 and scaled to [−1, 1]. Parsed files are cached per process; the full
 * split's float arrays are cached too, and `limit` (the first `limit` images, in file order) returns views of them
 * when present, else converts only what is asked for.
 */
export function loadFashionMnist(split: Split, opts: { dir?: string; limit?: number } = {}): ImageDataset {
  if (split !== "train" && split !== "test") throw new Error(`loadFashionMnist: split=${JSON.stringify(split)}; expected "train" or "test"`);
  const total = FASHION_MNIST_SIZES[split];
  const limit = opts.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) throw new Error(`loadFashionMnist: limit=${limit} must be a positive integer`);
  const n = limit === undefined ? total : Math.min(limit, total);
  const dir = fashionMnistDir(opts.dir);
  const key = `${path.resolve(dir)}|${split}`;
  const full = fullCache.get(key);
  const make = (images: Float32Array, labels: Int32Array, count: number): ImageDataset => ({
    images,
    labels,
    n: count,
    height: SIDE,
    width: SIDE,
    channels: 1,
    classNames: FASHION_MNIST_CLASSES,
  });
  if (full) return n === total ? full : make(full.images.subarray(0, n * SIDE * SIDE), full.labels.subarray(0, n), n);
  const raw = loadRaw(dir, split);
  const ds = make(preprocess(raw.pixels, n), Int32Array.from(raw.labels.subarray(0, n)), n);
  if (n === total) fullCache.set(key, ds);
  return ds;
}

/** Drops the in-process caches (frees ~300 MB after loading both splits). */
export function clearFashionMnistCache(): void {
  rawCache.clear();
  fullCache.clear();
}
