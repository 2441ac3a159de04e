/** Notebook 07's report (REPA) and the linear probe, on fixed inputs: every computed number checked. */
import { test } from "node:test";
import { samplerManifest } from "../lib/experiments/fid-manifests";
import assert from "node:assert/strict";
import type { MetricsRow } from "../lib/train/run";
import type { RepaRun } from "../lib/experiments/repa/runs";
import { repaSetup, type RepaPoint } from "../lib/experiments/repa/grid";
import type { TeacherQuality } from "../lib/experiments/repa/teacher-quality";
import { ablationRows, baselineSourceText, depthWeightHeatmap, finalQualityRows, gridSpread, repaConclusion, repaCurveFigure, repaCurveRows, repaCurves, settingMeans } from "../lib/experiments/repa/report";
import { linearProbe } from "../lib/eval/linear-probe";

/** A run whose in-run evaluations are at `steps` (FLOPs = step · flopsPerStep) with the given gFIDs. */
function run(part: "curve" | "ablation", kind: "ar" | "dit", repa: { depth: number; weight: number } | null, seed: number, gfids: number[], opts: { steps?: number[]; flopsPerStep?: number; depth?: number } = {}): RepaRun {
  const point: RepaPoint = { part, kind, repa, seed };
  const steps = opts.steps ?? gfids.map((_, i) => 50 * (i + 1));
  const flopsPerStep = opts.flopsPerStep ?? 1e10;
  const metrics: MetricsRow[] = steps.flatMap((step, i): MetricsRow[] => [
    { type: "train", step, time: step / 5, loss: 5, flops: step * flopsPerStep, stepsPerSec: 5 },
    { type: "eval", step, time: step / 5, gfid: gfids[i] },
  ]);
  const last = steps[steps.length - 1];
  const points = steps.map((step, i) => ({ step, flops: step * flopsPerStep, fraction: step / last, gfid: gfids[i], wallSeconds: step / 5, trainSeconds: step / 5, evalSeconds: 0 }));
  const label = `${part} ${kind} ${repa ? `l=${repa.depth} w=${repa.weight}` : "base"} seed=${seed}`;
  return { point, label, runDir: `/runs/${kind}-${part}-${repa?.depth}-${repa?.weight}-${seed}`, reused: true, metrics, config: { steps: last, batchSize: 32, depth: opts.depth ?? 8, dim: 64 }, flopsPerStep, finalGfid: gfids[gfids.length - 1], points, fidManifests: { gfid: inRunManifest(kind, seed) }, ar: null, dit: null };
}

function inRunManifest(kind: "ar" | "dit", seed: number) {
  return samplerManifest({ samples: 250, numClasses: 10, generator: kind, guidanceScale: 1, samplingSteps: kind === "dit" ? 10 : null, ema: true, featureNet: "featurenet-t", seed });
}

// ablation: baseline 200, 204 (range 4); headline ℓ=3 λ=2: 190, 193 (range 3); ℓ=2 λ=2: 201; ℓ=4 λ=2: 180; ℓ=3 λ=4: 203
const ablation: RepaRun[] = [
  run("ablation", "ar", null, 0, [260, 200]),
  run("ablation", "ar", null, 1, [262, 204]),
  run("ablation", "ar", { depth: 2, weight: 2 }, 0, [255, 201]),
  run("ablation", "ar", { depth: 3, weight: 2 }, 0, [250, 190]),
  run("ablation", "ar", { depth: 4, weight: 2 }, 0, [240, 180]),
  run("ablation", "ar", { depth: 3, weight: 4 }, 0, [258, 203]),
  run("ablation", "ar", { depth: 3, weight: 2 }, 1, [251, 193]),
];
// curves on 3-block models: baselines at steps 4, 8, 16 (1e10 FLOPs/step), REPA runs at 2, 4, 8 (2e10): the same FLOPs
// AR: no REPA means 305, 202, 153 (ranges 10, 4, 6); REPA 293, 182, 145 (ranges 6, 4, 10) → Δ −12 better, −20 better, −8 within
// DiT: every Δ within the spread
const base = { steps: [4, 8, 16], flopsPerStep: 1e10, depth: 3 };
const on = { steps: [2, 4, 8], flopsPerStep: 2e10, depth: 3 };
const curves: RepaRun[] = [
  run("curve", "ar", null, 0, [300, 200, 150], base),
  run("curve", "ar", { depth: 1, weight: 2 }, 0, [290, 180, 140], on),
  run("curve", "dit", null, 0, [100, 90, 85], base),
  run("curve", "dit", { depth: 1, weight: 0.5 }, 0, [100.5, 90.5, 85.5], on),
  run("curve", "ar", null, 1, [310, 204, 156], base),
  run("curve", "ar", { depth: 1, weight: 2 }, 1, [296, 184, 150], on),
  run("curve", "dit", null, 1, [101, 91, 86], base),
  run("curve", "dit", { depth: 1, weight: 0.5 }, 1, [101, 91, 86], on),
];
const all = [...curves, ...ablation];
const setup = repaSetup("paper-cpu"); // curves' ℓ = 1 (06's 3 blocks), ablation headline ℓ = 4
const teacher: TeacherQuality = { teacherRun: "teacher-x", probeAccuracy: 0.8123, featureNetAccuracy: 0.907, featureNetRun: "featurenet-y", cknnaToFeatureNet: 0.31, n: 2000, featureDim: 32, patchGrid: 8 };

