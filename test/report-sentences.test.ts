/** Notebook 04's report (DiT) and notebook 01's α-range sentence, on fixed inputs: every computed number checked. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RequantizeRow, StepsRow } from "../lib/experiments/dit/evaluate";
import {
  ditConclusionText,
  ditRequantizeRows,
  ditStepsRows,
  flopsText,
  requantizeText,
  scaleCaveatText,
  stepsSaturation,
  stepsText,
  trainingText,
  type DiTRunFacts,
} from "../lib/experiments/dit/report";
import { gfidAndSpeedFigure } from "../lib/experiments/gfid-and-speed";
import { argminRange, argminRangeText } from "../lib/experiments/activation-collapse/alpha-sweep";

const sweep: StepsRow[] = [
  { steps: 10, gfid: 40, samplesPerSec: 16, nfe: 10 },
  { steps: 1, gfid: 80, samplesPerSec: 100, nfe: 1 },
  { steps: 2, gfid: 50, samplesPerSec: 60, nfe: 2 },
  { steps: 5, gfid: 41, samplesPerSec: 30, nfe: 5 },
];
const requant = (rq: number): RequantizeRow[] => [
  { decoding: "continuous", gfid: 40, offGrid: 0.2, nearCode: 0.3, outOfRange: 0.012 },
  { decoding: "re-quantized", gfid: rq, offGrid: 0, nearCode: 1, outOfRange: 0 },
];
const facts: DiTRunFacts = { steps: 100, batchSize: 32, flops: 2.5e12, stepsPerSec: 3.456, seconds: 29.4, firstLoss: 2, lastLoss: 1.5, params: 123456, lastEvalGfid: 61.234, evalSteps: 10 };

test("stepsSaturation: best = lowest gFID, saturated = fewest steps within the tolerance of it, rows in any order", () => {
  const s = stepsSaturation(sweep, 0.05); // best 40 ⇒ threshold 42 ⇒ 5 steps (41)
  assert.equal(s.best.steps, 10);
  assert.equal(s.saturated.steps, 5);
  assert.equal(s.fewest.steps, 1);
  assert.equal(stepsSaturation(sweep, 0).saturated.steps, 10);
  assert.equal(stepsSaturation(sweep, 0.3).saturated.steps, 2); // 50 ≤ 52
  assert.throws(() => stepsSaturation([], 0.05), /empty sweep/);
  assert.throws(() => stepsSaturation(sweep, -1), /saturation=-1/);
});

test("stepsText: numbers of the sweep, and the paper's 250 steps as a multiple of the saturated count", () => {
  assert.equal(
    stepsText(sweep, { eulerSteps: 10, saturation: 0.05 }),
    "the best gFID of the sweep is 40.00 at 10 Euler steps; with 5 Euler steps it is already within 5% of that (41.00), at 30.0 samples/s. " +
      "With 1 Euler step gFID is 80.00 at 100.0 samples/s. So the CPU default of 10 Euler steps is on the flat part of the curve at this scale; " +
      "the paper's 250 would cost 50× the time of 5 Euler steps for ≤ 5% gain.",
  );
  assert.match(stepsText(sweep, { eulerSteps: 5, saturation: 0.05 }), /default of 5 Euler steps is on the flat part/); // at the saturation point
  assert.match(stepsText(sweep, { eulerSteps: 2, saturation: 0.05 }), /Quality is still improving at 2 Euler steps here/);
  // the tiny case: best = saturated = fewest (1 step) is named once
  const flat: StepsRow[] = [{ steps: 1, gfid: 200, samplesPerSec: 90, nfe: 1 }, { steps: 5, gfid: 230, samplesPerSec: 30, nfe: 5 }];
  assert.equal(
    stepsText(flat, { eulerSteps: 5, saturation: 0.05 }),
    "the best gFID of the sweep is 200.00 at 1 Euler step, at 90.0 samples/s. So the CPU default of 5 Euler steps is on the flat part of the curve at this scale; " +
      "the paper's 250 would cost 250× the time of 1 Euler step for ≤ 5% gain.",
  );
});

test("requantizeText: worse, better, or within the tolerance (2% of the continuous gFID)", () => {
  assert.equal(
    requantizeText(requant(44)),
    "the sampled latents lie 0.200 bins from the nearest code on average (0.25 = uniform between codes; 30% within 0.1 bin, 1.2% outside [−1, 1]). " +
      "Snapping them to the code grid before decoding makes gFID worse by 4.00 (10%) (continuous 40.00, re-quantized 44.00).",
  );
  assert.match(requantizeText(requant(36)), /improves gFID by 4\.00 \(10%\)/);
  assert.match(requantizeText(requant(40.8)), /changes gFID by less than 2%/); // |0.8| ≤ 0.02 · 40
  assert.match(requantizeText(requant(40.9)), /makes gFID worse by 0\.90 \(2%\)/);
  assert.throws(() => requantizeText(requant(44).slice(0, 1)), /expected one "continuous" and one "re-quantized"/);
});

test("trainingText, scaleCaveatText and the whole conclusion: FLOPs, loss drop, orders below DiT-L, unmeasured seed spread", () => {
  assert.equal(flopsText(2.5e12), "2.50 TFLOP");
  assert.equal(flopsText(5e10), "50.0 GFLOP");
  assert.equal(
    trainingText(facts, "wasm"),
    "100 steps × batch 32 (2.50 TFLOP, 3.46 steps/s on wasm, 29 s with evaluations); the loss went from 2.000 to 1.500 (25% lower). The in-run gFID at the end was 61.23 (10 steps).",
  );
  const { lastEvalGfid: _, ...noEval } = facts;
  assert.doesNotMatch(trainingText(noEval, "wasm"), /in-run gFID/);
  // log10(1.65e19 / 2.5e12) = 6.82 ⇒ 7
  assert.match(scaleCaveatText(facts), /^Scale caveat: 123,456 parameters and 2\.50 TFLOP of training, about 7 orders of magnitude below the paper's DiT-L/);
  assert.match(scaleCaveatText(facts), /one training seed, so their seed spread is unmeasured/);
  const text = ditConclusionText(facts, sweep, requant(44), { backend: "cpu", eulerSteps: 10, saturation: 0.05 });
  assert.deepEqual(text.split("\n").map((l) => l.slice(0, 18)), ["- **Training:** 10", "- **Steps:** the b", "- **Re-quantizing:", "", "Scale caveat: 123,"]);
  assert.ok(!/NaN|undefined/.test(text));
});

test("ditStepsRows / ditRequantizeRows: the table columns", () => {
  assert.deepEqual(ditStepsRows(sweep.slice(0, 1)), [{ "Euler steps": 10, NFE: 10, gFID: 40, "samples/s": 16 }]);
  assert.deepEqual(Object.keys(ditRequantizeRows(requant(44))[0]), ["decoding", "gFID", "off-grid (bins)", "within 0.1 bin of a code", "outside [−1, 1]"]);
});

test("argminRange / argminRangeText: notebook 01's α range is the span of the criteria's argmins", () => {
  const arg = { a: 1.6, b: 1.7, c: 1.65 };
  const r = argminRange(arg, 1.6);
  assert.equal(r.lo, 1.6);
  assert.equal(r.hi, 1.7);
  assert.equal(r.inside, true);
  assert.ok(Math.abs(r.tanhGap - 0.3) < 1e-12);
  assert.equal(argminRange(arg, 1.5996).inside, true); // within the ±5e-4 of 3-decimal rounding
  assert.equal(argminRange(arg, 1.5).inside, false);
  assert.equal(
    argminRangeText(arg, 1.6),
    "Every criterion puts the optimum between α = 1.600 and 1.700; α = 1.6 lies inside this range, and tanh's α = 2 lies 0.300 above its top (3.0× the range's width)",
  );
  assert.match(argminRangeText({ a: 2.1, b: 2.2 }, 1.6), /α = 1\.6 lies outside this range, and tanh's α = 2 lies 0\.200 below its top/);
  assert.throws(() => argminRange({}, 1.6), /expected one finite α per criterion/);
  assert.throws(() => argminRange({ a: NaN }, 1.6), /expected one finite α per criterion/);
});

test("gfidAndSpeedFigure: gFID on the left, samples/s on the right, log axes only when asked", () => {
  const pts = [{ x: 1, gfid: 80, samplesPerSec: 100 }, { x: 10, gfid: 40, samplesPerSec: 16 }];
  const lin = gfidAndSpeedFigure(pts, { method: "ar", knob: "CFG scale s", unchecked: true }) as any;
  assert.deepEqual(lin.data.map((t: any) => [t.name, t.y, t.yaxis ?? "y"]), [["gFID", [80, 40], "y"], ["samples/s", [100, 16], "y2"]]);
  assert.equal(lin.layout.xaxis.type, undefined);
  assert.equal(lin.layout.title.text, "gFID and sampling speed vs CFG scale s");
  const log = gfidAndSpeedFigure(pts, { method: "dit", knob: "Euler steps", logX: true, unchecked: true }) as any;
  assert.deepEqual([log.layout.xaxis.type, log.layout.yaxis2.type, log.layout.xaxis.title.text], ["log", "log", "Euler steps (log)"]);
});
