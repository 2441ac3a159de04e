/**
 * Notebook 06's pure pieces on fixed inputs: the log-spaced evaluation schedule, the crossover finder, seed bands,
 * the flatness evidence, the paper's digitised curves, the convergence sweep's equal FLOP budgets, evaluation points
 * from metrics rows, the summary and its sentences, and sample snapshots.
 */
import { test } from "node:test";
import type { FidManifest } from "../lib/eval/fid-manifest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import type { MetricsRow } from "../lib/train/run";
import { evalPoints, flopsPerStepOf, type ConvergenceRun } from "../lib/experiments/convergence/runs";
import { summarizeConvergence } from "../lib/experiments/convergence/summary";
import { convergenceConclusion, convergenceTableRows, gfidVsFlopsFigure, snapshotsAt } from "../lib/experiments/convergence/report";
import { writeSampleSnapshot, readSampleSnapshots } from "../lib/experiments/sample-snapshots";
import assert from "node:assert/strict";
import { logSpacedSteps } from "../lib/experiments/convergence/schedule";
import { findCrossings, interpolateLogX, pairCrossings } from "../lib/experiments/convergence/crossover";
import { seedBand, bandMean } from "../lib/experiments/convergence/bands";
import { flatness } from "../lib/experiments/convergence/flatness";
import { PAPER_CURVES, PAPER_CROSSOVER, PAPER_BUDGET, normaliseCompute } from "../lib/experiments/convergence/paper-curves";
import { convergenceRun, convergenceSetup, convergenceSteps, convergenceStudy } from "../lib/experiments/convergence/grid";
import { runId } from "../lib/train/run";
import { resolveConfig as resolveKindConfig } from "../lib/train/config";
import { arConfig } from "../lib/experiments/ar/config";
import { ditConfig } from "../lib/experiments/dit/config";
import { planStudy } from "../lib/experiments/plan";
import { runEnv } from "../lib/experiments/kinds";
import { Tokenizer } from "../lib/models/tokenizer";
import { LlamaGen, tokenLayout } from "../lib/models/llamagen";
import { ditFlops } from "../lib/models/dit";
import { tokenizerArch } from "../lib/experiments/tokenizer/config";
import { llamaGenArch, type ArConfig } from "../lib/experiments/ar/config";
import { ditArch, type DiTConfig } from "../lib/experiments/dit/config";
import { PRESET_NAMES } from "../lib/train/config";

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);

test("logSpacedSteps: log-spaced compute from the first fraction to the whole budget, unique, exactly n points when S ≥ n", () => {
  assert.deepEqual(logSpacedSteps(500, 9, 0.01), [5, 9, 16, 28, 50, 89, 158, 281, 500]);
  assert.deepEqual(logSpacedSteps(320, 8, 0.01), [3, 6, 12, 23, 44, 86, 166, 320]);
  assert.deepEqual(logSpacedSteps(744, 8, 0.01), [7, 14, 28, 54, 103, 200, 385, 744]);
  // rounding collisions move points to the next step; the end stays S
  assert.deepEqual(logSpacedSteps(10, 8), [1, 2, 3, 4, 5, 6, 7, 10]);
  assert.deepEqual(logSpacedSteps(3, 8), [1, 2, 3]);
  assert.deepEqual(logSpacedSteps(1, 2), [1]);
  // the ratio of neighbours is constant where no rounding collision happens: (1/0.01)^(1/8)
  const s = logSpacedSteps(100000, 9, 0.01);
  for (let k = 1; k < s.length; k++) close(s[k] / s[k - 1], Math.pow(100, 1 / 8), 1e-3);
  assert.throws(() => logSpacedSteps(0, 8), /totalSteps=0/);
  assert.throws(() => logSpacedSteps(100, 1), /points=1/);
  assert.throws(() => logSpacedSteps(100, 8, 1), /firstFraction=1/);
});

