import { test } from "node:test";
import assert from "node:assert/strict";
import { getStudy } from "../lib/experiments/studies";
import { planStudy, runsOfKind } from "../lib/experiments/plan";
import { repaPoints, repaSetup, repaStudy } from "../lib/experiments/repa/grid";
import { equalFlopSteps, generatorTrainFlopsPerSample } from "../lib/experiments/equal-flops";
import { PRESET_NAMES } from "../lib/train/config";

/**
 * The step counts the grid had as a table before they were computed (finished runs must keep their folders). Quick
 * changed with the quick teacher's 64-d patch features (was 32-d: ar 96, dit 188; issue 27): a wider projector output
 * costs more per step at equal FLOPs.
 */
const TABLED_STEPS = { tiny: { ar: 9, dit: 16 }, quick: { ar: 95, dit: 186 }, "paper-cpu": { ar: 1462, dit: 2872 } } as const;

test("repa study: in the catalog; REPA runs have their baseline's training FLOPs (≤, within one step); the grid's ℓ and λ", () => {
  assert.equal(getStudy("repa").name, "repa");
  for (const preset of PRESET_NAMES) {
    const setup = repaSetup(preset);
    const planned = planStudy(repaStudy, setup);
    assert.equal(planned.length, repaPoints(setup).length);
    for (const kind of ["ar", "dit"] as const) {
      const mine = runsOfKind(planned, kind);
      const base = mine.find((r) => r.config.repa === undefined)!.config;
      const repa = mine.filter((r) => r.config.repa !== undefined).map((r) => r.config);
      assert.ok(repa.length > 0, `${preset} ${kind} has REPA runs`);
      for (const c of repa) {
        assert.equal(c.steps, TABLED_STEPS[preset][kind]);
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
  const ar = (p: (typeof PRESET_NAMES)[number]) => repaPoints(repaSetup(p)).filter((x) => x.kind === "ar" && x.repa !== null && x.seed === 0).map((x) => x.repa!);
  assert.deepEqual([...new Set(ar("quick").filter((x) => x.weight === 2).map((x) => x.depth))].sort(), [2, 3, 4, 5]);
  assert.deepEqual([...new Set(ar("quick").filter((x) => x.depth === 3).map((x) => x.weight))].sort(), [0.5, 1, 2, 4]);
  assert.equal(ar("paper-cpu").length, 16);
  assert.equal(planStudy(repaStudy, repaSetup("quick")).length, 14);
  assert.deepEqual(repaPoints(repaSetup("quick")).filter((x) => x.repa === null && x.kind === "ar").map((x) => x.seed), [0, 1]);
  assert.throws(() => repaPoints({ ...repaSetup("quick"), weights: [0] }), /weight λ=0; expected λ > 0/);
  assert.throws(() => repaPoints({ ...repaSetup("quick"), depths: [9] }), /depth ℓ=9; expected an integer in \[1, 8\]/);
});

test("repa study: every run that evaluates in-run has EMA warm-up, so its first evaluation does not average in the initial weights", () => {
  for (const preset of PRESET_NAMES) {
    for (const r of planStudy(repaStudy, repaSetup(preset))) {
      if (r.kind !== "ar" && r.kind !== "dit") continue;
      if (r.config.evalEvery === 0 && !(r.config.evalAt ?? []).length) continue;
      assert.equal(r.config.emaWarmup, true, `${preset} ${r.label}: emaWarmup=${r.config.emaWarmup}`);
      // with warm-up the weight of the initial parameters in the EMA at the first evaluation is ∏ d_t ≈ 0, not d^step
      const first = r.config.evalEvery > 0 ? r.config.evalEvery : r.config.evalAt![0];
      let w = 1;
      for (let t = 0; t < first; t++) w *= Math.min(r.config.emaDecay, (1 + t) / (10 + t));
      assert.ok(w < 1e-3, `${preset} ${r.label}: initial weights keep ${w} of the EMA at step ${first}`);
    }
  }
});
