/**
 * The bits sweep (notebook 05): the grid's shape and equal budgets, knee detection, the aggregation over seeds, the
 * computed conclusions on fixed inputs, and that a second run of the notebook's pipeline trains nothing.
 */
import { test } from "node:test";
import { rfidManifest, samplerManifest } from "../lib/experiments/fid-manifests";
import * as assert from "node:assert/strict";
import { initBackend } from "../lib/backend";
import { runEnv } from "../lib/experiments/kinds";
import { getStudy } from "../lib/experiments/studies";
import { planStudy } from "../lib/experiments/plan";
import { BITS_GRID, arFlopsPerStep, arGroupSizes, bitsSetup, bitsStudy, bitsSweepRuns, checkBitsGrid, type BitsGridSpec } from "../lib/experiments/bits/grid";
import { findKnee } from "../lib/experiments/bits/knee";
import { bitsTrend, boundComparisons, generatorCurve, seedSummaryByLevel, spearman } from "../lib/experiments/bits/aggregate";
import { runBits, type BitsGeneratorResult, type BitsResults, type BitsTokenizerResult } from "../lib/experiments/bits/run";
import { bitsConclusion, bitsSummaryRows, paperOptimumShows, reconTrendText, reconstructionGrid } from "../lib/experiments/bits/report";
import { llamaGenFlops, LlamaGen, tokenLayout } from "../lib/models/llamagen";
import { FSQ } from "../lib/quant/fsq";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/rng";
import { evaluateGenerator, type FeatureExtractor } from "../lib/eval/features";
import { frechetDistance } from "../lib/eval/fid";
import { momentsOf } from "../lib/eval/stats";
import { loadFashionMnist } from "../lib/data/fashion-mnist";
import { resolveConfig } from "../lib/train/config";
import { runId } from "../lib/train/run";
import { tokenizerConfig, tokenizerArch } from "../lib/experiments/tokenizer/config";
import { Tokenizer } from "../lib/models/tokenizer";
import { tempDirs } from "./support/temp-dirs";

const tmpDir = tempDirs("ifsq-bits-");