test("findCrossings: one crossing interpolated in log-compute, with the FID there and who led before", () => {
  const a = [{ x: 1, y: 10 }, { x: 100, y: 5 }];
  const b = [{ x: 1, y: 20 }, { x: 100, y: 1 }];
  const c = findCrossings(a, b);
  assert.equal(c.length, 1);
  close(c[0].x, Math.pow(10, 10 / 7));
  close(c[0].y, 10 - 2.5 * (10 / 7));
  assert.equal(c[0].lowerBefore, "a");
  close(interpolateLogX(b, Math.log10(c[0].x)), c[0].y);
  // swapping the curves swaps who led
  assert.equal(findCrossings(b, a)[0].lowerBefore, "b");
});

test("findCrossings: curves on different knots, no crossing, two crossings, touching, and only the overlap counts", () => {
  // a is lower everywhere
  assert.deepEqual(findCrossings([{ x: 1, y: 1 }, { x: 10, y: 1 }], [{ x: 1, y: 2 }, { x: 10, y: 2 }]), []);
  // two crossings: b dips below a between x = 10 and x = 1000
  const a = [{ x: 1, y: 5 }, { x: 10, y: 5 }, { x: 100, y: 5 }, { x: 1000, y: 5 }, { x: 10000, y: 5 }];
  const b = [{ x: 1, y: 7 }, { x: 100, y: 3 }, { x: 10000, y: 7 }];
  const c = findCrossings(a, b);
  assert.equal(c.length, 2);
  close(c[0].x, 10); // 7 − 2u = 5 at u = 1
  close(c[1].x, 1000); // 3 + 2(u − 2) = 5 at u = 3
  assert.deepEqual(c.map((k) => k.lowerBefore), ["a", "b"]);
  // touching without crossing is not a crossing
  assert.deepEqual(findCrossings([{ x: 1, y: 5 }, { x: 10, y: 5 }, { x: 100, y: 5 }], [{ x: 1, y: 6 }, { x: 10, y: 5 }, { x: 100, y: 6 }]), []);
  // crossing exactly at a knot counts once
  const k = findCrossings([{ x: 1, y: 4 }, { x: 10, y: 5 }, { x: 100, y: 6 }], [{ x: 1, y: 6 }, { x: 10, y: 5 }, { x: 100, y: 4 }]);
  assert.equal(k.length, 1);
  close(k[0].x, 10);
  // b starts later: only [10, 100] is compared
  assert.deepEqual(findCrossings([{ x: 1, y: 100 }, { x: 10, y: 1 }, { x: 100, y: 1 }], [{ x: 10, y: 2 }, { x: 100, y: 2 }]), []);
  assert.throws(() => findCrossings([{ x: 0, y: 1 }, { x: 1, y: 1 }], b), /a\[0\]\.x=0/);
  assert.throws(() => findCrossings([{ x: 2, y: 1 }, { x: 1, y: 1 }], b), /not above/);
  assert.throws(() => findCrossings([{ x: 1, y: 1 }], b), /1 point/);
});

test("pairCrossings: every seed pair, in order", () => {
  const a = [{ seed: 0, points: [{ x: 1, y: 10 }, { x: 100, y: 5 }] }, { seed: 1, points: [{ x: 1, y: 12 }, { x: 100, y: 6 }] }];
  const b = [{ seed: 0, points: [{ x: 1, y: 20 }, { x: 100, y: 1 }] }];
  const p = pairCrossings(a, b);
  assert.deepEqual(p.map((q) => [q.a.seed, q.b.seed, q.crossings.length]), [[0, 0, 1], [1, 0, 1]]);
  // a's seed 1 is worse, so the crossing comes earlier: 12 − 3u = 20 − 9.5u at u = 8/6.5
  close(p[1].crossings[0].x, Math.pow(10, 8 / 6.5));
});

test("seedBand: mean, min, max and range per x; mismatched x values are an error naming them", () => {
  const band = seedBand([[{ x: 1, y: 10 }, { x: 2, y: 8 }], [{ x: 1, y: 12 }, { x: 2, y: 7 }]]);
  assert.deepEqual(band, [{ x: 1, mean: 11, min: 10, max: 12, range: 2, n: 2 }, { x: 2, mean: 7.5, min: 7, max: 8, range: 1, n: 2 }]);
  assert.deepEqual(bandMean(band), [{ x: 1, y: 11 }, { x: 2, y: 7.5 }]);
  assert.throws(() => seedBand([[{ x: 1, y: 1 }], [{ x: 1.5, y: 1 }]]), /x=1\.5 differs/);
  assert.throws(() => seedBand([[{ x: 1, y: 1 }], []]), /0 points/);
  assert.throws(() => seedBand([]), /no curves/);
});

