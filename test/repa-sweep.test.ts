import { test } from "node:test";
import assert from "node:assert/strict";
import { runEnv } from "../lib/experiments/kinds";
import { planSweep } from "../lib/experiments/sweeps/sweep";
import { getSweep } from "../lib/experiments/sweeps/catalog";
import { REPA_POINTS, REPA_STEPS, repaSweep } from "../lib/experiments/sweeps/repa";
import { equalFlopSteps, generatorTrainFlopsPerSample } from "../lib/experiments/repa/equal-flops";
import type { ArConfig } from "../lib/experiments/ar/config";
import { PRESET_NAMES } from "../lib/train/config";

test("repa sweep: in the catalog; REPA runs have their baseline's training FLOPs (≤, within one step); the grid's ℓ and λ", () => {
  assert.equal(getSweep("repa"), repaSweep);
  const kinds = runEnv({ log: () => {}, progress: false }).kinds;
  for (const preset of PRESET_NAMES) {
    const planned = planSweep(kinds, repaSweep, { preset });
    assert.equal(planned.length, REPA_POINTS[preset].length);
    for (const kind of ["ar", "dit"] as const) {
      const mine = planned.filter((r) => r.kind === kind);
      const base = mine.find((r) => (r.config as ArConfig).repa === undefined)!.config as ArConfig;
      const repa = mine.filter((r) => (r.config as ArConfig).repa !== undefined).map((r) => r.config as ArConfig);
      assert.ok(repa.length > 0, `${preset} ${kind} has REPA runs`);
      for (const c of repa) {
        assert.equal(c.steps, REPA_STEPS[preset][kind]);
        assert.equal(c.steps, equalFlopSteps(kind, base, c), `${preset} ${kind}: steps of equal FLOPs`);
        const fBase = base.steps * generatorTrainFlopsPerSample(kind, base);
        const fRepa = c.steps * generatorTrainFlopsPerSample(kind, c);
        assert.ok(fRepa <= fBase && fRepa > fBase - generatorTrainFlopsPerSample(kind, c), `${preset} ${kind}: ${fRepa} vs ${fBase}`);
        assert.equal(c.repa!.teacher, preset);
        assert.ok(c.repa!.depth <= c.depth);
      }
    }
  }
  // the grid of the issue: quick ℓ ≈ ¼, ⅓, ½, ⅔ of 8 at λ = 2 and λ ∈ {0.5, 1, 2, 4} at ℓ = 3; paper-cpu the full 4 × 4 of 12 blocks
  const ar = (p: (typeof PRESET_NAMES)[number]) => REPA_POINTS[p].filter((x) => x.kind === "ar" && x.layer !== null && x.seed === 0);
  assert.deepEqual([...new Set(ar("quick").filter((x) => x.weight === 2).map((x) => x.layer!))].sort(), [2, 3, 4, 5]);
  assert.deepEqual([...new Set(ar("quick").filter((x) => x.layer === 3).map((x) => x.weight))].sort(), [0.5, 1, 2, 4]);
  assert.equal(ar("paper-cpu").length, 16);
  assert.deepEqual(REPA_POINTS.quick.filter((x) => x.layer === null && x.kind === "ar").map((x) => x.seed), [0, 1]);
});