test("settingMeans, gridSpread and ablationRows: the ablation's means per (ℓ, λ), the largest multi-seed range, verdicts against it; the curves' runs are not in them", () => {
  const s = settingMeans(all);
  assert.deepEqual(s.map((x) => [x.layer, x.weight, x.values]), [[2, 2, [201]], [3, 2, [190, 193]], [3, 4, [203]], [4, 2, [180]]]);
  assert.equal(gridSpread(all), 4);
  const rows = ablationRows(all);
  assert.deepEqual(rows.map((r) => [r.setting, r.seeds, r["final gFID (mean)"], r["Δ vs no REPA"], r.verdict]), [
    ["no REPA", 2, 202, 0, "baseline"],
    ["ℓ=2 λ=2", 1, 201, -1, "within the seed spread"],
    ["ℓ=3 λ=2", 2, 191.5, -10.5, "better"],
    ["ℓ=3 λ=4", 1, 203, 1, "within the seed spread"],
    ["ℓ=4 λ=2", 1, 180, -22, "better"],
  ]);
  const heat = depthWeightHeatmap(all, 8).data[0] as { z: (number | null)[][]; x: string[]; y: string[] };
  assert.deepEqual(heat.x, ["2", "4"]);
  assert.deepEqual(heat.y, ["ℓ=2 (0.25·depth)", "ℓ=3 (0.38·depth)", "ℓ=4 (0.50·depth)"]);
  assert.deepEqual(heat.z, [[201, null], [191.5, 203], [180, null]]);
  assert.deepEqual(ablationRows(curves), []);
});

test("repaCurves: REPA vs no REPA at each FLOPs point against the seed spread, and the last doubling against the spread at the end", () => {
  const c = repaCurves(all, "ar")!;
  assert.deepEqual(c.points.map((p) => [p.x, p.xRepa, p.cmp.a.mean, p.cmp.b.mean, p.cmp.delta, p.cmp.spread, p.cmp.verdict]), [
    [4e10, 4e10, 305, 293, -12, 10, "better"],
    [8e10, 8e10, 202, 182, -20, 4, "better"],
    [1.6e11, 1.6e11, 153, 145, -8, 10, "within the seed spread"],
  ]);
  // last doubling: m(8e10) − m(1.6e11) = 202 − 153 = 49 > range 6 at the end; REPA 182 − 145 = 37 > 10
  assert.deepEqual(c.lastDoubling, { base: { change: 49, spreadAtEnd: 6, seeds: 2, moving: true }, repa: { change: 37, spreadAtEnd: 10, seeds: 2, moving: true } });
  const rows = repaCurveRows(c);
  assert.deepEqual([rows[0]["training FLOPs"], rows[0]["no REPA: min–max"], rows[2]["REPA: min–max"], rows[2].verdict], ["4.00e+10", "300.0–310.0", "140.0–150.0", "within the seed spread"]);
  const fig = repaCurveFigure(c, setup);
  assert.equal(fig.data.length, 6); // band (2 traces) and mean per side
  // one seed per side: unmeasured; a REPA run at other FLOPs points than its baseline is refused by the seed band
  const one = repaCurves(all.filter((r) => r.point.seed === 0), "ar")!;
  assert.deepEqual(one.points.map((p) => p.cmp.verdict), ["unmeasured", "unmeasured", "unmeasured"]);
  assert.equal(one.lastDoubling.base.moving, null);
  const shifted = curves.map((r) => (r.point.kind === "ar" && r.point.repa && r.point.seed === 1 ? run("curve", "ar", { depth: 1, weight: 2 }, 1, [296, 184, 150], { ...on, steps: [2, 4, 9] }) : r));
  assert.throws(() => repaCurves(shifted, "ar"), /the seeds must evaluate at the same compute/);
  assert.equal(repaCurves(ablation, "ar"), null);
});

