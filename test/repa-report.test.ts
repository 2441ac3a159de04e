/** Notebook 07's report (REPA) and the linear probe, on fixed inputs: every computed number checked. */
import { test } from "node:test";
import { samplerManifest } from "../lib/experiments/fid-manifests";
import assert from "node:assert/strict";
import type { MetricsRow } from "../lib/train/run";
import type { RepaRun } from "../lib/experiments/repa/runs";
import { repaSetup, type RepaPoint } from "../lib/experiments/repa/grid";
import type { TeacherQuality } from "../lib/experiments/repa/teacher-quality";
import { ablationRows, depthWeightHeatmap, finalQualityRows, gridSpread, repaConclusion, settingMeans } from "../lib/experiments/repa/report";
import { linearProbe } from "../lib/eval/linear-probe";

function run(kind: "ar" | "dit", layer: number | null, weight: number | null, seed: number, gfids: [number, number]): RepaRun {
  const point: RepaPoint = { kind, repa: layer === null || weight === null ? null : { depth: layer, weight }, seed };
  const metrics: MetricsRow[] = [
    { type: "train", step: 50, time: 10, loss: 5, flops: 5e11, stepsPerSec: 5 },
    { type: "eval", step: 50, time: 10, gfid: gfids[0] },
    { type: "train", step: 100, time: 20, loss: 4, flops: 1e12, stepsPerSec: 5 },
    { type: "eval", step: 100, time: 20, gfid: gfids[1] },
  ];
  return { point, label: `${kind} ${layer ?? "base"} ${weight ?? ""} ${seed}`, runDir: `/runs/${kind}-${layer}-${weight}-${seed}`, reused: true, metrics, config: { steps: 100, batchSize: 32, depth: 8, dim: 64 }, flopsPerStep: 1e10, finalGfid: gfids[1], fidManifests: { gfid: inRunManifest(kind, seed) }, ar: null, dit: null };
}

function inRunManifest(kind: "ar" | "dit", seed: number) {
  return samplerManifest({ samples: 250, numClasses: 10, generator: kind, guidanceScale: 1, samplingSteps: kind === "dit" ? 10 : null, ema: true, featureNet: "featurenet-t", seed });
}

// baseline 200, 204 (range 4); headline ℓ=3 λ=2: 190, 193 (range 3); ℓ=2 λ=2: 201; ℓ=4 λ=2: 180; ℓ=3 λ=4: 203
const grid: RepaRun[] = [
  run("ar", null, null, 0, [260, 200]),
  run("ar", null, null, 1, [262, 204]),
  run("ar", 2, 2, 0, [255, 201]),
  run("ar", 3, 2, 0, [250, 190]),
  run("ar", 4, 2, 0, [240, 180]),
  run("ar", 3, 4, 0, [258, 203]),
  run("ar", 3, 2, 1, [251, 193]),
  run("dit", null, null, 0, [150, 100]),
  run("dit", null, null, 1, [151, 104]),
  run("dit", 3, 0.5, 0, [149, 101]),
  run("dit", 3, 0.5, 1, [150, 103]),
];
const teacher: TeacherQuality = { teacherRun: "teacher-x", probeAccuracy: 0.8123, featureNetAccuracy: 0.907, featureNetRun: "featurenet-y", cknnaToFeatureNet: 0.31, n: 2000, featureDim: 32, patchGrid: 8 };

test("settingMeans, gridSpread and ablationRows: means per (ℓ, λ), the largest multi-seed range, verdicts against it", () => {
  const s = settingMeans(grid, "ar");
  assert.deepEqual(s.map((x) => [x.layer, x.weight, x.values]), [[2, 2, [201]], [3, 2, [190, 193]], [3, 4, [203]], [4, 2, [180]]]);
  assert.equal(gridSpread(grid, "ar"), 4);
  assert.equal(gridSpread(grid, "dit"), 4);
  const rows = ablationRows(grid, "ar");
  assert.deepEqual(rows.map((r) => [r.setting, r.seeds, r["final gFID (mean)"], r["Δ vs no REPA"], r.verdict]), [
    ["no REPA", 2, 202, 0, "baseline"],
    ["ℓ=2 λ=2", 1, 201, -1, "within the seed spread"],
    ["ℓ=3 λ=2", 2, 191.5, -10.5, "better"],
    ["ℓ=3 λ=4", 1, 203, 1, "within the seed spread"],
    ["ℓ=4 λ=2", 1, 180, -22, "better"],
  ]);
  const heat = depthWeightHeatmap(grid, 8).data[0] as { z: (number | null)[][]; x: string[]; y: string[] };
  assert.deepEqual(heat.x, ["2", "4"]);
  assert.deepEqual(heat.y, ["ℓ=2 (0.25·depth)", "ℓ=3 (0.38·depth)", "ℓ=4 (0.50·depth)"]);
  assert.deepEqual(heat.z, [[201, null], [191.5, 203], [180, null]]);
});

