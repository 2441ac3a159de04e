/**
 * Samples along training: at each in-run evaluation a generator with `evalGridPerClass` set draws k samples of every
 * class from the weights being evaluated (EMA when the run keeps EMA) and stores them in its run folder, so a
 * notebook can show what the model drew at any evaluated compute without keeping checkpoints.
 *
 *   <run>/samples/step-0000158.json   { step, classes: [K·k], shape: [N, H, W, C], pixels: base64 of N·H·W·C bytes }
 *
 *   byte = round(255 · (clamp(x, −1, 1) + 1) / 2)   (images on [−1, 1], NHWC; show them with range [0, 255])
 */
import * as fs from "fs";
import * as path from "path";
import type * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../atomic";

export interface SampleSnapshot {
  /** Completed training step of the weights that drew the samples. */
  step: number;
  classes: number[];
  /** [N, H, W, C]. */
  shape: [number, number, number, number];
  /** N·H·W·C bytes, NHWC (0 = −1, 255 = +1). */
  pixels: Uint8Array;
}

const FILE = /^step-(\d{7})\.json$/;

/** `<run>/samples`. */
export function snapshotsDir(runDir: string): string {
  return path.join(runDir, "samples");
}

/** Quantises images [N, H, W, C] on [−1, 1] to bytes and writes them atomically as the snapshot of `step`. */
export function writeSampleSnapshot(runDir: string, step: number, classes: ArrayLike<number>, images: tf.Tensor4D): string {
  const [n, h, w, c] = images.shape;
  if (n !== classes.length) throw new Error(`writeSampleSnapshot: ${n} images for ${classes.length} classes; expected one class per image`);
  const v = images.dataSync();
  const pixels = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) pixels[i] = Math.round((255 * (Math.min(1, Math.max(-1, v[i])) + 1)) / 2);
  const file = path.join(snapshotsDir(runDir), `step-${String(step).padStart(7, "0")}.json`);
  const body = { step, classes: Array.from(classes), shape: [n, h, w, c], pixels: Buffer.from(pixels).toString("base64") };
  writeFileAtomic(file, JSON.stringify(body) + "\n");
  return file;
}

/** Every snapshot of a run, by step (none when the run kept none). */
export function readSampleSnapshots(runDir: string): SampleSnapshot[] {
  const dir = snapshotsDir(runDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => FILE.test(f))
    .sort()
    .map((f) => {
      const j = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { step: number; classes: number[]; shape: [number, number, number, number]; pixels: string };
      const pixels = new Uint8Array(Buffer.from(j.pixels, "base64"));
      const need = j.shape.reduce((a, b) => a * b, 1);
      if (pixels.length !== need) throw new Error(`${path.join(dir, f)}: ${pixels.length} bytes for shape [${j.shape}] (${need}); the file is damaged, delete it`);
      return { step: j.step, classes: j.classes, shape: j.shape, pixels };
    });
}