test("grid: quick has 12 tokenizers (iFSQ at 5 L, tanh at 17, 2 seeds) + 2 half-budget ones, AR and DiT per L × 2 seeds on the seed-0 iFSQ tokenizer, equal budgets", () => {
  const all = getStudy("bits").plan("quick");
  const half = all.filter((r) => r.label.endsWith("half-budget"));
  const plan = all.filter((r) => !r.label.endsWith("half-budget"));
  const tk = plan.filter((r) => r.kind === "tokenizer");
  assert.equal(tk.length, 12);
  assert.equal(plan.filter((r) => r.kind === "ar").length, 10);
  assert.equal(plan.filter((r) => r.kind === "dit").length, 10);
  const cfg = (r: (typeof plan)[number]) => r.config as Record<string, any>;
  assert.deepEqual([...new Set(tk.filter((r) => cfg(r).bound === "tanh").map((r) => cfg(r).levels[0]))], [17]);
  // the budget check: L = 3 and 17 at half the steps, otherwise the seed-0 iFSQ run's config
  assert.deepEqual(half.map((r) => [cfg(r).levels[0], cfg(r).steps, cfg(r).seed, cfg(r).bound]), [[3, 400, 0, "ifsq"], [17, 400, 0, "ifsq"]]);
  for (const h of half) {
    const full = tk.find((r) => cfg(r).levels[0] === cfg(h).levels[0] && cfg(r).seed === 0 && cfg(r).bound === "ifsq")!;
    assert.deepEqual({ ...cfg(h), steps: 0 }, { ...cfg(full), steps: 0 });
    assert.equal(cfg(full).steps, 800);
  }
  // generators: seeds 0 and 1 at every L
  assert.deepEqual(plan.filter((r) => r.kind === "dit").map((r) => [cfg(r).tokenizer.levels[0], cfg(r).seed]), [0, 1].flatMap((seed) => [3, 5, 9, 17, 33].map((L) => [L, seed])));
  assert.deepEqual([...new Set(tk.map((r) => cfg(r).levels[0]))], [3, 5, 9, 17, 33]);
  for (const r of tk) {
    assert.deepEqual(cfg(r).levels, new Array(4).fill(cfg(r).levels[0]));
    // same architecture and budget at every L
    for (const k of ["channels", "resBlocks", "midBlocks", "steps", "batchSize", "lr", "latentInitGain", "hflip"]) assert.deepEqual(cfg(r)[k], cfg(tk[0])[k], `${r.label}: ${k}`);
  }
  const ids = new Map(plan.map((r) => [r.label, r.id]));
  for (const r of plan.filter((r) => r.kind !== "tokenizer")) {
    assert.equal(cfg(r).tokenizerRun, ids.get(`tokenizer L=${cfg(r).tokenizer.levels[0]} bound=ifsq seed=0`), r.label);
  }
  // DiT: the same steps at every L; AR: the same training FLOPs within half a step of any of them
  assert.equal(new Set(plan.filter((r) => r.kind === "dit").map((r) => cfg(r).steps)).size, 1);
  assert.equal(new Set(plan.filter((r) => r.kind === "ar").map((r) => `${cfg(r).tokenizer.levels[0]}:${cfg(r).steps}`)).size, 5, "both AR seeds of an L get the same steps");
  const spec = BITS_GRID.quick;
  const arFlops = plan.filter((r) => r.kind === "ar" && cfg(r).seed === 0).map((r) => ({ total: cfg(r).steps * arFlopsPerStep(spec, "quick", cfg(r).tokenizer.levels[0]), step: arFlopsPerStep(spec, "quick", cfg(r).tokenizer.levels[0]) }));
  const ref = arFlops[arFlops.length - 1].total;
  for (const f of arFlops) assert.ok(Math.abs(f.total - ref) <= f.step / 2 + 1e-3, `AR FLOPs ${f.total} vs ${ref}`);
  // the steps differ across L (the output projections cost T·D·Σ L²), so the equalisation is not vacuous
  assert.ok(new Set(plan.filter((r) => r.kind === "ar").map((r) => cfg(r).steps)).size > 1);
  // the AR token layout (grid.ts, measured): two sub-tokens of two channels each, at every preset
  for (const preset of ["tiny", "quick", "paper-cpu"] as const) {
    for (const r of getStudy("bits").plan(preset).filter((r) => r.kind === "ar")) assert.equal((r.config as Record<string, any>).channelsPerGroup, 2, `${preset}: ${r.label}`);
  }
  assert.deepEqual(plan.filter((r) => r.kind === "ar" && cfg(r).seed === 0).map((r) => cfg(r).steps), [144, 143, 138, 125, 90]);
});

test("AR token layout: arGroupSizes = the model's tokenLayout sub-token vocabularies (L² at 2 channels each); the FLOPs follow them", () => {
  for (const levels of [[3, 3, 3, 3], [17, 17, 17, 17], [8, 5, 5, 5]]) {
    for (const c of [1, 2, 4]) {
      const fsq = new FSQ({ levels, bound: "tanh" });
      assert.deepEqual(arGroupSizes(levels, c), [...tokenLayout(fsq, "factorized", c).groupSizes], `levels [${levels}], channelsPerGroup ${c}`);
    }
  }
  assert.deepEqual(arGroupSizes([17, 17, 17, 17], 2), [289, 289]);
  assert.throws(() => arGroupSizes([3, 3, 3, 3], 3), /channelsPerGroup=3; expected a positive divisor of the latent dim d=4/);
  const spec = BITS_GRID.quick;
  // one sub-token per channel at L = 17: 4 × 17 outputs; pairs: 2 × 289 (more output FLOPs, one head position fewer)
  const one = arFlopsPerStep({ ...spec, ar: { ...spec.ar, channelsPerGroup: 1 } }, "quick", 17);
  const two = arFlopsPerStep(spec, "quick", 17);
  assert.ok(Math.abs(one / two - 4205838336 / 3279421440) < 1e-9, `${one} / ${two}`);
  assert.throws(() => arFlopsPerStep({ ...spec, ar: { ...spec.ar, tokens: "single" } }, "quick", 3), /must use factorized tokens \(got tokens=single\)/);
});

