/**
 * Notebook 06's pure pieces on fixed inputs: the log-spaced evaluation schedule, the crossover finder, seed bands,
 * the flatness evidence, the paper's digitised curves, and the convergence sweep's equal FLOP budgets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { logSpacedSteps } from "../lib/experiments/convergence/schedule";
import { findCrossings, interpolateLogX, pairCrossings } from "../lib/experiments/convergence/crossover";
import { seedBand, bandMean } from "../lib/experiments/convergence/bands";
import { flatness } from "../lib/experiments/convergence/flatness";
import { PAPER_CURVES, PAPER_CROSSOVER, PAPER_BUDGET, normaliseCompute } from "../lib/experiments/convergence/paper-curves";
import { CONVERGENCE_PLANS, convergenceSweep } from "../lib/experiments/sweeps/convergence";
import { planSweep } from "../lib/experiments/sweeps/sweep";
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

test("flatness: the last doubling's improvement against 10 % of the total and the seed spread at the end", () => {
  const flat = flatness([{ x: 1, y: 100 }, { x: 50, y: 31 }, { x: 100, y: 30 }], 0);
  close(flat.lastDoubling, 1);
  close(flat.total, 70);
  assert.equal(flat.flat, true);
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
    const plan = CONVERGENCE_PLANS[preset];
    const runs = planSweep(kinds, convergenceSweep, { preset });
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
      assert.equal("evalGuidedScale" in cfg, cfg.seed === plan.seeds[0], `${r.label}: CFG variant on the first seed only`);
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
