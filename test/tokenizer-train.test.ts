import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { evaluateTokenizer, resolveTokenizerConfig, tokenizerConfig, trainTokenizer, makeTokenizerTask } from "../lib/experiments/tokenizer/index";
import { runEnv } from "../lib/experiments/kinds";
import { lookupKind } from "../lib/train/registry";
import { randomHFlip } from "../lib/data/batches";
import { loadFashionMnist } from "../lib/data/fashion-mnist";

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

test("the tokenizer kind is in the registry, with presets, --set coercion, levels checked at the config, hflip", async () => {
  await initBackend("cpu", { log: () => {} });
  const kind = lookupKind(runEnv().kinds, "tokenizer");
  assert.equal(kind.configDef, tokenizerConfig);
  const cfg = resolveTokenizerConfig({ preset: "quick", set: ["bound=tanh", "levels=9,9,9"] });
  assert.equal(cfg.bound, "tanh");
  assert.deepEqual(cfg.levels, [9, 9, 9]);
  assert.throws(() => resolveTokenizerConfig({ preset: "tiny", set: ["bund=ifsq"] }), /did you mean "bound"/);
  assert.throws(() => resolveTokenizerConfig({ preset: "tiny", set: ["levels=17,16"] }), /levels: levels\[1\]=16 is even; the ifsq bound needs odd levels/);
  assert.deepEqual(resolveTokenizerConfig({ preset: "tiny", set: ["bound=tanh", "levels=17,16"] }).levels, [17, 16]);
  // hflip: false is the same config as no hflip (old runs keep their hash); true flips about half the images
  assert.deepEqual(resolveTokenizerConfig({ preset: "tiny", set: ["hflip=false"] }), resolveTokenizerConfig({ preset: "tiny" }));
  const task = makeTokenizerTask(resolveTokenizerConfig({ preset: "tiny" }));
  assert.equal(task.flopsPerStep, task.tokenizer.flops().trainPerImage * 16);
  const flipTask = makeTokenizerTask(resolveTokenizerConfig({ preset: "tiny", set: ["hflip=true"] }));
  const [a, b] = [task.batch(3), flipTask.batch(3)];
  const [va, vb] = [a.arraySync() as number[][][][], b.arraySync() as number[][][][]];
  let flipped = 0;
  for (let i = 0; i < va.length; i++) {
    const mirrored = JSON.stringify(va[i].map((row) => [...row].reverse())) === JSON.stringify(vb[i]);
    assert.ok(mirrored || JSON.stringify(va[i]) === JSON.stringify(vb[i]), `image ${i} is neither itself nor its mirror`);
    if (mirrored && JSON.stringify(va[i]) !== JSON.stringify(vb[i])) flipped++;
  }
  assert.ok(flipped > 0 && flipped < va.length, `flipped ${flipped} of ${va.length}`);
  tf.dispose([a, b]);
  task.dispose();
  flipTask.dispose();
  const x = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
  assert.throws(() => randomHFlip(x, [2, 2, 2, 1], 0), /12 values do not fill a batch \[2, 2, 2, 1\]/);
});

test("tiny tokenizer on real data (wasm): L1 falls within a few dozen steps, no tensor leak per step, finished run is reused", async () => {
  await initBackend("wasm", { log: () => {} });
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-tok-"));
  try {
    const config = resolveTokenizerConfig({ preset: "tiny", overrides: { steps: 30, trainLimit: 512, evalLimit: 32 } });
    const losses: number[] = [];
    const tensors: number[] = [];
    const env = runEnv({ runsDir, log: () => {}, progress: false });
    const first = await trainTokenizer(env, {
      config,
      train: { progress: false, onStep: (_s, l) => (losses.push(l), tensors.push(tf.memory().numTensors)) },
    });
    assert.equal(first.reused, false);
    assert.equal(losses.length, 30);
    for (let i = 1; i < tensors.length; i++) assert.equal(tensors[i], tensors[0], `tensor count after step ${i + 1} is ${tensors[i]}, after step 1 ${tensors[0]}`);
    const early = mean(losses.slice(0, 5));
    const late = mean(losses.slice(-5));
    assert.ok(late < 0.6 * early, `L1 did not fall enough: first 5 steps ${early.toFixed(3)}, last 5 ${late.toFixed(3)}`);
    const evalRows = first.metrics.filter((r) => r.type === "eval");
    assert.equal(evalRows.length, 1);
    assert.ok(Number.isFinite(evalRows[0].psnr as number));

    const again = await trainTokenizer(env, { config });
    assert.equal(again.reused, true);
    assert.equal(again.runDir, first.runDir);
    for (const [n, v] of first.tokenizer.params.entries()) assert.deepEqual(Array.from(again.tokenizer.params.get(n).dataSync()), Array.from(v.dataSync()), n);

    const test10 = loadFashionMnist("test", { limit: 24 });
    const before = tf.memory().numTensors;
    const ev = await evaluateTokenizer(again.tokenizer, { dataset: test10, batchSize: 10, examples: 12 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(ev.row.images, 24);
    assert.equal(ev.stats.count, 24 * 64);
    assert.ok(ev.row.psnr > 8 && ev.row.psnr < 40, `psnr ${ev.row.psnr}`);
    assert.ok(ev.row.ssim > 0 && ev.row.ssim <= 1, `ssim ${ev.row.ssim}`);
    assert.ok(ev.row.entropy > 0 && ev.row.utilisation <= 1 && ev.row.usage > 0 && ev.row.perplexity >= 1);
    assert.deepEqual(ev.examples.shape, [12, 32, 32, 1]);
    assert.deepEqual(Array.from(ev.examples.originals.subarray(0, 1024)), Array.from(test10.images.subarray(0, 1024)));
    first.tokenizer.dispose();
    again.tokenizer.dispose();
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});