test("grid: tiny is smaller (L ∈ {3, 5}, tanh at 5: 6 tokenizers + 1 half-budget + 2 AR + 2 DiT); bad grids are errors naming the value", () => {
  const plan = getStudy("bits").plan("tiny");
  assert.deepEqual(plan.map((r) => r.kind).join(","), "tokenizer,tokenizer,tokenizer,tokenizer,tokenizer,tokenizer,tokenizer,ar,ar,dit,dit");
  const base = BITS_GRID.tiny;
  assert.throws(() => checkBitsGrid({ ...base, levels: [3, 4] }, "t"), /levels\[1\]=4 is even; the ifsq bound needs odd levels/);
  assert.throws(() => checkBitsGrid({ ...base, levels: [5, 3] }, "t"), /strictly ascending/);
  assert.throws(() => checkBitsGrid({ ...base, tanhLevels: [9] }, "t"), /tanhLevels has 9/);
  assert.throws(() => checkBitsGrid({ ...base, generatorSeed: 7 }, "t"), /generatorSeed=7/);
  assert.throws(() => checkBitsGrid({ ...base, halfBudgetLevels: [9] }, "t"), /halfBudgetLevels has 9/);
  assert.throws(() => checkBitsGrid({ ...base, generatorSeeds: [] }, "t"), /generatorSeeds=\[\] must be distinct and non-empty/);
});

test("llamaGenFlops(arch) equals the model's own count (pure, no weights)", async () => {
  await initBackend("cpu", { log: () => {} });
  const arch = { dim: 32, depth: 2, heads: 2, headDepth: 1, gridH: 8, gridW: 8, numClasses: 10, groupSizes: [5, 5, 5, 5] };
  const m = new LlamaGen(arch, 0);
  try {
    assert.deepEqual(llamaGenFlops(arch), m.flops());
    // only the output projections depend on L: T·D·Σ L_g more MACs per sequence
    assert.equal(llamaGenFlops({ ...arch, groupSizes: [9, 9, 9, 9] }).forwardMacs - llamaGenFlops(arch).forwardMacs, 64 * 32 * 16);
  } finally {
    m.dispose();
  }
});

test("tokenizer latentInitGain: absent = 1 (same run), 5 scales quant_conv's initial weights exactly and z with them; bad values are errors", async () => {
  await initBackend("wasm", { log: () => {} });
  const base = resolveConfig(tokenizerConfig, { preset: "tiny" });
  assert.equal(runId("tokenizer", resolveConfig(tokenizerConfig, { preset: "tiny", overrides: { latentInitGain: 1 } })), runId("tokenizer", base));
  const g5 = resolveConfig(tokenizerConfig, { preset: "tiny", overrides: { latentInitGain: 5 } });
  assert.notEqual(runId("tokenizer", g5), runId("tokenizer", base));
  const a = new Tokenizer(tokenizerArch(base), 0);
  const b = new Tokenizer(tokenizerArch(g5), 0);
  try {
    const w = (t: Tokenizer) => Array.from(t.params.get("enc.quant_conv.w").dataSync());
    w(b).forEach((v, i) => assert.ok(Math.abs(v - 5 * w(a)[i]) < 1e-6, `quant_conv.w[${i}]`));
    // every other parameter is the same draw
    assert.deepEqual(Array.from(b.params.get("enc.conv_in.w").dataSync()), Array.from(a.params.get("enc.conv_in.w").dataSync()));
    const x = tf.tensor4d(loadFashionMnist("test", { limit: 4 }).images, [4, 32, 32, 1]);
    const std = (t: Tokenizer) => tf.tidy(() => Math.sqrt(tf.moments(t.encode(x).preQuant).variance.dataSync()[0]));
    assert.ok(Math.abs(std(b) / std(a) - 5) < 1e-3, `z std ratio ${std(b) / std(a)}`);
    x.dispose();
  } finally {
    a.dispose();
    b.dispose();
  }
  assert.throws(() => resolveConfig(tokenizerConfig, { preset: "tiny", overrides: { latentInitGain: -1 } }), /latentInitGain/);
});