test("flatness: the last doubling's improvement against the seed spread at the end", () => {
  const flat = flatness([{ x: 1, y: 100 }, { x: 50, y: 31 }, { x: 100, y: 30 }], 2);
  close(flat.lastDoubling, 1);
  close(flat.total, 70);
  assert.equal(flat.flat, true);
  // one seed (no spread): still falling by 1 is not flat
  assert.equal(flatness([{ x: 1, y: 100 }, { x: 50, y: 31 }, { x: 100, y: 30 }], 0).flat, false);
  // notebook 06 at quick (DiT): a fall of 9 % of the total but 12× the seed spread is not flat
  assert.equal(flatness([{ x: 1, y: 597.5 }, { x: 50, y: 144.7 }, { x: 100, y: 97.9 }], 3.9).flat, false);
  const falling = flatness([{ x: 1, y: 100 }, { x: 10, y: 60 }, { x: 100, y: 20 }], 0);
  close(falling.lastDoubling, 40 * Math.log10(2)); // 40 per decade
  assert.equal(falling.flat, false);
  // the same fall counts as flat when the seeds disagree by more than it at the end
  assert.equal(flatness([{ x: 1, y: 100 }, { x: 10, y: 60 }, { x: 100, y: 20 }], 15).flat, true);
  assert.throws(() => flatness([{ x: 1, y: 1 }, { x: 1.5, y: 1 }], 0), /doubling/);
});

test("paper curves: the digitised points of spec §9 E1, budgets = PAPER_TRAIN_FLOPS, the crossover at ≈ 37 % / 28 %", () => {
  assert.equal(PAPER_CURVES.dit.length, 10);
  assert.equal(PAPER_CURVES.ar.length, 19);
  assert.equal(PAPER_CURVES.dit[9].y, 17.4);
  assert.equal(PAPER_CURVES.ar[18].y, 28.1);
  close(PAPER_CURVES.dit[9].x, PAPER_BUDGET.dit);
  close(PAPER_CURVES.ar[18].x, PAPER_BUDGET.ar);
  close(PAPER_CROSSOVER.x / PAPER_BUDGET.dit, 0.3697, 1e-3);
  close(PAPER_CROSSOVER.x / PAPER_BUDGET.ar, 0.2811, 1e-3);
  const n = normaliseCompute(PAPER_CURVES.dit, PAPER_BUDGET.dit);
  close(n[0].x, 0.1);
  close(n[9].x, 1);
  // the digitised curves themselves cross once, near the star
  const c = findCrossings(PAPER_CURVES.ar, PAPER_CURVES.dit);
  assert.equal(c.length, 1);
  assert.equal(c[0].lowerBefore, "a");
  assert.ok(Math.abs(c[0].x / PAPER_CROSSOVER.x - 1) < 0.1 && Math.abs(c[0].y - PAPER_CROSSOVER.y) < 3, JSON.stringify(c[0]));
});

