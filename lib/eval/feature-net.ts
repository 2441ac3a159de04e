/**
 * Training, caching and loading of the frozen feature network (lib/models/classifier.ts).
 *
 * `loadOrTrainFeatureNet({ preset })` returns the network of a preset: from memory, else from its cache folder
 * `data/feature-net/<preset>-<hash>/` (hash of the preset's full definition), else it trains it — announcing so in
 * one line — and writes the folder atomically (temp folder, then rename). A cached network is never retrained.
 *
 * Presets:
 *   - "full": the network every reported number uses. All 60 000 train images, 3 epochs, batch 64, AdamW with warm-up
 *     and cosine decay. About 6.5 CPU minutes on wasm (1 core), 90.7 % test accuracy.
 *   - "tiny": a TEST-ONLY stand-in trained on 3 000 images for 1 epoch (seconds; clearly lower accuracy). Its FIDs are
 *     not comparable to the full network's.
 * Training is deterministic from the seed (ParamStore init, seeded batches); across backends the weights differ by
 * float round-off only.
 */
import * as tf from "@tensorflow/tfjs";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Classifier, CLASSIFIER_VERSION, ClassifierArch, DEFAULT_CLASSIFIER_ARCH } from "../models/classifier";
import { AdamW } from "../nn/adamw";
import { batchIndices, imageBatch, labelBatch, stepsPerEpoch } from "../data/batches";
import { dataDir, loadFashionMnist } from "../data/fashion-mnist";
import type { ImageDataset } from "../data/fashion-mnist";
import { progress } from "../view/progress";

export type FeatureNetPreset = "tiny" | "full";

export interface FeatureNetConfig {
  arch: ClassifierArch;
  seed: number;
  /** Train images used (the first `trainLimit` of the train split). */
  trainLimit: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of `lr` (cosine decay). */
  minLrFraction: number;
}

export const FEATURE_NET_PRESETS: Record<FeatureNetPreset, FeatureNetConfig> = {
  full: { arch: DEFAULT_CLASSIFIER_ARCH, seed: 20240601, trainLimit: 60000, epochs: 3, batchSize: 64, lr: 2e-3, weightDecay: 1e-4, warmupSteps: 100, minLrFraction: 0.02 },
  tiny: { arch: DEFAULT_CLASSIFIER_ARCH, seed: 20240601, trainLimit: 3000, epochs: 1, batchSize: 64, lr: 2e-3, weightDecay: 1e-4, warmupSteps: 5, minLrFraction: 0.1 },
};

/** A trained feature network with its provenance. */
export interface FeatureNet {
  net: Classifier;
  preset: FeatureNetPreset | "custom";
  config: FeatureNetConfig;
  /** Hash of the config; names the cache folder and keys cached reference statistics. */
  hash: string;
  /** Test-split accuracy measured after training. */
  testAccuracy: number;
  /** Cache folder. */
  dir: string;
  featureDim: number;
}

const FORMAT = "ifsq-feature-net-v1";

export function featureNetHash(config: FeatureNetConfig): string {
  return crypto.createHash("sha256").update(JSON.stringify({ FORMAT, version: CLASSIFIER_VERSION, config })).digest("hex").slice(0, 12);
}

/** Learning rate at `step` of `total`: linear warm-up, then cosine decay to lr·minLrFraction. */
export function featureNetLr(c: FeatureNetConfig, step: number, total: number): number {
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  const t = (step - c.warmupSteps) / Math.max(1, total - c.warmupSteps);
  return c.lr * (c.minLrFraction + (1 - c.minLrFraction) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t))));
}

/** Mean softmax cross-entropy of logits [B, K] against int labels [B]. */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const oneHot = tf.oneHot(labels, logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** Top-1 accuracy of the network on a data set, in batches. */
export function classifierAccuracy(net: Classifier, ds: ImageDataset, batchSize = 500): number {
  let correct = 0;
  for (let lo = 0; lo < ds.n; lo += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, ds.n - lo) }, (_, i) => lo + i);
    const pred = tf.tidy(() => {
      const x = imageBatch(ds, idx);
      return tf.argMax(net.forward(x).logits, 1);
    });
    const p = pred.dataSync();
    pred.dispose();
    for (let i = 0; i < idx.length; i++) if (p[i] === ds.labels[idx[i]]) correct++;
  }
  return correct / ds.n;
}

/**
 * Trains a classifier from scratch with a plain AdamW loop (no run folder: the result is cached as a whole).
 * Returns the network and its test accuracy.
 */