test("evaluateGenerator halves: the FIDs of the two halves of the samples, each against the reference; precision/recall on request", async () => {
  await initBackend("cpu", { log: () => {} });
  const r = new Rng(3, "proj");
  const w = tf.keep(tf.tensor2d(Float32Array.from({ length: 1024 * 4 }, () => r.normal() / 32), [1024, 4]));
  const ex: FeatureExtractor = { featureDim: 4, id: "proj-4", forward: (x) => ({ features: tf.matMul(tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D, w) }) };
  const ds = loadFashionMnist("test", { limit: 60 });
  const ref = { images: ds.images.subarray(0, 40 * 1024), n: 40, height: 32, width: 32, channels: 1 };
  const gen = ds.images.subarray(40 * 1024, 60 * 1024);
  const sampler = (n: number) => tf.tensor4d(gen.subarray(0, n * 1024), [n, 32, 32, 1]);
  const m = await evaluateGenerator(sampler, 20, { extractor: ex, reference: ref, halves: true, progress: false, batchSize: 20 });
  const feats = (a: Float32Array, n: number) => tf.tidy(() => ex.forward(tf.tensor4d(a, [n, 32, 32, 1])).features.dataSync() as Float32Array);
  const fr = feats(ref.images, 40);
  const fg = feats(gen, 20);
  const refStats = momentsOf(fr, 40, 4);
  const want = [frechetDistance(momentsOf(fg.subarray(0, 40), 10, 4), refStats), frechetDistance(momentsOf(fg.subarray(40, 80), 10, 4), refStats)];
  assert.ok(m.fidHalves && Math.abs(m.fidHalves[0] - want[0]) < 1e-6 * (1 + want[0]) && Math.abs(m.fidHalves[1] - want[1]) < 1e-6 * (1 + want[1]), `${m.fidHalves} vs ${want}`);
  assert.ok(Number.isFinite(m.precision) && Number.isFinite(m.recall));
  assert.equal((await evaluateGenerator(sampler, 20, { extractor: ex, reference: ref, progress: false, batchSize: 20 })).fidHalves, undefined);
  await assert.rejects(evaluateGenerator(sampler, 8, { extractor: ex, reference: ref, halves: true, progress: false }), /halves of n=8 samples have 4 each/);
  w.dispose();
});

test("findKnee: interior optimum, saturation, best at the fewest bits, flat — against the tolerance", () => {
  const pts = (v: number[]) => v.map((value, i) => ({ bits: i + 1, value }));
  assert.deepEqual(findKnee(pts([90, 60, 40, 55, 80]), { lowerIsBetter: true, tolerance: 5 }), { kind: "optimum", index: 2, best: 2, tolerance: 5 });
  // the ends within the tolerance of the best: no optimum
  assert.equal(findKnee(pts([90, 60, 40, 44, 80]), { lowerIsBetter: true, tolerance: 5 }).kind, "optimum");
  assert.deepEqual(findKnee(pts([90, 60, 41, 40, 42]), { lowerIsBetter: true, tolerance: 5 }), { kind: "saturation", index: 2, best: 3, tolerance: 5 });
  assert.deepEqual(findKnee(pts([30, 40, 60]), { lowerIsBetter: true, tolerance: 5 }), { kind: "fewest-bits", index: 0, best: 0, tolerance: 5 });
  // notebook 05 at quick (AR, no CFG): the best (L=9) and the last point within the noise, L=17 between them worse: no knee
  assert.deepEqual(findKnee(pts([445.6, 437.5, 407.8, 444.8, 420.1]), { lowerIsBetter: true, tolerance: 13.2 }), { kind: "irregular", index: null, best: 2, tolerance: 13.2 });
  assert.deepEqual(findKnee(pts([427.0, 380.1, 398.7, 379.8, 399.7]), { lowerIsBetter: true, tolerance: 28.3 }), { kind: "saturation", index: 1, best: 3, tolerance: 28.3 });
  assert.deepEqual(findKnee(pts([50, 52, 49]), { lowerIsBetter: true, tolerance: 5 }), { kind: "flat", index: null, best: 2, tolerance: 5 });
  // only the last point within the noise of the best: still improving, no knee (and so no ★ in the figure)
  assert.deepEqual(findKnee(pts([90, 70, 55, 45, 30]), { lowerIsBetter: true, tolerance: 5 }), { kind: "rising", index: null, best: 4, tolerance: 5 });
  assert.deepEqual(findKnee(pts([14.3, 15.1, 16.0, 17.2]), { lowerIsBetter: false, tolerance: 0.3 }), { kind: "rising", index: null, best: 3, tolerance: 0.3 });
  // higher is better (PSNR): rises then saturates
  assert.deepEqual(findKnee(pts([12, 18, 21, 21.5, 21.6]), { lowerIsBetter: false, tolerance: 1 }), { kind: "saturation", index: 2, best: 4, tolerance: 1 });
  assert.throws(() => findKnee(pts([1, 2]).reverse(), { lowerIsBetter: true, tolerance: 0 }), /bits must ascend/);
  assert.throws(() => findKnee(pts([1, NaN]), { lowerIsBetter: true, tolerance: 0 }), /points\[1\]/);
});

