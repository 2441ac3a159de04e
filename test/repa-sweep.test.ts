import { test } from "node:test";
import assert from "node:assert/strict";
import { getStudy } from "../lib/experiments/studies";
import { planStudy, runsOfKind, type PlannedStudyRun } from "../lib/experiments/plan";
import { equalFlopEvalSteps, repaPoints, repaSetup, repaStudy } from "../lib/experiments/repa/grid";
import { convergenceSetup, convergenceStudy } from "../lib/experiments/convergence/grid";
import { equalFlopSteps, generatorTrainFlopsPerSample } from "../lib/experiments/equal-flops";
import { PRESET_NAMES } from "../lib/train/config";

/** The ablation's step counts before they were computed (finished runs must keep their folders). */
const ABLATION_STEPS = { tiny: 9, "paper-cpu": 1462 } as const;

/** Top-level config keys whose values differ. */
function differingKeys(a: object, b: object): string[] {
  const A = a as Record<string, unknown>;
  const B = b as Record<string, unknown>;
  return [...new Set([...Object.keys(A), ...Object.keys(B)])].filter((k) => JSON.stringify(A[k]) !== JSON.stringify(B[k])).sort();
}

test("repa study: the curves' baselines are notebook 06's runs; each REPA run differs from its baseline only in repa, steps and evaluation steps, at equal training FLOPs at every point", () => {
  assert.equal(getStudy("repa").name, "repa");
  for (const preset of PRESET_NAMES) {
    const setup = repaSetup(preset);
    const planned = planStudy(repaStudy, setup);
    assert.equal(planned.length, repaPoints(setup).length);
    const curves = planned.filter((r) => !r.label.startsWith("ablation"));
    const conv = planStudy(convergenceStudy, convergenceSetup(preset));
    const bases = curves.filter((r) => (r.kind === "ar" || r.kind === "dit") && r.config.repa === undefined);
    assert.deepEqual(bases.map((r) => r.id).sort(), conv.map((r) => r.id).sort(), `${preset}: the baselines are 06's run folders`);
    assert.equal(curves.length, 2 * conv.length, `${preset}: one REPA run per baseline`);
    for (const kind of ["ar", "dit"] as const) {
      for (const r of runsOfKind(curves, kind).filter((x) => x.config.repa !== undefined)) {
        const base = runsOfKind(bases, kind).find((b) => b.config.seed === r.config.seed)!.config;
        const c = r.config;
        assert.deepEqual(differingKeys(base, c), ["evalAt", "repa", "steps"], `${preset} ${r.label}`);
        assert.deepEqual(c.repa, { depth: setup.main[kind].depth, weight: kind === "ar" ? 2 : 0.5, hidden: 0, teacher: preset });
        assert.equal(c.steps, equalFlopSteps(kind, base, c), `${preset} ${kind}: steps of equal FLOPs`);
        const fb = generatorTrainFlopsPerSample(kind, base);
        const fr = generatorTrainFlopsPerSample(kind, c);
        assert.ok(c.steps * fr <= base.steps * fb && c.steps * fr > base.steps * fb - fr, `${preset} ${kind}: ${c.steps * fr} vs ${base.steps * fb}`);
        // the same number of evaluations, point k at the baseline's point k's FLOPs within half a step (the last: one step, never more)
        assert.equal(c.evalAt!.length, base.evalAt!.length);
        c.evalAt!.forEach((s, k) => {
          const gap = s * fr - base.evalAt![k] * fb;
          assert.ok(Math.abs(gap) <= (k === c.evalAt!.length - 1 ? fr : fr / 2), `${preset} ${kind} point ${k}: step ${s} vs the baseline's ${base.evalAt![k]} (gap ${gap / fr} steps)`);
        });
      }
    }
  }
  // quick: 06's depth-3 models → ℓ = 1 (the paper's ⅓), 2 seeds, 8 runs (4 of them 06's), no ablation; paper-cpu: 3 seeds and the 4 × 4 ablation
  const quick = repaSetup("quick");
  assert.deepEqual([quick.main.ar.depth, quick.main.dit.depth, quick.convergence.shared.depth], [1, 1, 3]);
  assert.equal(quick.ablation, null);
  assert.equal(planStudy(repaStudy, quick).length, 8);
  assert.deepEqual(repaPoints(quick).filter((x) => x.repa !== null).map((x) => `${x.kind}${x.seed}`), ["ar0", "dit0", "ar1", "dit1"]);
  const paper = planStudy(repaStudy, repaSetup("paper-cpu"));
  const ablation = paper.filter((r) => r.label.startsWith("ablation"));
  assert.equal(new Set(ablation.map((r) => r.kind === "ar" && JSON.stringify(r.config.repa ?? null))).size, 17); // 16 settings and no REPA
  for (const preset of ["tiny", "paper-cpu"] as const) {
    for (const r of planStudy(repaStudy, repaSetup(preset)).filter((x) => x.label.startsWith("ablation") && x.kind === "ar" && x.config.repa)) assert.equal((r as Extract<PlannedStudyRun, { kind: "ar" }>).config.steps, ABLATION_STEPS[preset], r.label);
  }
  assert.throws(() => repaPoints({ ...quick, main: { ...quick.main, ar: { depth: 1, weight: 0 } } }), /weight λ=0; expected λ > 0/);
  assert.throws(() => repaPoints({ ...quick, main: { ...quick.main, dit: { depth: 4, weight: 0.5 } } }), /depth ℓ=4; expected an integer in \[1, 3\]/);
  assert.throws(() => repaPoints({ ...quick, convergence: convergenceSetup("tiny") }), /convergence setup of preset tiny; expected quick/);
});