test("convergence sweep: both generators get the same training FLOPs (±0.5 %), ≥ 8 log-spaced points from ~1 % at quick, ≥ 2 seeds", () => {
  const kinds = runEnv({ log: () => {}, progress: false }).kinds;
  for (const preset of PRESET_NAMES) {
    const plan = convergenceSetup(preset);
    const runs = planStudy(convergenceStudy, plan);
    assert.equal(runs.length, 2 * plan.seeds.length);
    const budget: Record<string, number[]> = { ar: [], dit: [] };
    for (const r of runs) {
      const cfg = r.config as Record<string, any>;
      const tok = new Tokenizer(tokenizerArch(cfg.tokenizer), 0);
      try {
        const perStep =
          r.kind === "ar"
            ? (() => {
                const m = new LlamaGen(llamaGenArch(cfg as ArConfig, tokenLayout(tok.fsq, cfg.tokens, cfg.channelsPerGroup), tok.gridSize, 10), 0);
                const f = m.flops().trainPerSample;
                m.dispose();
                return f;
              })()
            : ditFlops(ditArch(cfg as DiTConfig, tok.gridSize, tok.fsq.dim, 10)).trainPerSample;
        budget[r.kind].push(perStep * cfg.batchSize * cfg.steps);
      } finally {
        tok.dispose();
      }
      assert.equal(cfg.evalAt[cfg.evalAt.length - 1], cfg.steps);
      assert.equal(cfg.emaWarmup, true);
      assert.equal("evalGuidedScale" in cfg, false, `${r.label}: no in-run CFG variant (the CFG check runs after training, cfg-end.ts)`);
      if (preset !== "tiny") {
        assert.ok(cfg.evalAt.length >= 8, `${preset} ${r.label}: ${cfg.evalAt.length} points`);
        assert.ok(cfg.evalAt[0] / cfg.steps < 0.015, `${preset} ${r.label}: first point at ${cfg.evalAt[0]}/${cfg.steps}`);
      }
    }
    assert.ok(plan.seeds.length >= 2);
    const ratio = budget.ar[0] / budget.dit[0];
    assert.ok(Math.abs(ratio - 1) < 5e-3, `${preset}: AR ${budget.ar[0].toExponential(4)} vs DiT ${budget.dit[0].toExponential(4)} FLOPs`);
    // every run's tokenizer is the preset's one tokenizer
    assert.equal(new Set(runs.map((r) => (r.config as Record<string, unknown>).tokenizerHash)).size, 1);
  }
});

test("convergence budget: the DiT steps are computed for the AR budget's FLOPs (the values the grid had as a table); a new budget changes only the steps", () => {
  assert.deepEqual(convergenceSteps(convergenceSetup("tiny")), { ar: 20, dit: 66 });
  assert.deepEqual(convergenceSteps(convergenceSetup("quick")), { ar: 400, dit: 930 });
  assert.deepEqual(convergenceSteps(convergenceSetup("paper-cpu")), { ar: 1920, dit: 4461 });
  const s = convergenceSteps({ ...convergenceSetup("quick"), budget: 800 });
  assert.equal(s.ar, 800);
  assert.ok(Math.abs(s.dit / 930 - 2) < 0.003, `${s.dit}`);
  assert.throws(() => convergenceSteps({ ...convergenceSetup("quick"), budget: 5.5 }), /budget=5.5; expected an integer number of AR steps/);
});

test("notebooks 03 and 04 train the convergence sweep's first-seed runs: trainAr/trainDiT({ preset, overrides }) resolve to the sweep's run ids", () => {
  const kinds = runEnv({ log: () => {}, progress: false }).kinds;
  for (const preset of PRESET_NAMES) {
    const planned = planStudy(convergenceStudy, convergenceSetup(preset));
    const seed0 = convergenceSetup(preset).seeds[0];
    for (const [kind, def] of [["ar", arConfig], ["dit", ditConfig]] as const) {
      const run = convergenceRun(kind, preset);
      assert.equal(run.overrides.seed, seed0);
      const notebookId = runId(kind, resolveKindConfig(def as any, { preset, overrides: run.overrides }));
      const sweepId = planned.find((r) => r.kind === kind && (r.config as Record<string, unknown>).seed === seed0)!.id;
      assert.equal(notebookId, sweepId, `${preset} ${kind}`);
    }
  }
  assert.equal(convergenceRun("dit", "quick", 1).overrides.seed, 1);
  assert.throws(() => convergenceRun("ar", "quick", 7), /the quick grid has no ar run at seed 7; its seeds are 0, 1/);
  assert.throws(() => convergenceRun("ar", "huge" as any), /preset="huge"; expected one of tiny, quick, paper-cpu/);
});

// ---------------------------------------------------------------------------------------------------------------
// From metrics rows to the summary (fixed inputs)