test("spearman: exact on fixed lists", () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) - 0.8) < 1e-12);
  assert.ok(Number.isNaN(spearman([1, 2], [1, 2])));
});

// ---------------------------------------------------------------------------------------------- fixed results

const LV = [3, 5, 9, 17, 33];
function tok(L: number, bound: "tanh" | "ifsq", seed: number, psnr: number, rfid: number, perplexity = 100): BitsTokenizerResult {
  const row = { bound, levels: `[${L},${L},${L},${L}]`, entropy: 1, utilisation: 0.9, usage: 0.1, perplexity, endBinMass: 0.01, psnr, ssim: 0.5, l1: 0.1, rfid, images: 1000 };
  const run = { label: `t ${L}`, runDir: `/r/tokenizer-${L}${bound}${seed}`, reused: true, metrics: [{ type: "train" as const, step: 90, time: 30, loss: 0.2, flops: 1e12, stepsPerSec: 3 }], config: { steps: 90, batchSize: 32 }, flops: 1e12 };
  return { L, bits: Math.log2(L), bound, seed, run, row, rfidManifest: rfidManifest(1000, "featurenet-test"), entropyPerChannel: [1, 1, 1, 1], endBinMassPerChannel: [0.01, 0.01, 0.01, 0.01], usedCodes: 10, codebookSize: L ** 4, reconstructions: new Float32Array(2 * 4) };
}
function gen(kind: "ar" | "dit", L: number, gfid: number, gfidCfg: number, noise: number, seed = 0): BitsGeneratorResult {
  const ev = (g: number, s: number) => ({ cfgScale: s, gfid: g, precision: 0.5, recall: 0.4, halves: [g + noise, g] as [number, number], samplesPerSec: 10, n: 300, manifest: samplerManifest({ samples: 300, numClasses: 10, generator: "ar", guidanceScale: s, samplingSteps: null, ema: true, featureNet: "featurenet-test", seed: 0 }) });
  const run = { label: `${kind} ${L}`, runDir: `/r/${kind}-${L}`, reused: true, metrics: [{ type: "train" as const, step: 90, time: 60, loss: 3, flops: 2e12, stepsPerSec: 1.5 }], config: { steps: 90, batchSize: 32 }, flops: 2e12 };
  return { kind, L, seed, bits: Math.log2(L), run, tokenizerRun: `tokenizer-${L}`, detail: "", unguided: ev(gfid, 1), guided: ev(gfidCfg, 2) };
}
function fixture(): BitsResults {
  const psnr: Record<number, number> = { 3: 14, 5: 17, 9: 19, 17: 20, 33: 20.4 };
  const rfid: Record<number, number> = { 3: 90, 5: 50, 9: 30, 17: 22, 33: 20 };
  const tokenizers: BitsTokenizerResult[] = [];
  for (const L of LV) {
    for (const seed of [0, 1]) {
      if ([5, 17, 33].includes(L)) tokenizers.push(tok(L, "tanh", seed, psnr[L] - 1 + 0.1 * seed, rfid[L] + 5 + seed, 80 + seed));
      tokenizers.push(tok(L, "ifsq", seed, psnr[L] + 0.1 * seed, rfid[L] + seed, seed === 0 ? 100 : 300));
    }
  }
  // AR: interior optimum at L = 17; DiT: saturates from L = 9 on
  const ar = { 3: 120, 5: 90, 9: 70, 17: 60, 33: 85 } as Record<number, number>;
  const dit = { 3: 110, 5: 80, 9: 52, 17: 50, 33: 51 } as Record<number, number>;
  const generators = [...LV.map((L) => gen("ar", L, ar[L], ar[L] - 5, 4)), ...LV.map((L) => gen("dit", L, dit[L], dit[L] - 3, 4))];
  const setup = bitsSetup({ preset: "quick" });
  const halfBudget = [tok(3, "ifsq", 0, 13.0, 95), tok(17, "ifsq", 0, 19.98, 23)];
  return { setup, tokenizers, halfBudget, generators, featureNet: "featurenet-x", originals: new Float32Array(2 * 4), exampleShape: [2, 2, 2, 1], trained: 0 };
}