export function trainFeatureNet(
  config: FeatureNetConfig,
  opts: { log?: (line: string) => void; progress?: boolean; onStep?: (step: number, loss: number) => void; testLimit?: number } = {},
): { net: Classifier; testAccuracy: number; seconds: number; cpuSeconds: number; finalLoss: number } {
  const t0 = Date.now();
  const c0 = process.cpuUsage();
  const train = loadFashionMnist("train", { limit: config.trainLimit });
  const net = new Classifier(config.arch, config.seed);
  const names = net.params.names();
  const vars = net.params.variables();
  const byVarName = new Map(vars.map((v, i) => [v.name, names[i]]));
  const opt = new AdamW(net.params, { lr: config.lr, weightDecay: config.weightDecay });
  const total = stepsPerEpoch(config.batchSize, train.n) * config.epochs;
  const bar = opts.progress === false ? null : progress({ total, label: "feature net" });
  let ema = NaN;
  try {
    for (let step = 0; step < total; step++) {
      const idx = batchIndices(config.seed, step, config.batchSize, train.n);
      const loss = tf.tidy(() => {
        const x = imageBatch(train, idx);
        const y = labelBatch(train, idx);
        const { value, grads } = tf.variableGrads(() => crossEntropy(net.forward(x).logits, y), vars);
        const named: Record<string, tf.Tensor> = {};
        for (const [k, g] of Object.entries(grads)) named[byVarName.get(k)!] = g;
        opt.step(named, { lr: featureNetLr(config, step, total) });
        return value;
      });
      if (step % 10 === 0 || step === total - 1) {
        const l = loss.dataSync()[0];
        if (!Number.isFinite(l)) throw new Error(`feature net training diverged at step ${step}: loss=${l}`);
        ema = Number.isNaN(ema) ? l : 0.9 * ema + 0.1 * l;
        opts.onStep?.(step, l);
        bar?.tick(step + 1, { loss: ema });
      }
      loss.dispose();
    }
  } finally {
    bar?.done();
    opt.dispose();
  }
  const cpuSeconds = process.cpuUsage(c0).user / 1e6;
  const seconds = (Date.now() - t0) / 1000;
  const testAccuracy = classifierAccuracy(net, loadFashionMnist("test", { limit: opts.testLimit }));
  return { net, testAccuracy, seconds, cpuSeconds, finalLoss: ema };
}

interface Manifest {
  format: string;
  preset: string;
  hash: string;
  config: FeatureNetConfig;
  testAccuracy: number;
  trainSeconds: number;
  /** CPU seconds of the training loop (user time; the wall time is longer on a shared machine). */
  trainCpuSeconds?: number;
  backend: string;
  createdAt: string;
  params: { name: string; shape: number[]; offset: number; length: number }[];
}

/** Writes the network's weights and manifest into `dir` atomically. */
function saveNet(dir: string, m: Omit<Manifest, "params">, net: Classifier): void {
  const params: Manifest["params"] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [name, v] of net.params.entries()) {
    const data = v.dataSync() as Float32Array;
    params.push({ name, shape: v.shape, offset, length: data.length });
    chunks.push(data);
    offset += data.length;
  }
  const all = new Float32Array(offset);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp, { recursive: true });
  fs.writeFileSync(path.join(tmp, "weights.bin"), Buffer.from(all.buffer, all.byteOffset, all.byteLength));
  fs.writeFileSync(path.join(tmp, "manifest.json"), JSON.stringify({ ...m, params }, null, 1));
  try {
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, "manifest.json"))) throw e; // else another process won the race: keep theirs
  }
}