test("evalPoints: FLOPs, budget fraction, wall time with and without the earlier evaluations", () => {
  const rows: MetricsRow[] = [
    { type: "train", step: 10, time: 5, flops: 10 * 4e9 },
    { type: "eval", step: 10, time: 5, gfid: 300, evalSeconds: 2 },
    { type: "train", step: 20, time: 10, flops: 20 * 4e9 },
    { type: "eval", step: 20, time: 10, gfid: 200, gfidGuided: 190, evalSeconds: 3 },
    { type: "eval", step: 40, time: 20, gfid: 150, evalSeconds: 3 },
  ];
  assert.equal(flopsPerStepOf(rows, "run"), 4e9);
  const p = evalPoints(rows, 4e9, 40);
  assert.deepEqual(p.map((q) => [q.step, q.flops, q.fraction, q.gfid, q.wallSeconds, q.trainSeconds, q.evalSeconds]), [
    [10, 4e10, 0.25, 300, 5, 5, 2],
    [20, 8e10, 0.5, 200, 10, 8, 3],
    [40, 1.6e11, 1, 150, 20, 15, 3],
  ]);
  assert.throws(() => flopsPerStepOf([{ type: "eval", step: 1, time: 0 }], "run x"), /run x: no train row/);
});

/** The FID manifest of a fake run's gFID (lib/eval/fid-manifest.ts). */
function fakeManifest(kind: "ar" | "dit", seed: number, guidanceScale: number): FidManifest {
  return { metric: "gFID", samples: 200, classes: "uniform over 10 classes", generator: kind, guidanceScale, samplingSteps: kind === "dit" ? 10 : null, ema: true, featureNet: "featurenet-test", reference: "fashion-mnist test split", seed };
}

/** A run with gFID y[i] at steps[i] of `steps`, 1e9 FLOPs per step. */
function fakeRun(kind: "ar" | "dit", seed: number, steps: number[], ys: number[], cfgEnd?: number): ConvergenceRun {
  const fps = 1e9;
  const total = steps[steps.length - 1];
  const points = steps.map((s, i) => ({ step: s, flops: s * fps, fraction: s / total, gfid: ys[i], wallSeconds: s, trainSeconds: s, evalSeconds: 1,  }));
  return {
    label: `${kind} seed=${seed}`, kind, seed, runDir: `/runs/${kind}-${seed}`, reused: true,
    config: { steps: total, batchSize: 8, evalSamples: 200, seed },
    planned: undefined as never,
    metrics: [], flopsPerStep: fps, budget: total * fps, points, totalSeconds: total + steps.length, evalSeconds: steps.length, samples: [],
    ...(cfgEnd !== undefined ? { cfgEnd: { scale: 2, gfid: cfgEnd, seconds: 1, cached: false, manifest: fakeManifest(kind, seed, 2) } } : {}),
    fidManifests: { gfid: fakeManifest(kind, seed, 1) },
  };
}