test("repa study: a change of notebook 06's budget carries over to the REPA runs", () => {
  const s = repaSetup("quick");
  const conv = { ...s.convergence, budget: 200 };
  const planned = planStudy(repaStudy, { ...s, convergence: conv });
  const ids06 = planStudy(convergenceStudy, conv).map((r) => r.id).sort();
  assert.deepEqual(planned.filter((r) => (r.kind === "ar" || r.kind === "dit") && !r.config.repa).map((r) => r.id).sort(), ids06);
  const ar = runsOfKind(planned, "ar").filter((r) => r.config.repa);
  assert.ok(ar.every((r) => r.config.steps < 200 && r.config.steps > 180), `AR REPA steps ${ar.map((r) => r.config.steps)}`);
});

test("equalFlopEvalSteps: the baseline's steps scaled by F_base / F_repa, rounded, the last the REPA run's steps, strictly increasing", () => {
  assert.deepEqual(equalFlopEvalSteps([4, 8, 15, 29, 56, 107, 207, 400], 400, 373, 373.3 / 400), [4, 7, 14, 27, 52, 100, 193, 373]);
  assert.deepEqual(equalFlopEvalSteps([1, 2, 3, 10], 10, 5, 0.5), [1, 2, 3, 5]); // rounding collisions move up; the last is the run's end
  assert.throws(() => equalFlopEvalSteps([1, 2], 2, 2, 1.2), /ratio=1.2; expected F_base \/ F_repa in \(0, 1\]/);
});

test("repa study: every run that evaluates in-run has EMA warm-up, so its first evaluation does not average in the initial weights", () => {
  for (const preset of ["quick", "paper-cpu"] as const) {
    for (const r of planStudy(repaStudy, repaSetup(preset))) {
      if (r.kind !== "ar" && r.kind !== "dit") continue;
      if (r.config.evalEvery === 0 && !(r.config.evalAt ?? []).length) continue;
      assert.equal(r.config.emaWarmup, true, `${preset} ${r.label}: emaWarmup=${r.config.emaWarmup}`);
      // with warm-up the weight of the initial parameters in the EMA at the first evaluation is ∏ d_t < 1 %, not d^step
      // (06's quick AR: step 4, 0.1 · 2/11 · 3/12 · 4/13 = 0.14 % instead of 0.9815⁴ = 93 %; tiny evaluates at step 1: a smoke run)
      const first = r.config.evalEvery > 0 ? r.config.evalEvery : r.config.evalAt![0];
      let w = 1;
      for (let t = 0; t < first; t++) w *= Math.min(r.config.emaDecay, (1 + t) / (10 + t));
      assert.ok(w < 0.01, `${preset} ${r.label}: initial weights keep ${w} of the EMA at step ${first}`);
    }
  }
});