test("repaConclusion: the measured numbers and verdicts in sentences", () => {
  const cknna = [0, 1].flatMap((seed) => [
    { kind: "ar" as const, repa: false, seed, result: { layers: [0, 1, 2, 3], cknna: [0.1, 0.3 + 0.01 * seed, 0.25, 0.3], n: 128, k: 10 } },
    { kind: "ar" as const, repa: true, seed, result: { layers: [0, 1, 2, 3], cknna: [0.1, 0.5 + 0.01 * seed, 0.35, 0.5], n: 128, k: 10 } },
  ]);
  const q = (kind: "ar" | "dit", repa: boolean, seed: number, precision: number, recall: number) => ({ label: "x", kind, repa, seed, gfid: 100, precision, recall, n: 250, manifest: samplerManifest({ samples: 250, numClasses: 10, generator: kind, guidanceScale: 1, samplingSteps: kind === "dit" ? 10 : null, ema: true, featureNet: "featurenet-t", seed }) });
  const quality = [q("ar", false, 0, 0.5, 0.3), q("ar", false, 1, 0.52, 0.31), q("ar", true, 0, 0.6, 0.3), q("ar", true, 1, 0.62, 0.32)];
  const text = repaConclusion({ setup, runs: all, teacher, cknna, quality });
  assert.match(text, /linear probe reaches 81\.2 % test accuracy \(the supervised FID network: 90\.7 %\), and its CKNNA to the FID network is 0\.310 on 2000 test images \(1 = the same nearest-neighbour structure, 0 = none in common; no threshold/);
  assert.match(text, /\*\*Does REPA speed up AR \(LlamaGen\) convergence here\?\*\* 2 seeds with REPA \(ℓ = 1 of 3 blocks, λ = 2\) against 2 of notebook 06's runs without REPA, at equal training FLOPs at each of 3 evaluation points \(4\.0e\+10 to 1\.6e\+11 FLOPs\): REPA's mean gFID is lower beyond the seed spread at 2 of 3 points \(at 25 %, 50 % of the budget\), higher beyond it at 0, within it at 1\. At the end of the budget: gFID 145\.0 with REPA vs 153\.0 without, Δ −8\.0 \(seed spread 10\.0 over 2 seeds\): within the seed spread\. Where it leads, this is the paper's finding/);
  assert.match(text, /\*\*Is the AR \(LlamaGen\) curve still moving at the end\?\*\* Over the last doubling of compute the mean gFID without REPA falls by 49\.0 against a seed range of 6\.0 at the end: still moving; with REPA it falls by 37\.0 against a seed range of 10\.0 at the end: still moving\./);
  assert.match(text, /DiT \(flow matching\) convergence here\?\*\* .*lower beyond the seed spread at 0 of 3 points, higher beyond it at 0, within it at 3\. .* The paper's finding \(REPA speeds up training\) does not show at this budget\./);
  assert.match(text, /lowest final gFID is at ℓ = 4 \(0\.50 of the depth\), λ = 2: 180\.0 \(1 seed\), Δ −22\.0 vs no REPA; the largest seed range among the settings with two or more seeds is 4\.0, so this is beyond the seed spread/);
  assert.match(text, /\*\*Precision and recall \(AR \(LlamaGen\), 250 fresh samples, k = 3\)\.\*\* With REPA precision is 0\.610 vs 0\.510 \(Δ \+0\.100 \(seed spread 0\.020 over 2 seeds\): better\) and recall 0\.310 vs 0\.305 \(Δ \+0\.005 \(seed spread 0\.020 over 2 seeds\): within the seed spread\)\./);
  assert.match(text, /ℓ = 1\)\?\*\* CKNNA to the teacher on 128 generated images: 0\.505 with REPA vs 0\.305 without, Δ \+0\.200 \(seed spread 0\.010 over 2 seeds\): alignment raises it beyond the seed spread/);
  assert.doesNotMatch(text, /tiny/);
  const at3 = repaConclusion({ setup: { ...setup, ablation: { ...setup.ablation!, main: { depth: 3, weight: 2 } } }, runs: all, teacher, cknna: [] });
  assert.match(at3, /At ℓ = 3 the AR model's lowest final gFID is at λ = 2 \(of 2, 4\)\. The DiT's λ is not varied \(0\.5, the paper's\)/);
  const rows = finalQualityRows(quality);
  assert.deepEqual(rows.map((r) => [r.generator, r.REPA, r.seeds, r.precision, r["recall min–max"]]), [["AR (LlamaGen)", "no", 2, 0.51, "0.300–0.310"], ["AR (LlamaGen)", "yes", 2, 0.61, "0.300–0.320"]]);
  // gFIDs measured on different numbers of samples are refused (lib/eval/fid-manifest.ts)
  const fewer = { ...quality[2], manifest: { ...quality[2].manifest, samples: 100 } };
  assert.throws(() => finalQualityRows([quality[0], quality[1], fewer, quality[3]]), /REPA final quality \(ar\): gFID with vs without REPA: FIDs measured differently: x \(seed 0\) has samples=250 but x \(seed 0\) has samples=100/);
  // one seed per side, no ablation: nothing judged against a spread
  const single = repaConclusion({ setup: repaSetup("quick"), runs: curves.filter((r) => r.point.seed === 0), teacher, cknna: [] });
  assert.match(single, /with one seed on a side no point can be judged against a seed spread\. At the end of the budget: gFID 140\.0 with REPA vs 150\.0 without, Δ −10\.0 \(seed spread unmeasured: 1 seed\)\./);
  assert.match(single, /falls by 50\.0 \(one seed: no spread to compare with\)/);
  assert.doesNotMatch(single, /Which depth/);
  // REPA ahead early and behind at the end, and a baseline that gets worse over the last doubling
  const mixed = [
    run("curve", "ar", null, 0, [300, 200, 150], base),
    run("curve", "ar", null, 1, [302, 202, 152], base),
    run("curve", "ar", { depth: 1, weight: 2 }, 0, [280, 199, 160], on),
    run("curve", "ar", { depth: 1, weight: 2 }, 1, [282, 201, 162], on),
    run("curve", "dit", null, 0, [100, 80, 90], base),
    run("curve", "dit", null, 1, [100, 80, 91], base),
    run("curve", "dit", { depth: 1, weight: 0.5 }, 0, [100, 80, 90], on),
    run("curve", "dit", { depth: 1, weight: 0.5 }, 1, [100, 80, 91], on),
  ];
  const m = repaConclusion({ setup, runs: mixed, teacher, cknna: [] });
  assert.match(m, /lower beyond the seed spread at 1 of 3 points \(at 25 % of the budget\), higher beyond it at 1, within it at 1\. .* The sign of the difference changes along the curve\./);
  assert.match(m, /DiT \(flow matching\) curve still moving at the end\?\*\* Over the last doubling of compute the mean gFID without REPA rises by 10\.5 against a seed range of 1\.0 at the end: still moving/);
});

test("REPA report: the baselines' source names 06's folders; in-run gFIDs of one generator measured differently are refused", () => {
  assert.match(baselineSourceText(curves), /The 4 runs without REPA are notebook 06's runs \(the `convergence` study at this preset, the same run folders: ar-curve-undefined-undefined-0, dit-curve-undefined-undefined-0, ar-curve-undefined-undefined-1, dit-curve-undefined-undefined-1\): all finished before this notebook and reused\./);
  const other = curves[5];
  const changed: RepaRun = { ...other, fidManifests: { gfid: { ...inRunManifest("ar", 1), guidanceScale: 2 } } };
  const swapped = curves.map((r) => (r === other ? changed : r));
  assert.throws(() => repaCurves(swapped, "ar"), /REPA \(ar\): in-run gFID with vs without REPA: FIDs measured differently: .* has guidanceScale=1 but curve ar l=1 w=2 seed=1 has guidanceScale=2/);
  assert.throws(() => repaConclusion({ setup, runs: swapped, teacher, cknna: [] }), /guidanceScale/);
  // the DiT runs are another generator: their manifests are not compared with the AR runs'
  assert.doesNotThrow(() => repaCurves(swapped, "dit"));
});

test("linearProbe: perfectly separable classes, chance on noise, the bias is fitted, errors name the problem", () => {
  // 3 classes on a line: x = class index + small offsets; one feature suffices only with the bias and the per-class fit
  const feats: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 60; i++) {
    const c = i % 3;
    feats.push(c === 0 ? -5 + 0.01 * i : c === 1 ? 5 + 0.01 * i : 0.01 * i, c === 2 ? 3 : -3);
    labels.push(c);
  }
  const set = { features: feats, labels, n: 60 };
  const r = linearProbe(set, set, 2, 3);
  assert.equal(r.trainAccuracy, 1);
  assert.equal(r.testAccuracy, 1);
  assert.throws(() => linearProbe({ ...set, labels: [...labels.slice(0, 59), 7] }, set, 2, 3), /train label\[59\]=7; expected 0…2/);
  assert.throws(() => linearProbe({ features: feats.slice(0, 4), labels: [0, 1], n: 2 }, set, 2, 3), /2 training rows for 2 features/);
  assert.throws(() => linearProbe(set, { ...set, features: feats.slice(1) }, 2, 3), /test features have 119 values; expected n·d = 60·2/);
});
