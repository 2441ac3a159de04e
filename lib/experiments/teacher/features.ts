/**
 * REPA's targets: the teacher's patch features of the training images, computed once per (tokenizer run, teacher
 * run) and cached next to the tokenizer run's token cache (lib/experiments/latents.ts):
 *
 *   <tokenizerRunDir>/teacher-<teacherRun>-g<grid>-n<N>.bin     JSON header line, then float32 [N, g·g, Dt]
 *
 * Row i holds image i's feature of latent cell t = row·g + col (raster order, the order of the AR sequence and of the
 * DiT tokens). The file is written in chunks of `chunk` images (a temp file renamed into place at the end: never a
 * torn file) and read back by row with positioned reads, so neither writing nor training holds all N·g²·Dt floats
 * in memory (quick and paper-cpu, Dt = 64, 60 000 images: 983 MB on disk, 32 rows of 16 KB read per step).
 */
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { patchesToGrid } from "../../models/teacher";
import { loadFashionMnist } from "../../data/fashion-mnist";
import { fsyncDir } from "../../atomic";
import { progress } from "../../view/progress";
import type { LoadedTeacher } from "./task";

const FORMAT = "ifsq-teacher-patches-v1";

interface Header {
  format: string;
  teacherRun: string;
  n: number;
  tokens: number;
  dim: number;
}

/** The cached targets: one teacher feature per latent cell of each training image. */
export interface PatchTargets {
  file: string;
  n: number;
  /** Latent cells per image (g²). */
  tokens: number;
  /** Teacher width Dt. */
  dim: number;
  /** Rows `idx` as [idx.length · tokens · dim] (a new array; reads only those rows). */
  gather(idx: ArrayLike<number>): Float32Array;
  /** Whether the file existed (no extraction this time). */
  cached: boolean;
}

function readHeader(file: string): { header: Header; offset: number } {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(4096);
    const got = fs.readSync(fd, buf, 0, buf.length, 0);
    const nl = buf.subarray(0, got).indexOf(10);
    if (nl < 0) throw new Error(`${file}: no header line; delete the file to recompute the teacher features`);
    return { header: JSON.parse(buf.subarray(0, nl).toString("utf8")) as Header, offset: nl + 1 };
  } finally {
    fs.closeSync(fd);
  }
}

function openTargets(file: string, n: number, cached: boolean): PatchTargets {
  const { header, offset } = readHeader(file);
  const row = header.tokens * header.dim;
  const need = offset + header.n * row * 4;
  const size = fs.statSync(file).size;
  if (size !== need) throw new Error(`${file}: ${size} bytes, expected ${need}; delete the file to recompute the teacher features`);
  return {
    file,
    n,
    tokens: header.tokens,
    dim: header.dim,
    cached,
    gather(idx) {
      const out = new Float32Array(idx.length * row);
      const bytes = new Uint8Array(out.buffer);
      const fd = fs.openSync(file, "r");
      try {
        for (let b = 0; b < idx.length; b++) {
          const i = idx[b];
          if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new Error(`teacher features: row ${i} is outside 0…${n - 1}`);
          fs.readSync(fd, bytes, b * row * 4, row * 4, offset + i * row * 4);
        }
      } finally {
        fs.closeSync(fd);
      }
      return out;
    },
  };
}

/**
 * The teacher's patch features of the first n training images on a g×g latent grid: read from the cache under the
 * tokenizer run (any cached N ≥ n of the same teacher and grid), else computed now in chunks and cached.
 */
export async function teacherTargets(t: LoadedTeacher, tokenizerRunDir: string, opts: { n: number; grid: number; chunk?: number; log?: (l: string) => void }): Promise<PatchTargets> {
  const full = loadFashionMnist("train");
  const n = opts.n > 0 ? Math.min(opts.n, full.n) : full.n;
  const g = opts.grid;
  const T = g * g;
  const D = t.teacher.arch.featureDim;
  const prefix = `teacher-${t.runId}-g${g}-n`;
  if (fs.existsSync(tokenizerRunDir)) {
    const sizes = fs
      .readdirSync(tokenizerRunDir)
      .filter((f) => f.startsWith(prefix) && f.endsWith(".bin"))
      .map((f) => Number(f.slice(prefix.length, -4)))
      .filter((m) => Number.isInteger(m) && m >= n)
      .sort((a, b) => a - b);
    for (const m of sizes) {
      const file = path.join(tokenizerRunDir, `${prefix}${m}.bin`);
      const { header } = readHeader(file);
      if (header.format === FORMAT && header.teacherRun === t.runId && header.tokens === T && header.dim === D) return openTargets(file, n, true);
    }
  }
  const file = path.join(tokenizerRunDir, `${prefix}${n}.bin`);
  (opts.log ?? ((l: string) => console.log(l)))(`computing the teacher's patch features of ${n} training images once → ${file}`);
  fs.mkdirSync(tokenizerRunDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w");
  const chunk = opts.chunk ?? 1000;
  const per = full.height * full.width * full.channels;
  const bar = n >= 5000 ? progress({ total: n, label: "teacher features" }) : null;
  try {
    const header: Header = { format: FORMAT, teacherRun: t.runId, n, tokens: T, dim: D };
    const head = Buffer.from(JSON.stringify(header) + "\n", "utf8");
    fs.writeSync(fd, head);
    for (let lo = 0; lo < n; lo += chunk) {
      const m = Math.min(chunk, n - lo);
      const f = tf.tidy(() => patchesToGrid(t.teacher.forward(tf.tensor4d(full.images.subarray(lo * per, (lo + m) * per), [m, full.height, full.width, full.channels])).patches, g));
      const v = (await f.data()) as Float32Array;
      f.dispose();
      fs.writeSync(fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      bar?.tick(lo + m);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    bar?.done();
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(tokenizerRunDir);
  return openTargets(file, n, false);
}