/** Reads a cached network; errors name the file and what is wrong. */
function loadNet(dir: string): { net: Classifier; manifest: Manifest } {
  const mf = path.join(dir, "manifest.json");
  const wf = path.join(dir, "weights.bin");
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(mf, "utf8"));
  } catch (e) {
    throw new Error(`${mf}: unreadable feature-net manifest (${(e as Error).message}); delete ${dir} to retrain`);
  }
  if (manifest.format !== FORMAT) throw new Error(`${mf}: format ${manifest.format}, expected ${FORMAT}; delete ${dir} to retrain`);
  const buf = fs.readFileSync(wf);
  const total = manifest.params.reduce((a, p) => a + p.length, 0);
  if (buf.byteLength !== total * 4) throw new Error(`${wf}: ${buf.byteLength} bytes, the manifest needs ${total * 4}; the file is truncated or corrupted (delete ${dir} to retrain)`);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const net = new Classifier(manifest.config.arch, manifest.config.seed);
  const names = net.params.names();
  const stored = manifest.params.map((p) => p.name);
  if (names.join(",") !== stored.join(",")) throw new Error(`${mf}: parameters [${stored.join(", ")}] do not match the network's [${names.join(", ")}]`);
  for (const p of manifest.params) {
    const v = net.params.get(p.name);
    if (v.shape.join(",") !== p.shape.join(",")) throw new Error(`${mf}: parameter ${p.name} has shape [${p.shape}], the network expects [${v.shape}]`);
    const values = all.subarray(p.offset, p.offset + p.length);
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) throw new Error(`${wf}: parameter ${p.name} holds a non-finite value`);
    tf.tidy(() => v.assign(tf.tensor(values, p.shape)));
  }
  return { net, manifest };
}

const loaded = new Map<string, FeatureNet>();

/** Forgets the networks loaded in this process (disposing them); the next call loads from disk again. */
export function clearFeatureNetCache(): void {
  for (const fn of loaded.values()) fn.net.dispose();
  loaded.clear();
}

/** Cache folder of a preset or config. */
export function featureNetDir(preset: string, config: FeatureNetConfig, root = path.join(dataDir(), "feature-net")): string {
  return path.join(root, `${preset}-${featureNetHash(config)}`);
}

/**
 * The feature network of `preset` (default "full"): from memory, from its cache folder, or trained now (one line
 * announces it, with the expected duration; `train: false` makes a missing cache an error instead).
 */
export function loadOrTrainFeatureNet(
  opts: {
    preset?: FeatureNetPreset;
    /** A custom configuration instead of a preset (cached as "custom-<hash>"). */
    config?: FeatureNetConfig;
    /** Cache root (default data/feature-net). */
    root?: string;
    /** false: a missing cache is an error instead of a training run. */
    train?: boolean;
    log?: (line: string) => void;
    progress?: boolean;
    /** Test images used for the recorded accuracy (default all 10 000). */
    testLimit?: number;
  } = {},
): FeatureNet {
  const preset = opts.config ? "custom" : opts.preset ?? "full";
  if (preset !== "custom" && !(preset in FEATURE_NET_PRESETS)) {
    throw new Error(`feature net preset ${JSON.stringify(preset)} is unknown; expected one of: ${Object.keys(FEATURE_NET_PRESETS).join(", ")}`);
  }
  const config = opts.config ?? FEATURE_NET_PRESETS[preset as FeatureNetPreset];
  const hash = featureNetHash(config);
  const dir = featureNetDir(preset, config, opts.root);
  const hit = loaded.get(dir);
  if (hit && !hit.net.params.names().some((n) => hit.net.params.get(n).isDisposed)) return hit;
  const log = opts.log ?? ((l: string) => console.log(l));
  let result: FeatureNet;
  if (fs.existsSync(path.join(dir, "manifest.json"))) {
    const { net, manifest } = loadNet(dir);
    result = { net, preset, config, hash, testAccuracy: manifest.testAccuracy, dir, featureDim: config.arch.featureDim };
  } else {
    if (opts.train === false) throw new Error(`no cached feature network in ${dir}; train it with: npx tsx scripts/train-feature-net.ts --preset ${preset}`);
    const steps = Math.floor(config.trainLimit / config.batchSize) * config.epochs;
    log(
      `feature net: training the "${preset}" classifier (${steps} steps on ${config.trainLimit} train images${preset === "tiny" ? ", TEST-ONLY tiny variant" : ""}); ` +
        `it is cached in ${dir} and reused afterwards`,
    );
    const r = trainFeatureNet(config, { log, progress: opts.progress, testLimit: opts.testLimit });
    log(`feature net: test accuracy ${(100 * r.testAccuracy).toFixed(2)} % after ${r.seconds.toFixed(0)} s (${r.cpuSeconds.toFixed(0)} CPU s) on ${tf.getBackend()}`);
    saveNet(
      dir,
      { format: FORMAT, preset, hash, config, testAccuracy: r.testAccuracy, trainSeconds: r.seconds, trainCpuSeconds: r.cpuSeconds, backend: tf.getBackend(), createdAt: new Date().toISOString() },
      r.net,
    );
    result = { net: r.net, preset, config, hash, testAccuracy: r.testAccuracy, dir, featureDim: config.arch.featureDim };
  }
  loaded.set(dir, result);
  return result;
}
