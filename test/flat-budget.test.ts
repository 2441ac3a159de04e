import { test } from "node:test";
import assert from "node:assert/strict";
import { flatBudget } from "../lib/experiments/convergence/flat-budget";

test("flatBudget: recovers a power law and the compute where its doubling fall equals the spread", () => {
  // y = 50 + 400·(x/1e9)^(−0.5): fall over the doubling ending at x = 400·(x/1e9)^(−0.5)·(√2 − 1)
  const f = (x: number) => 50 + 400 * (x / 1e9) ** -0.5;
  const curve = [1, 2, 4, 8, 16, 32, 64, 128].map((m) => ({ x: m * 1e9, y: f(m * 1e9) }));
  const r = flatBudget(curve, 5)!;
  assert.ok(Math.abs(r.fit.k - 0.5) < 0.006, `k ${r.fit.k}`);
  assert.ok(Math.abs(r.fit.a - 50) < 1, `a ${r.fit.a}`);
  // (400·(√2 − 1)/5)^2 = 1098.3 → x* = 1098.3e9, factor = 1098.3 / 128 = 8.58
  const want = (400 * (Math.SQRT2 - 1)) / 5;
  assert.ok(Math.abs(r.x / 1e9 - want ** 2) / want ** 2 < 0.03, `x* ${r.x}`);
  assert.ok(Math.abs(r.factor - want ** 2 / 128) < 0.3, `factor ${r.factor}`);
  assert.equal(r.points, 5); // x ≥ 5 % of the end: 8, 16, 32, 64, 128
  // an already flat curve: the factor is below 1
  assert.ok(flatBudget(curve, 60)!.factor < 1);
  // no yardstick (one seed) or no fall: null
  assert.equal(flatBudget(curve, 0), null);
  assert.equal(flatBudget(curve.map((p) => ({ x: p.x, y: 100 + p.x / 1e9 })), 5), null);
  assert.throws(() => flatBudget([], 1), /empty curve/);
});

test("flatBudget: no negative floor — notebook 06's AR curve at quick gets a ≥ 0", () => {
  // seed-mean AR gFID at quick (log-spaced points past 5 % of 1.98e12 FLOPs), from the reproduce of issue 27
  const curve = [[1.4e11, 650], [2.7e11, 420], [5.3e11, 280], [1.02e12, 178.5], [1.98e12, 123.0]].map(([x, y]) => ({ x, y }));
  const r = flatBudget(curve, 8.1)!;
  assert.ok(r.fit.a >= 0, `a ${r.fit.a}`);
  assert.ok(r.factor > 1 && Number.isFinite(r.factor), `factor ${r.factor}`);
});
