import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { CodeStatsAccumulator, codeStats, entropyBits } from "../lib/eval/code-stats";
import { FSQ } from "../lib/quant/fsq";
import { Tokenizer, DEFAULT_TOKENIZER_ARCH } from "../lib/models/tokenizer";
import type { ImageDataset } from "../lib/data/fashion-mnist";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("every code of a small codebook once: entropy = log2 L per dim, usage 1, perplexity K", () => {
  const levels = [3, 5];
  const acc = new CodeStatsAccumulator(levels, { bins: 4 });
  const codes: number[] = [];
  const bounded: number[] = [];
  for (let d1 = 0; d1 < 5; d1++)
    for (let d0 = 0; d0 < 3; d0++) {
      codes.push((d0 - 1) / 1, (d1 - 2) / 2);
      bounded.push((d0 - 1) * 0.9, (d1 - 2) / 2 - 0.1);
    }
  acc.add(bounded, codes);
  const s = acc.result();
  assert.equal(s.count, 15);
  assert.deepEqual(s.occupancy, [[5, 5, 5], [3, 3, 3, 3, 3]]);
  close(s.entropy[0], Math.log2(3));
  close(s.entropy[1], Math.log2(5));
  close(s.utilisation[0], 1);
  close(s.meanUtilisation, 1);
  assert.equal(s.codebookSize, 15);
  assert.equal(s.usedCodes, 15);
  close(s.usage, 1);
  close(s.globalEntropy, Math.log2(15));
  close(s.perplexity, 15, 1e-9);
  close(s.globalUtilisation, 1);
  close(s.endBinMass[0], 2 / 3);
  close(s.endBinMass[1], 2 / 5);
  // histogram of dim 0: values −0.9, 0, 0.9 (5 each) in 4 bins of width 0.5 on [−1, 1]
  assert.deepEqual(s.histEdges, [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(s.histCounts[0], [5, 0, 5, 5]);
  // densities integrate to 1
  for (const dens of s.histDensity) close(dens.reduce((a, b) => a + b * 0.5, 0), 1, 1e-12);
  assert.ok(Number.isNaN(s.preMean[0]));
});

test("a collapsed code: entropy 0, usage 1/K, perplexity 1; values outside [−1, 1] land in the end bins", () => {
  const acc = new CodeStatsAccumulator([17, 17], { bins: 8 });
  acc.add([1.0005, -1.2, 1.0005, -1.2], [1, -1, 1, -1], [3, -3, 5, -5]);
  const s = acc.result();
  assert.deepEqual(s.entropy, [0, 0]);
  assert.equal(s.usedCodes, 1);
  close(s.usage, 1 / 289);
  close(s.perplexity, 1);
  assert.equal(s.histCounts[0][7], 2);
  assert.equal(s.histCounts[1][0], 2);
  close(s.endBinMass[0], 1);
  close(s.preMean[0], 4);
  close(s.preStd[0], 1);
  close(s.preMean[1], -4);
});

test("the global index follows FSQ.codesToIndices (first dimension least significant)", async () => {
  await initBackend("cpu", { log: () => {} });
  const levels = [3, 4, 5];
  const fsq = new FSQ({ levels, bound: "tanh" });
  const z = tf.randomNormal([200, 3], 0, 2, "float32", 4);
  const codes = fsq.quantize(z);
  const idx = fsq.codesToIndices(codes);
  const counts = new Map<number, number>();
  for (const i of idx.dataSync()) counts.set(i, (counts.get(i) ?? 0) + 1);
  const acc = new CodeStatsAccumulator(levels);
  await acc.addTensors(codes, codes);
  const s = acc.result();
  assert.equal(s.usedCodes, counts.size);
  const p = [...counts.values()].map((c) => c / 200);
  close(s.globalEntropy, entropyBits(p), 1e-9);
  tf.dispose([z, codes, idx]);
});

test("bad values are clear errors", () => {
  const acc = new CodeStatsAccumulator([5]);
  assert.throws(() => acc.add([0.1], [0.3]), /code value 0\.3.* is not on the grid of L=5/);
  assert.throws(() => acc.add([0.1], [NaN]), /code value NaN/);
  assert.throws(() => acc.add([NaN], [0.5]), /bounded value in dimension 0 is NaN/);
  assert.throws(() => acc.add([0, 0], [0]), /bounded has 2 values but codes has 1/);
  assert.throws(() => new CodeStatsAccumulator([17, 1]), /levels\[1\]=1 must be an integer ≥ 2/);
  assert.throws(() => new CodeStatsAccumulator([5], { bins: 0 }), /bins=0/);
  assert.throws(() => new CodeStatsAccumulator([5]).result(), /no latent vectors/);
});

test("codeStats over a data set: batched (partial last batch), counts n·g², no tensor leak", async () => {
  await initBackend("cpu", { log: () => {} });
  const tok = new Tokenizer({ ...DEFAULT_TOKENIZER_ARCH, channels: [8, 16, 16], levels: [5, 5, 5, 5] }, 2);
  const n = 10;
  const images = tf.tidy(() => tf.tanh(tf.randomNormal([n, 32, 32, 1], 0, 1, "float32", 8))).dataSync() as Float32Array;
  const ds: ImageDataset = { images, labels: new Int32Array(n), n, height: 32, width: 32, channels: 1, classNames: [] };
  const before = tf.memory().numTensors;
  let batches = 0;
  const s = await codeStats(tok, ds, { batchSize: 4, onBatch: () => void batches++ });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(batches, 3);
  assert.equal(s.count, n * 64);
  for (const row of s.occupancy) assert.equal(row.reduce((a, b) => a + b, 0), n * 64);
  // same numbers from one big batch
  const s2 = await codeStats(tok, ds, { batchSize: 64 });
  assert.deepEqual(s2.occupancy, s.occupancy);
  close(s2.perplexity, s.perplexity, 1e-9);
  const s3 = await codeStats(tok, ds, { limit: 3 });
  assert.equal(s3.count, 3 * 64);
  tok.dispose();
});