test("aggregation on fixed results: seed summaries, iFSQ vs FSQ verdicts, monotone with diminishing returns, gFID curves and knees", () => {
  const res = fixture();
  const p = seedSummaryByLevel(res.tokenizers, "ifsq", "psnr");
  assert.deepEqual(p.map((x) => x.L), LV);
  assert.ok(Math.abs(p[0].summary.mean - 14.05) < 1e-12 && Math.abs(p[0].summary.range - 0.1) < 1e-12);
  const cmp = boundComparisons(res.tokenizers, "psnr");
  assert.deepEqual(cmp.map((c) => [c.L, c.cmp.verdict]), [[5, "better"], [17, "better"], [33, "better"]]);
  const t = bitsTrend(p, true);
  assert.equal(t.monotone, true);
  assert.equal(t.diminishing, true);
  assert.ok(Math.abs(t.slopes[0] - 3 / (Math.log2(5) - Math.log2(3))) < 1e-9);
  // a drop beyond the seed spread is a violation
  const bad = bitsTrend([{ L: 3, bits: 1.58, summary: { mean: 14, min: 14, max: 14.1, range: 0.1, n: 2 } }, { L: 5, bits: 2.32, summary: { mean: 13, min: 13, max: 13.1, range: 0.1, n: 2 } }], true);
  assert.deepEqual(bad.violations, [[3, 5]]);
  assert.deepEqual([bad.total, bad.significant], [-1, true]);
  // a change from the fewest to the most bits within the seed spread of the ends is not significant
  const flat = bitsTrend([{ L: 3, bits: 1.58, summary: { mean: 14, min: 13.8, max: 14.3, range: 0.5, n: 2 } }, { L: 33, bits: 5.04, summary: { mean: 14.2, min: 14, max: 14.4, range: 0.4, n: 2 } }], true);
  assert.equal(flat.significant, false);
  assert.match(reconTrendText([{ L: 3, bits: 1.58, summary: { mean: 14, min: 13.8, max: 14.3, range: 0.5, n: 2 } }, { L: 33, bits: 5.04, summary: { mean: 14.2, min: 14, max: 14.4, range: 0.4, n: 2 } }], "psnr"), /changes by \+0\.20 dB, within the seed spread of the ends \(0\.50 dB\): \*\*flat at this scale\*\*/);
  const arC = generatorCurve(res.generators, "ar", false);
  assert.equal(arC.tolerance, 4);
  assert.deepEqual([arC.knee.kind, arC.points[arC.knee.index!].L], ["optimum", 17]);
  const ditC = generatorCurve(res.generators, "dit", false);
  assert.deepEqual([ditC.knee.kind, ditC.points[ditC.knee.index!].L], ["saturation", 9]);
  assert.equal(paperOptimumShows(arC).shows, true);
  assert.equal(paperOptimumShows(ditC).shows, false);
});

test("generator curves with two seeds: mean per L, the seed range joins the tolerance", () => {
  const gens = [gen("dit", 3, 100, 90, 2, 0), gen("dit", 3, 110, 95, 1, 1), gen("dit", 5, 80, 70, 3, 0), gen("dit", 5, 84, 72, 2, 1)];
  const c = generatorCurve(gens, "dit", false);
  assert.deepEqual(c.points.map((p) => [p.L, p.gfid, p.seedRange, p.noise, p.gfids]), [[3, 105, 10, 2, [100, 110]], [5, 82, 4, 3, [80, 84]]]);
  assert.equal(c.tolerance, 10);
});

