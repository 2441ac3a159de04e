import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { checkComparableFids, fidManifest, manifestDifferences, readRunFidManifests, writeRunFidManifests, FID_MANIFEST_FILE, type FidManifest } from "../lib/eval/fid-manifest";
import { inRunFidManifest, inRunFidManifests, runFidManifests, rfidManifest, featureNetRunId, type InRunManifestConfig } from "../lib/experiments/fid-manifests";
import { gfidAndSpeedFigure } from "../lib/experiments/gfid-and-speed";
import { checkConvergenceFids } from "../lib/experiments/convergence/fid-check";
import { planStudy } from "../lib/experiments/plan";
import { convergenceSetup, convergenceStudy } from "../lib/experiments/convergence/grid";
import { PRESET_NAMES } from "../lib/train/config";
import type { ConvergenceRun } from "../lib/experiments/convergence/runs";
import { tempDirs } from "./support/temp-dirs";

const tmpDir = tempDirs("ifsq-fid-manifest-");
const base: FidManifest = { metric: "gFID", samples: 1000, classes: "uniform over 10 classes", generator: "ar", guidanceScale: 1, samplingSteps: null, ema: true, featureNet: "featurenet-abc", reference: "fashion-mnist test split", seed: 0 };

test("checkComparableFids: refuses FIDs measured differently, naming the field, unless allowed explicitly", () => {
  const a = { label: "run A", manifest: base };
  const b = { label: "run B", manifest: { ...base, guidanceScale: 2, seed: 7 } };
  assert.deepEqual(manifestDifferences(a.manifest, b.manifest), ["guidanceScale", "seed"]);
  assert.throws(() => checkComparableFids([a, b], { what: "test" }), /test: FIDs measured differently: run A has guidanceScale=1 but run B has guidanceScale=2; pass allowDifferent/);
  checkComparableFids([a, b], { what: "test", allowDifferent: ["guidanceScale"] }); // seed is free by default
  assert.throws(() => checkComparableFids([a, b], { what: "test", allowDifferent: ["guidanceScale"], compareSeed: true }), /has seed=0 but run B has seed=7/);
  assert.throws(() => checkComparableFids([a, { label: "C", manifest: { ...base, ema: false, samples: 500 } }], { what: "t" }), /has samples=1000 but C has samples=500 \(also differing: ema\)/);
  assert.throws(() => checkComparableFids([a, { label: "old run", manifest: undefined }], { what: "t" }), /old run has no FID manifest/);
  checkComparableFids([a, { label: "old run", manifest: undefined }], { what: "t", unchecked: true });
  assert.throws(() => fidManifest({ ...base, samples: 0 }), /samples=0; expected a positive integer/);
  assert.throws(() => fidManifest({ ...base, extra: 1 } as unknown as FidManifest), /unknown field\(s\) extra/);
  // the plot of gFID against a knob checks its points
  const pts = [{ x: 1, gfid: 50, samplesPerSec: 10, manifest: base }, { x: 2, gfid: 40, samplesPerSec: 5, manifest: { ...base, guidanceScale: 2 } }];
  gfidAndSpeedFigure(pts, { method: "ar", knob: "CFG scale s", vary: "guidanceScale" });
  assert.throws(() => gfidAndSpeedFigure(pts, { method: "ar", knob: "CFG scale s", vary: "samplingSteps" }), /gFID vs CFG scale s: FIDs measured differently: CFG scale s = 1 has guidanceScale=1/);
  assert.throws(() => gfidAndSpeedFigure([{ ...pts[0], manifest: { ...base, featureNet: "featurenet-tiny" } }, pts[1]], { method: "ar", knob: "CFG scale s", vary: "guidanceScale" }), /featureNet="featurenet-tiny" but .* featureNet="featurenet-abc"/);
});

test("run folders record their manifests; runs recorded before get the ones their config implies", () => {
  const cfg: InRunManifestConfig = { evalSamples: 500, seed: 3, featureNet: "tiny", evalCfgScale: 1, evalGuidedScale: 2, emaDecay: 0.99, evalSteps: 25 };
  const m = inRunFidManifests("dit", cfg);
  assert.deepEqual(Object.keys(m), ["gfid", "gfidGuided"]);
  assert.equal(m.gfidGuided.guidanceScale, 2);
  assert.equal(m.gfid.samplingSteps, 25);
  assert.equal(m.gfid.ema, true);
  assert.match(m.gfid.featureNet, /^featurenet-[0-9a-f]{12}$/);
  assert.notEqual(featureNetRunId("tiny"), featureNetRunId("full"));
  const dir = tmpDir();
  assert.equal(readRunFidManifests(dir), null);
  assert.deepEqual(runFidManifests("dit", cfg, dir), m); // nothing recorded: from the config
  writeRunFidManifests(dir, { gfid: { ...m.gfid, samples: 7 } });
  writeRunFidManifests(dir, { "gfidCfgEnd@2": inRunFidManifest("dit", cfg, { guidanceScale: 2 }) });
  const back = readRunFidManifests(dir)!;
  assert.deepEqual(Object.keys(back), ["gfid", "gfidCfgEnd@2"]);
  assert.equal(runFidManifests("dit", cfg, dir).gfid.samples, 7, "the recorded manifest wins");
  fs.writeFileSync(path.join(dir, FID_MANIFEST_FILE), JSON.stringify({ gfid: { ...m.gfid, ema: "yes" } }));
  assert.throws(() => readRunFidManifests(dir), /entry "gfid": fidManifest: ema="yes"/);
  assert.equal(rfidManifest(2000, "featurenet-x").reference, "the 2000 original test images");
});

test("the convergence sweep's AR and DiT runs measure gFID alike at every preset (only generator and steps differ)", () => {
  for (const preset of PRESET_NAMES) {
    const runs = planStudy(convergenceStudy, convergenceSetup(preset)).map((r) => {
      if (r.kind !== "ar" && r.kind !== "dit") throw new Error(`convergence study planned a ${r.kind} run`);
      return {
        label: `${r.kind} ${preset}`,
        fidManifests: inRunFidManifests(r.kind, r.config),
        cfgEnd: { scale: 2, gfid: 1, seconds: 0, cached: true, manifest: inRunFidManifest(r.kind, r.config, { guidanceScale: 2 }) },
      };
    }) as unknown as ConvergenceRun[];
    assert.ok(runs.some((r) => r.label.startsWith("ar")) && runs.some((r) => r.label.startsWith("dit")));
    checkConvergenceFids(runs);
  }
});

test("rFIDs: the bits sweep's aggregation refuses rFIDs over different image counts", async () => {
  const { seedSummaryByLevel } = await import("../lib/experiments/bits/aggregate");
  const r = (L: number, n: number) => ({ L, bits: Math.log2(L), bound: "ifsq", seed: 0, row: { rfid: 10, psnr: 20 }, rfidManifest: rfidManifest(n, "featurenet-x") });
  assert.equal(seedSummaryByLevel([r(5, 1000), r(9, 1000)] as never, "ifsq", "rfid").length, 2);
  assert.throws(() => seedSummaryByLevel([r(5, 1000), r(9, 500)] as never, "ifsq", "rfid"), /bits sweep: rFID across L and bounds: FIDs measured differently: ifsq L=5 seed 0 has samples=1000 but ifsq L=9 seed 0 has samples=500/);
  assert.equal(seedSummaryByLevel([r(5, 1000), r(9, 500)] as never, "ifsq", "psnr").length, 2, "other metrics are not FIDs");
});
