/** Seed-spread verdicts, the run summary, the palette and notebook 02's overall verdict, on fixed inputs. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compareSeeds, deltaText, summarizeSeeds, verdictPhrase } from "../lib/experiments/seed-spread";
import type { MetricsRow } from "../lib/train/run";
import { median, runSummary, runTotals } from "../lib/experiments/run-summary";
import { lossVsFlopsFigure } from "../lib/experiments/loss-vs-flops";
import { methodStyle } from "../lib/view/palette";
import { overallVerdict } from "../lib/experiments/bin-histograms/verdict";
import { uniformCodeShares } from "../lib/experiments/bin-histograms/bin-histograms";
import { sweepSeeds, tokenizerComparisonSetup, comparisonOverrides } from "../lib/experiments/bin-histograms/grid";

test("compareSeeds: a difference smaller than the seed spread is 'within the seed spread', beyond it 'better'/'worse'", () => {
  // spread = max(range a, range b) = max(0.4, 0.2) = 0.4
  const within = compareSeeds([30.0, 30.4], [30.1, 30.3], { higherIsBetter: true });
  assert.equal(within.spread !== null && Math.abs(within.spread - 0.4) < 1e-12, true);
  assert.ok(Math.abs(within.delta - 0) < 1e-12);
  assert.equal(within.verdict, "within the seed spread");
  const better = compareSeeds([30.0, 30.2], [31.0, 31.1], { higherIsBetter: true });
  assert.ok(Math.abs(better.delta - 0.95) < 1e-12);
  assert.equal(better.verdict, "better");
  // lower is better (rFID): a lower mean beyond the spread is "better", a higher one "worse"
  assert.equal(compareSeeds([50, 52], [40, 41], { higherIsBetter: false }).verdict, "better");
  assert.equal(compareSeeds([40, 41], [50, 52], { higherIsBetter: false }).verdict, "worse");
  // exactly at the spread: not real
  assert.equal(compareSeeds([0, 1], [2, 2], { higherIsBetter: true }).verdict, "better"); // Δ = 1.5 > 1
  assert.equal(compareSeeds([0, 1], [1.5, 1.5], { higherIsBetter: true }).verdict, "within the seed spread"); // Δ = 1 = spread
});

test("compareSeeds with one seed says the spread is unmeasured", () => {
  const c = compareSeeds([1], [2], { higherIsBetter: true });
  assert.equal(c.spread, null);
  assert.equal(c.verdict, "unmeasured");
  assert.equal(deltaText(c, 2), "+1.00 (seed spread unmeasured: 1 seed)");
  assert.equal(deltaText(compareSeeds([1, 2], [3, 3.5], { higherIsBetter: true }), 2, " dB"), "+1.75 dB (seed spread 1.00 dB over 2 seeds)");
  assert.match(verdictPhrase("unmeasured"), /without a measured seed spread/);
  assert.throws(() => summarizeSeeds([1, NaN], "psnr"), /psnr\[1\]=NaN is not a finite number/);
  assert.throws(() => summarizeSeeds([], "psnr"), /no psnr/);
});

test("overallVerdict of notebook 02 follows the PSNR and utilisation verdicts", () => {
  const better = compareSeeds([0, 0.1], [1, 1.1], { higherIsBetter: true });
  const same = compareSeeds([0, 1], [0.5, 0.6], { higherIsBetter: true });
  const worse = compareSeeds([1, 1.1], [0, 0.1], { higherIsBetter: true });
  const one = compareSeeds([1], [2], { higherIsBetter: true });
  assert.match(overallVerdict(better, better), /^\*\*Yes/);
  assert.match(overallVerdict(better, same), /^\*\*Partly:\*\* iFSQ is better on reconstruction/);
  assert.match(overallVerdict(same, better), /^\*\*Partly:\*\* iFSQ is better on per-channel bin utilisation/);
  assert.match(overallVerdict(same, same), /within the seed spread/);
  assert.match(overallVerdict(better, worse), /^\*\*Mixed/);
  assert.match(overallVerdict(worse, same), /^\*\*No: /);
  assert.match(overallVerdict(one, better), /^\*\*No verdict:\*\* .*unmeasured/);
});

test("runTotals / runSummary: median steps/s, last time and FLOPs, from metrics rows", () => {
  const run = {
    runDir: "/x/runs/tokenizer-abc", reused: true, config: { steps: 30, batchSize: 4 },
    metrics: [
      { type: "train" as const, step: 10, time: 2, flops: 1e9, loss: 0.5, stepsPerSec: 5 },
      { type: "eval" as const, step: 10, time: 2, psnr: 20 },
      { type: "train" as const, step: 20, time: 5, flops: 2e9, loss: 0.4, stepsPerSec: 1 },
      { type: "train" as const, step: 30, time: 7, flops: 3e9, loss: 0.3, stepsPerSec: 4 },
    ] as MetricsRow[],
  };
  assert.deepEqual(runTotals(run), { seconds: 7, stepsPerSec: 4, flops: 3e9, firstLoss: 0.5, lastLoss: 0.3 });
  assert.deepEqual(runSummary(run, { bound: "FSQ" }), { bound: "FSQ", run: "tokenizer-abc", reused: "yes", steps: 30, batch: 4, "run time (s)": 7, "steps/s": 4, "train GFLOP": 3 });
  assert.equal(median([3, 1, 2, 10]), 2.5);
  assert.throws(() => runTotals({ ...run, metrics: [] }), /tokenizer-abc has no train rows/);
});

test("lossVsFlopsFigure: x = FLOPs, eval points at step × FLOPs/step on a right axis only when there are any", () => {
  const rows = [{ type: "train" as const, step: 1, time: 1, flops: 10, loss: 2 }, { type: "train" as const, step: 2, time: 2, flops: 20, l1: 1, loss: 3 }] as MetricsRow[];
  const f = lossVsFlopsFigure({ title: "t", yTitle: "y", curves: [{ name: "a", rows, key: "l1", fallbackKey: "loss" }], evals: [{ name: "g", rows: [{ type: "eval", step: 2, time: 2, gfid: 9 }], key: "gfid", flopsPerStep: 10 }] });
  assert.deepEqual((f.data[0] as any).x, [10, 20]);
  assert.deepEqual((f.data[0] as any).y, [2, 1]);
  assert.deepEqual((f.data[1] as any).x, [20]);
  assert.ok((f.layout as any).yaxis2);
  assert.equal((lossVsFlopsFigure({ title: "t", yTitle: "y", curves: [], evals: [{ name: "g", rows: [], key: "gfid", flopsPerStep: 1 }] }).layout as any).yaxis2, undefined);
});

test("palette, uniform code shares and notebook 02's grid = the tokenizers sweep", () => {
  assert.equal(methodStyle("ifsq", { alpha: 1.6 }).name, "iFSQ (α=1.6)");
  assert.equal(methodStyle("tanh").color, "#d62728");
  const u = uniformCodeShares(17);
  assert.equal(u.length, 17);
  assert.ok(Math.abs(u.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.equal(u[0], 1 / 32);
  assert.equal(u[8], 1 / 16);
  assert.deepEqual(sweepSeeds("tiny"), [0, 1]);
  assert.deepEqual(sweepSeeds("quick"), [0, 1]);
  const s = tokenizerComparisonSetup({ preset: "quick" });
  assert.deepEqual(comparisonOverrides(s, "tanh", 1), { levels: [17, 17, 17, 17], alpha: 1.6, bound: "tanh", seed: 1 });
  assert.throws(() => tokenizerComparisonSetup({ preset: "tiny", seeds: [0, 0] }), /repeats a seed/);
});

test("notebook 03's computed sentences: uniform-guessing NLL and orders of magnitude below the paper", async () => {
  const { uniformNll, uniformNllText } = await import("../lib/experiments/ar/report");
  const { ordersBelowPaper, paperScaleText } = await import("../lib/experiments/paper-compute");
  assert.equal(uniformNllText([17, 17, 17, 17]), "4 ln 17 = 11.33");
  assert.equal(uniformNllText([17, 9]), "ln 17 + ln 9 = 5.03");
  assert.ok(Math.abs(uniformNll([17, 17]) - 2 * Math.log(17)) < 1e-12);
  assert.equal(ordersBelowPaper(2.17e13, "ar"), 6); // 2.17e19 / 2.17e13
  assert.equal(ordersBelowPaper(1.65e16, "dit"), 3); // 1.65e19 / 1.65e16
  assert.match(paperScaleText(2.17e13, "ar"), /^about 6 orders of magnitude below the paper's LlamaGen-L/);
  assert.throws(() => ordersBelowPaper(0, "ar"), /ourFlops=0/);
});