test("repaConclusion: the measured numbers and verdicts in sentences", () => {
  const cknna = [0, 1].flatMap((seed) => [
    { kind: "ar" as const, repa: false, seed, result: { layers: [0, 1, 2, 3], cknna: [0.1, 0.2, 0.25, 0.3 + 0.01 * seed], n: 128, k: 10 } },
    { kind: "ar" as const, repa: true, seed, result: { layers: [0, 1, 2, 3], cknna: [0.1, 0.25, 0.35, 0.5 + 0.01 * seed], n: 128, k: 10 } },
  ]);
  const q = (kind: "ar" | "dit", repa: boolean, seed: number, precision: number, recall: number) => ({ label: "x", kind, repa, seed, gfid: 100, precision, recall, n: 250, manifest: samplerManifest({ samples: 250, numClasses: 10, generator: kind, guidanceScale: 1, samplingSteps: kind === "dit" ? 10 : null, ema: true, featureNet: "featurenet-t", seed }) });
  const quality = [q("ar", false, 0, 0.5, 0.3), q("ar", false, 1, 0.52, 0.31), q("ar", true, 0, 0.6, 0.3), q("ar", true, 1, 0.62, 0.32)];
  const text = repaConclusion({ setup: repaSetup("quick"), grid, teacher, cknna, quality });
  assert.match(text, /\*\*Precision and recall \(AR \(LlamaGen\), 250 fresh samples, k = 3\)\.\*\* With REPA precision is 0\.610 vs 0\.510 \(Δ \+0\.100 \(seed spread 0\.020 over 2 seeds\): better\) and recall 0\.310 vs 0\.305 \(Δ \+0\.005 \(seed spread 0\.020 over 2 seeds\): within the seed spread\)\./);
  const rows = finalQualityRows(quality);
  // gFIDs measured on different numbers of samples are refused (lib/eval/fid-manifest.ts)
  const fewer = { ...quality[2], manifest: { ...quality[2].manifest, samples: 100 } };
  assert.throws(() => finalQualityRows([quality[0], quality[1], fewer, quality[3]]), /REPA final quality \(ar\): gFID with vs without REPA: FIDs measured differently: x \(seed 0\) has samples=250 but x \(seed 0\) has samples=100/);
  assert.deepEqual(rows.map((r) => [r.generator, r.REPA, r.seeds, r.precision, r["recall min–max"]]), [["AR (LlamaGen)", "no", 2, 0.51, "0.300–0.310"], ["AR (LlamaGen)", "yes", 2, 0.61, "0.300–0.320"]]);
  assert.match(text, /linear probe reaches 81\.2 % test accuracy \(the supervised FID network: 90\.7 %\), and its CKNNA to the FID network is 0\.310 on 2000 test images \(1 = the same nearest-neighbour structure, 0 = none in common; no threshold/);
  assert.match(text, /LlamaGen-REPA \(ℓ = 3 of 8, λ = 2\) ends better than the run without REPA: final gFID 191\.5 vs 202\.0 without REPA, Δ −10\.5 \(seed spread 4\.0 over 2 seeds\)\. At the first evaluation \(50 % of the training steps\): Δ gFID −10\.5 \(seed spread 2\.0 over 2 seeds\), better\. This is the paper's finding\./);
  assert.match(text, /lowest final gFID is at ℓ = 4 \(0\.50 of the depth\), λ = 2: 180\.0 \(1 seed\), Δ −22\.0 vs no REPA; the largest seed range among the settings with two or more seeds is 4\.0, so this is beyond the seed spread/);
  assert.match(text, /At ℓ = 3 the AR model's best λ is 2 \(of 2, 4\)\. The DiT was trained at λ = 0\.5 only/);
  assert.match(text, /it ends within the seed spread of the DiT without REPA: gFID 102\.0 vs 102\.0, Δ \+0\.0 \(seed spread 4\.0 over 2 seeds\)\./);
  assert.match(text, /ℓ = 3\)\?\*\* CKNNA to the teacher on 128 generated images: 0\.505 with REPA vs 0\.305 without, Δ \+0\.200 \(seed spread 0\.010 over 2 seeds\): alignment raises it beyond the seed spread/);
  assert.doesNotMatch(text, /tiny/);
  // one seed per side: cannot be judged
  const single = repaConclusion({ setup: repaSetup("quick"), grid: grid.filter((r) => r.point.seed === 0), teacher: { ...teacher, cknnaToFeatureNet: 0.8 }, cknna: [] });
  assert.match(single, /its CKNNA to the FID network is 0\.800 on 2000 test images \(1 = the same/);
  assert.match(single, /λ = 2\) ends at final gFID 190\.0 vs 200\.0 without REPA, Δ −10\.0 \(seed spread unmeasured: 1 seed\)\. At the first evaluation \(50 % of the training steps\): Δ gFID −10\.0 \(seed spread unmeasured: 1 seed\)\. With one seed per side this cannot be judged\./);
  assert.match(single, /the seed spread is unmeasured, so no setting can be called a winner/);
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

test("REPA report: in-run gFIDs of one generator measured differently are refused, naming the run and the field", () => {
  const other = run("ar", 3, 2, 1, [250, 190]);
  const changed: RepaRun = { ...other, fidManifests: { gfid: { ...inRunManifest("ar", 1), guidanceScale: 2 } } };
  assert.throws(() => settingMeans([...grid, changed], "ar"), /REPA \(ar\): in-run gFID with vs without REPA: FIDs measured differently: .* has guidanceScale=1 but ar 3 2 1 has guidanceScale=2/);
  assert.throws(() => repaConclusion({ setup: repaSetup("quick"), grid: [...grid, changed], teacher, cknna: [] }), /guidanceScale/);
  // the DiT runs are another generator: their manifests are not compared with the AR runs'
  assert.doesNotThrow(() => settingMeans(grid, "dit"));
});