test("conclusions and tables on fixed results: every claim computed from the numbers", () => {
  const res = fixture();
  const text = bitsConclusion(res);
  assert.match(text, /PSNR \(dB\): 14\.05 \(L=3\), 17\.05 \(L=5\), 19\.05 \(L=9\), 20\.05 \(L=17\), 20\.45 \(L=33\); it rises monotonically/);
  assert.match(text, /with diminishing returns: \+4\.07 dB per added bit from L=3 to L=5, \+0\.42 dB per bit from L=17 to L=33/);
  assert.match(text, /Overall: iFSQ ≥ FSQ beyond the seed spread at every compared L/);
  assert.match(text, /AR \(LlamaGen\) without CFG: gFID 120\.0 \(L=3\), 90\.0 \(L=5\), 70\.0 \(L=9\), 60\.0 \(L=17\), 85\.0 \(L=33\) \(mean over 1 seed\); best 60\.0 at L=17 \(4\.09 bits\); noise \(largest seed range or half-sample gap\) 4\.0: an interior optimum at L=17/);
  assert.match(text, /DiT \(flow matching\) without CFG: .*no optimum but a knee at L=9 \(3\.17 bits\)/);
  assert.match(text, /AR \(LlamaGen\): \*\*shows\*\*/);
  assert.match(text, /DiT \(flow matching\): \*\*does not show\*\* \(gFID at L=17 \(4\.09 bits\) is 50\.0, the best/);
  assert.match(text, /83,521 at L = 17/);
  // perplexity seed range 200 of mean 200 (100%) vs PSNR's 0.1 of 14.05 (0.7%)
  assert.match(text, /joint-code perplexity's seed range reaches 100% of its mean \(iFSQ, L=3\); per-channel utilisation's 0\.0% \(L=3\), PSNR's 0\.7% \(L=3\)\. So how the 4 channels combine/);
  assert.match(text, /Every run was reused/);
  // budget check: L=3 moved 14.05 − 13.0 = +1.05 dB (spread 0.1) → still moving; L=17 +0.07 dB within 0.1
  assert.match(text, /L=3: 13\.00 dB at 90 steps → 14\.05 dB at 90 \(\+1\.05 dB; seed spread 0\.10 dB\); L=17: 19\.98 dB at 90 steps → 20\.05 dB at 90 \(\+0\.07 dB; seed spread 0\.10 dB\): \*\*still moving beyond the seed spread\*\* at L=3:/);
  assert.match(text, /The gap between L=3 and L=17 was 6\.98 dB at half the steps and 6\.00 dB at the full budget/);
  const rows = bitsSummaryRows(res);
  assert.equal(rows.length, 5);
  assert.equal(rows[3]["iFSQ PSNR (dB)"], "20.05 ± 0.05");
  assert.equal(rows[0]["FSQ PSNR (dB)"], "–");
  assert.equal(rows[3]["AR gFID"], "60.0 ± 2.0");
  const grid = reconstructionGrid(res);
  assert.deepEqual(grid.shape, [2 * (1 + 5 + 3), 2, 2, 1]);
});

test("runBits: a second call over the same runs folder trains nothing and gives the same numbers (micro grid, tiny featurenet)", async () => {
  await initBackend("wasm", { log: () => {} });
  const lines: string[] = [];
  const env = runEnv({ runsDir: tmpDir(), log: (l) => lines.push(l), progress: false });
  const grid: BitsGridSpec = {
    ...BITS_GRID.tiny,
    levels: [3],
    tanhLevels: [],
    seeds: [0],
    tokenizer: { ...BITS_GRID.tiny.tokenizer, steps: 2, evalLimit: 130 },
    ar: { ...BITS_GRID.tiny.ar, steps: 2 },
    dit: { ...BITS_GRID.tiny.dit, steps: 2 },
  };
  const setup = bitsSetup({ preset: "tiny", grid, testImages: 130, evalSamples: 258, eulerSteps: 2, examples: 2 });
  assert.equal(bitsSweepRuns(grid, "tiny").length, 4);
  const first = await runBits(env, setup);
  assert.equal(first.trained, 4);
  assert.deepEqual([first.tokenizers.length, first.halfBudget.length, first.halfBudget[0].run.config.steps], [1, 1, 1]);
  // the evaluation phase reports each run as it finishes
  assert.deepEqual(lines.filter((l) => l.startsWith("bits: evaluated ")).map((l) => l.split(":")[1].trim().split(" ")[1]), ["1/4", "2/4", "3/4", "4/4"]);
  const second = await runBits(env, setup);
  assert.equal(second.trained, 0);
  assert.ok(second.tokenizers.every((t) => t.run.reused) && second.generators.every((g) => g.run.reused));
  assert.deepEqual(second.tokenizers.map((t) => t.row.psnr), first.tokenizers.map((t) => t.row.psnr));
  assert.deepEqual(second.generators.map((g) => g.unguided.gfid), first.generators.map((g) => g.unguided.gfid));
  // the notebook's plan names the sweep's run folders
  assert.deepEqual(planStudy(bitsStudy, setup).map((r) => r.id), first.tokenizers.concat(first.halfBudget).map((t) => t.run.runDir.split("/").pop()).concat(first.generators.map((g) => g.run.runDir.split("/").pop()!)));
});