test("summarizeConvergence: AR leads early, DiT ends lower, one crossover of the means with its range over seed pairs", () => {
  const steps = [1, 10, 100];
  const runs = [
    fakeRun("ar", 0, steps, [100, 60, 50]),
    fakeRun("ar", 1, steps, [104, 62, 52]),
    fakeRun("dit", 0, steps, [300, 80, 20]),
    fakeRun("dit", 1, steps, [310, 84, 24]),
  ];
  const s = summarizeConvergence(runs, { earlyFraction: 0.1 });
  assert.equal(s.ar.band[2].mean, 51);
  assert.equal(s.dit.band[2].range, 4);
  // at 10 %: AR 61 ± 1 vs DiT 82 ± 2 → AR better beyond the spread; at the end AR 51 vs DiT 22 → AR worse
  assert.equal(s.early.arVsDit.verdict, "better");
  assert.equal(s.end.arVsDit.verdict, "worse");
  assert.equal(s.meanCrossings.length, 1);
  // means: AR 61 → 51, DiT 82 → 22 over u ∈ [1, 2]: 61 − 10t = 82 − 60t at t = 21/50
  close(s.meanCrossings[0].x, Math.pow(10, 1 + 21 / 50) * 1e9);
  close(s.meanCrossings[0].y, 61 - 10 * (21 / 50));
  assert.equal(s.meanCrossings[0].lowerBefore, "a");
  // leads before (61 vs 82 at 10 %) and after (51 vs 22 at 100 %) exceed the seed spreads (≤ 4)
  assert.equal(s.meanCrossings[0].resolved, true);
  assert.equal(s.pairs.length, 4);
  assert.equal(s.pairRange!.pairs, 4);
  assert.ok(s.pairRange!.minX < s.meanCrossings[0].x && s.meanCrossings[0].x < s.pairRange!.maxX);
  assert.equal(s.cfgEnd, null, "no CFG check on these runs");
  close(s.evalShare, 12 / (4 * 103));
  const text = convergenceConclusion(s, { backend: "cpu", preset: "test" });
  assert.match(text, /Does AR lead early\?\*\* Early \(10 % of the budget\) AR is ahead: AR 61\.0, DiT 82\.0/);
  assert.match(text, /→ Yes, as in the paper\./);
  assert.match(text, /cross once, at 2\.63e\+10 FLOPs \(26\.3 % of each run's budget\), gFID 56\.8, DiT overtaking AR; the lead on both sides exceeds the seed spread/);
  assert.match(text, /Evaluation cost:\*\* the in-run evaluations took 12 s of the runs' 412 s wall time \(2\.9 %\)/);
  const rows = convergenceTableRows(s);
  assert.equal(rows.length, 3);
  assert.equal(rows[2]["AR gFID"], "51.0 ± 1.0");
  assert.equal(rows[2]["DiT gFID"], "22.0 ± 2.0");
  assert.doesNotMatch(text, /With CFG/);
});

test("summarizeConvergence: the CFG check at the end of every run is judged against the seed spread, beside the same runs unguided", () => {
  const steps = [1, 10, 100];
  const runs = [
    fakeRun("ar", 0, steps, [100, 60, 50], 40),
    fakeRun("ar", 1, steps, [104, 62, 52], 42),
    fakeRun("dit", 0, steps, [300, 80, 20], 25),
    fakeRun("dit", 1, steps, [310, 84, 24], 27),
  ];
  const s = summarizeConvergence(runs, { earlyFraction: 0.1 });
  assert.deepEqual(s.cfgEnd!.ar, [40, 42]);
  assert.deepEqual(s.cfgEnd!.dit, [25, 27]);
  assert.equal(s.cfgEnd!.arVsDit.verdict, "worse", "AR 41 ± 1 vs DiT 26 ± 1: DiT ahead beyond the spread");
  const text = convergenceConclusion(s, { backend: "cpu", preset: "test" });
  // seed means: AR 51 → 41 (−19.6 %), DiT 22 → 26 (+18.2 %)
  assert.match(text, /\*\*With CFG 2 at the end\*\* \(every seed, after training, on the same samples as the last point\): DiT is ahead, as without CFG: AR 41\.0, DiT 26\.0; AR − DiT = .*CFG changes the seed-mean gFID by −19\.6 % for AR and \+18\.2 % for DiT\./);
  assert.match(text, /the CFG check after training took 4 s for four run\(s\)\./);
  const fig = gfidVsFlopsFigure(s);
  const diamonds = fig.data.filter((d: any) => d.marker?.symbol === "diamond") as any[];
  assert.deepEqual(diamonds.map((d) => [d.x[0], d.y[0], d.error_y.array[0], d.error_y.arrayminus[0]]), [[100e9, 41, 1, 1], [100e9, 26, 1, 1]]);
  // AR ahead with CFG while DiT is ahead without it
  const flipped = summarizeConvergence([runs[0], runs[1], fakeRun("dit", 0, steps, [300, 80, 20], 55), fakeRun("dit", 1, steps, [310, 84, 24], 57)]);
  assert.match(convergenceConclusion(flipped, { backend: "cpu", preset: "test" }), /With CFG 2 at the end\*\* .*: AR is ahead, \*\*unlike without CFG\*\*/);
  // only some runs checked: no comparison; two scales: an error
  assert.equal(summarizeConvergence([runs[0], fakeRun("ar", 1, steps, [104, 62, 52]), runs[2], runs[3]]).cfgEnd, null);
  const other = { ...runs[3], cfgEnd: { scale: 3, gfid: 20, seconds: 1, cached: false } };
  assert.throws(() => summarizeConvergence([runs[0], runs[1], runs[2], other]), /the dit runs' CFG checks have different scales \(2, 3\)/);
  // gFIDs measured differently are refused, naming the field (lib/eval/fid-manifest.ts)
  const fewer = { ...runs[3], fidManifests: { gfid: { ...runs[3].fidManifests.gfid, samples: 100 } } };
  assert.throws(() => summarizeConvergence([runs[0], runs[1], runs[2], fewer]), /AR vs DiT in-run gFID: FIDs measured differently: ar seed=0 \(in-run gFID\) has samples=200 but dit seed=1 \(in-run gFID\) has samples=100/);
  const raw = { ...runs[2], cfgEnd: { ...runs[2].cfgEnd!, manifest: { ...runs[2].cfgEnd!.manifest!, ema: false } } };
  assert.throws(() => summarizeConvergence([runs[0], runs[1], raw, runs[3]]), /gFID with CFG: FIDs measured differently: .* has ema=true but dit seed=0 \(CFG end check\) has ema=false/);
});

test("summarizeConvergence: no crossing and DiT never ahead are said plainly", () => {
  const steps = [1, 10, 100];
  const s = summarizeConvergence([fakeRun("ar", 0, steps, [50, 40, 30]), fakeRun("ar", 1, steps, [52, 41, 31]), fakeRun("dit", 0, steps, [90, 80, 70]), fakeRun("dit", 1, steps, [91, 82, 71])]);
  assert.deepEqual(s.meanCrossings, []);
  assert.equal(s.pairRange, null);
  const text = convergenceConclusion(s, { backend: "cpu", preset: "test" });
  assert.match(text, /\*\*do not cross\*\* within this budget/);
  assert.match(text, /\*\*Not at this scale\*\*: the paper's phase 2/);
  assert.match(text, /no pair crosses exactly once/);
  assert.match(text, /\*\*still falling\*\*/);
  // a still-falling curve gets its extrapolated budget (flat-budget.ts) or says why there is none
  assert.match(text, /(an extrapolation, not a measurement: a fit gFID = a \+ b·C\^−\d\.\d\d to its mean over the last \d+ points, rms [\d.]+, puts the last doubling's fall at the seed spread near [\d.]+× this budget \([\d.]+e\+\d+ training FLOPs, ≈ [\d,]+ steps\))|(no extrapolation: it needs)/);
});

test("sample snapshots: bytes of [−1, 1] images round-trip through the run folder; the nearest snapshot to a fraction", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-snap-"));
  try {
    const x = tf.tensor4d([-1, 0, 1, 2, -3, 0.5, -0.5, 1], [2, 2, 2, 1]);
    writeSampleSnapshot(dir, 7, [3, 4], x);
    writeSampleSnapshot(dir, 70, [3, 4], x);
    x.dispose();
    const s = readSampleSnapshots(dir);
    assert.deepEqual(s.map((q) => q.step), [7, 70]);
    assert.deepEqual(s[0].classes, [3, 4]);
    assert.deepEqual(s[0].shape, [2, 2, 2, 1]);
    assert.deepEqual(Array.from(s[0].pixels), [0, 128, 255, 255, 0, 191, 64, 255]);
    const run = { ...fakeRun("dit", 0, [7, 70], [1, 1]), samples: s };
    assert.deepEqual(snapshotsAt(run, [0.05, 0.5, 1]).map((q) => q.step), [7, 70, 70]);
    assert.throws(() => snapshotsAt(fakeRun("ar", 0, [1, 2], [1, 1]), [1]), /no sample snapshots/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("crossings inside the seed noise are counted but marked unresolved", () => {
  const steps = [1, 10, 100, 1000];
  // AR − DiT of the means: −20, +5, −20, +200 with seed ranges (max of the two) 40, 20, 10, 2
  const s = summarizeConvergence([
    fakeRun("ar", 0, steps, [600, 610, 560, 400]), fakeRun("ar", 1, steps, [640, 590, 560, 402]),
    fakeRun("dit", 0, steps, [630, 590, 575, 200]), fakeRun("dit", 1, steps, [650, 600, 585, 202]),
  ]);
  assert.equal(s.meanCrossings.length, 3);
  assert.deepEqual(s.meanCrossings.map((c) => c.resolved), [false, false, true]);
  const t = convergenceConclusion(s, { backend: "cpu", preset: "test" });
  assert.match(t, /cross \*\*three times\*\*/);
  assert.match(t, /the one resolved crossing is at \d+\.\d % of the budget/);
});
