import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  parseResults, readReference, readResultsFile, referenceCurves, resultsRecord, seedQuantity, halvesQuantity, writeResults,
  type Results, type ResultsInput,
} from "../lib/experiments/reference-results";
import { compareResults, comparisonLines } from "../lib/experiments/reference-comparison";
import { overlayReference } from "../lib/view/reference-overlay";
import { compareRun } from "../scripts/compare-results";
import type { FidManifest } from "../lib/eval/fid-manifest";
import type { ConvergenceRun } from "../lib/experiments/convergence/runs";
import { summarizeConvergence } from "../lib/experiments/convergence/summary";
import { gfidVsFlopsFigure } from "../lib/experiments/convergence/report";
import { CONVERGENCE_NOTEBOOK, convergenceResults, meanCurveName, withConvergenceReference } from "../lib/experiments/convergence/results";

const ROOT = path.resolve(__dirname, "..");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-ref-"));

/** A valid record of notebook "nb" at quick, with the given quantities and curves. */
function record(quantities: ResultsInput["quantities"], curves: ResultsInput["curves"] = []): Results {
  return resultsRecord({ notebook: "nb", preset: "quick", quantities, curves, engine: "cpu" });
}

function writeJson(file: string, v: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(v));
}

test("seedQuantity / halvesQuantity: mean ± seed range, half-sample gap; NaN is stored as not measured", () => {
  assert.deepEqual(seedQuantity("psnr", [20, 21, 23], { unit: "dB" }), { name: "psnr", value: 64 / 3, unit: "dB", spread: 3 });
  assert.deepEqual(seedQuantity("psnr", [20]), { name: "psnr", value: 20 }, "one seed: no spread");
  assert.equal(seedQuantity("psnr", [20, NaN]).value, null);
  assert.deepEqual(halvesQuantity("gFID", 30, [29, 32.5]), { name: "gFID", value: 30, spread: 3.5 });
  assert.equal("spread" in halvesQuantity("gFID", 30, undefined), false);
  const r = record([{ name: "a", value: NaN }, { name: "b", value: Infinity }, { name: "c", value: 1 }]);
  assert.deepEqual(r.quantities.map((q) => q.value), [null, null, 1]);
  assert.equal(r.format, "ifsq-results/1");
  assert.equal(r.engine, "cpu");
});

test("writeResults: atomic JSON in the figure folder (IFSQ_FIGURE_DIR), read back equal", () => {
  const dir = tmp();
  const prev = process.env.IFSQ_FIGURE_DIR;
  process.env.IFSQ_FIGURE_DIR = dir;
  try {
    const file = writeResults({ notebook: "02-bin-histograms", preset: "tiny", quantities: [seedQuantity("iFSQ PSNR", [14.1, 14.5], { unit: "dB", direction: "higher" })], curves: [{ name: "c", x: [1, 2], y: [3, 4] }] });
    assert.equal(file, path.join(dir, "02-bin-histograms.results.json"));
    assert.deepEqual(fs.readdirSync(dir), ["02-bin-histograms.results.json"], "no temp file left");
    const back = readResultsFile(file);
    assert.equal(back.notebook, "02-bin-histograms");
    assert.equal(back.preset, "tiny");
    assert.ok(Math.abs(back.quantities[0].value! - 14.3) < 1e-12);
    assert.ok(Math.abs(back.quantities[0].spread! - 0.4) < 1e-12);
    assert.deepEqual(back.curves[0].y, [3, 4]);
  } finally {
    if (prev === undefined) delete process.env.IFSQ_FIGURE_DIR;
    else process.env.IFSQ_FIGURE_DIR = prev;
  }
});

test("malformed records fail with the file and the bad field named", () => {
  const good = JSON.parse(JSON.stringify(record([{ name: "a", value: 1, spread: 0.1 }], [{ name: "c", x: [1, 2], y: [3, 4] }])));
  const bad = (patch: (r: any) => void, re: RegExp) => {
    const r = JSON.parse(JSON.stringify(good));
    patch(r);
    assert.throws(() => parseResults(r, "x.json"), (e: Error) => /malformed results file x\.json/.test(e.message) && re.test(e.message), re.source);
  };
  parseResults(good, "x.json");
  bad((r) => delete r.preset, /preset/);
  bad((r) => (r.preset = "medium"), /preset/);
  bad((r) => (r.format = "other/2"), /format/);
  bad((r) => (r.quantities[0].spread = -1), /quantities\.0\.spread: expected a spread ≥ 0/);
  bad((r) => (r.quantities[0].value = "1"), /quantities\.0\.value/);
  bad((r) => r.quantities.push({ name: "a", value: 2 }), /quantity names must be unique/);
  bad((r) => (r.curves[0].y = [3]), /same length/);
  bad((r) => (r.extra = 1), /extra|unrecognized/i);
  const dir = tmp();
  fs.writeFileSync(path.join(dir, "broken.json"), "{ not json");
  assert.throws(() => readResultsFile(path.join(dir, "broken.json")), /malformed results file .*broken\.json/);
});

test("compareResults: within / moved (in spreads) / on one side only / not measured; curves pointwise at shared x", () => {
  const ref = record(
    [
      { name: "psnr", value: 22, spread: 0.3, unit: "dB", direction: "higher" }, // floor 1 % · 22 = 0.22 < 0.3
      { name: "gfid", value: 40, spread: 1, direction: "lower" },
      { name: "flops", value: 1e12 },
      { name: "gone", value: 5 },
      { name: "nan", value: 3 },
    ],
    [{ name: "curve", x: [1, 10, 100], y: [100, 60, 50], spread: [2, 2, 2] }],
  );
  const now = record(
    [
      { name: "psnr", value: 22.3, spread: 0.1, unit: "dB", direction: "higher" }, // |Δ| 0.3 ≤ 2 · 0.3
      { name: "gfid", value: 45, spread: 1.5, direction: "lower" },                // |Δ| 5 > 2 · 1.5: 3.3 spreads, worse
      { name: "flops", value: 1.005e12 },                                          // no spread: floor 1 % of 1e12, × 2
      { name: "nan", value: null },
      { name: "new", value: 7 },
    ],
    [{ name: "curve", x: [1, 10, 1000], y: [101, 70, 40] }],
  );
  const c = compareResults(now, ref);
  const by = Object.fromEntries(c.quantities.map((q) => [q.name, q]));
  assert.equal(by.psnr.status, "within");
  assert.ok(Math.abs(by.psnr.tolerance! - 0.6) < 1e-12);
  assert.equal(by.gfid.status, "moved");
  assert.ok(Math.abs(by.gfid.spreads! - 5 / 1.5) < 1e-12);
  assert.equal(by.flops.status, "within");
  assert.equal(by.flops.spreads, null);
  assert.equal(by.gone.status, "not in this run");
  assert.equal(by.nan.status, "not measured");
  assert.equal(by.new.status, "not in the reference");
  assert.equal(c.curves[0].shared, 2);
  assert.equal(c.curves[0].beyond, 1, "x=10: |70 − 60| > 2 · 2; x=1: |1| ≤ 4");
  assert.deepEqual(c.curves[0].worst, { x: 10, delta: 10, tolerance: 4 });
  assert.deepEqual([c.within, c.moved, c.missing], [2, 2, 3]);
  const text = comparisonLines(c).join("\n");
  assert.match(text, /^nb @ quick: 2 within, 2 moved, 3 on one side only/);
  assert.match(text, /MOVED {4}gfid: 40 → 45: moved by \+5 \(3\.3 spreads; tolerance ±3, worse\)/);
  assert.match(text, /within {3}psnr: 22 → 22\.3 dB \(Δ \+0\.3, tolerance ±0\.6\)/);
  assert.match(text, /missing {2}gone: in the reference \(5\), not in this run/);
  assert.match(text, /missing {2}nan: not measured in this run/);
  assert.match(text, /MOVED {4}curve curve: 1 of 2 shared points beyond tolerance; largest Δ \+10 at x = 10/);
  // a tighter k turns the within into moved; a different notebook is a caller error
  assert.equal(compareResults(now, ref, { k: 1 }).quantities[0].status, "moved");
  assert.throws(() => compareResults({ ...now, notebook: "other" }, ref), /this run is other @ quick, the reference nb @ quick/);
});

test("compare-results: no reference yet, then within/moved after --update-reference; older runs and other presets skipped; malformed fails", () => {
  const figures = tmp();
  const reference = tmp();
  const nb06 = path.join(figures, "06-x", "06-x.results.json");
  const nb02 = path.join(figures, "02-y", "02-y.results.json");
  const res = (notebook: string, v: number, preset = "quick") => ({ ...record([{ name: "q", value: v, spread: 1 }]), notebook, preset });
  writeJson(nb06, res("06-x", 10));
  writeJson(nb02, res("02-y", 3));
  writeJson(path.join(figures, "tiny-run", "03-z.results.json"), res("03-z", 1, "tiny"));
  const old = path.join(figures, "old", "04-w.results.json");
  writeJson(old, { broken: true }); // malformed, but from an earlier run: not read
  const since = Date.now() - 60_000;
  fs.utimesSync(old, new Date(since - 60_000), new Date(since - 60_000));

  const none = compareRun({ preset: "quick", figures, reference, sinceMs: since });
  assert.deepEqual(none.malformed, []);
  assert.match(none.lines.join("\n"), /results files skipped: 1 from earlier runs, 1 at another preset/);
  assert.match(none.lines.join("\n"), /no reference for preset quick .*results of this run: 02-y, 06-x/);
  assert.equal(none.compared, 0);

  const upd = compareRun({ preset: "quick", figures, reference, sinceMs: since, update: true });
  assert.deepEqual(upd.updated.map((f) => path.relative(reference, f)).sort(), ["quick/02-y.json", "quick/06-x.json"]);
  assert.equal(readReference("06-x", "quick", reference)!.quantities[0].value, 10);
  assert.equal(readReference("06-x", "tiny", reference), null, "no reference at tiny");

  writeJson(nb06, res("06-x", 13)); // moved by 3 > 2 · 1
  const after = compareRun({ preset: "quick", figures, reference, sinceMs: since });
  assert.deepEqual([after.compared, after.moved], [2, 1]);
  assert.match(after.lines.join("\n"), /02-y @ quick: 1 within, 0 moved/);
  assert.match(after.lines.join("\n"), /MOVED {4}q: 10 → 13: moved by \+3 \(3\.0 spreads/);

  fs.writeFileSync(nb02, JSON.stringify({ ...res("02-y", 3), quantities: [{ name: "q", value: 3, spread: -2 }] }));
  const bad = compareRun({ preset: "quick", figures, reference, sinceMs: since, update: true });
  assert.equal(bad.malformed.length, 1);
  assert.match(bad.malformed[0], /02-y\.results\.json[\s\S]*spread/);
  assert.deepEqual(bad.updated, [], "no reference is updated from a run with a malformed file");
  fs.writeFileSync(path.join(reference, "quick", "06-x.json"), "[]");
  assert.match(compareRun({ preset: "quick", figures, reference, sinceMs: since }).malformed.join("\n"), /quick\/06-x\.json/);
});

test("compare-results CLI: exit 0 with a moved number, 1 with a malformed file", () => {
  const figures = tmp();
  const reference = tmp();
  const r = { ...record([{ name: "q", value: 10, spread: 1 }]), notebook: "06-x" };
  writeJson(path.join(reference, "quick", "06-x.json"), r);
  writeJson(path.join(figures, "06-x", "06-x.results.json"), { ...r, quantities: [{ name: "q", value: 20, spread: 1 }] });
  const run = () => spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "compare-results.ts"), "--preset", "quick", "--figures", figures, "--reference", reference], { cwd: ROOT, encoding: "utf8" });
  const moved = run();
  assert.equal(moved.status, 0, moved.stderr);
  assert.match(moved.stdout, /MOVED {4}q: 10 → 20/);
  assert.match(moved.stdout, /1 number\(s\) or curve\(s\) moved beyond tolerance/);
  writeJson(path.join(figures, "06-x", "06-x.results.json"), { ...r, preset: undefined });
  const broken = run();
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /malformed results file .*06-x\.results\.json[\s\S]*preset/);
});

/** The FID manifest of a fake convergence run's gFID. */
function fakeManifest(kind: "ar" | "dit", seed: number, guidanceScale: number): FidManifest {
  return { metric: "gFID", samples: 200, classes: "uniform over 10 classes", generator: kind, guidanceScale, samplingSteps: kind === "dit" ? 10 : null, ema: true, featureNet: "featurenet-test", reference: "fashion-mnist test split", seed };
}

/** A convergence run with gFID ys[i] at steps[i], 1e9 FLOPs per step, and a CFG check at the end. */
function fakeRun(kind: "ar" | "dit", seed: number, steps: number[], ys: number[], cfgEnd: number): ConvergenceRun {
  const total = steps[steps.length - 1];
  return {
    label: `${kind} seed=${seed}`, kind, seed, runDir: `/runs/${kind}-${seed}`, reused: true,
    config: { steps: total, batchSize: 8, evalSamples: 200, seed }, planned: undefined as never, metrics: [], flopsPerStep: 1e9, budget: total * 1e9,
    points: steps.map((s, i) => ({ step: s, flops: s * 1e9, fraction: s / total, gfid: ys[i], wallSeconds: s, trainSeconds: s, evalSeconds: 1 })),
    totalSeconds: total + steps.length, evalSeconds: steps.length, samples: [],
    cfgEnd: { scale: 2, gfid: cfgEnd, seconds: 1, cached: false, manifest: fakeManifest(kind, seed, 2) },
    fidManifests: { gfid: fakeManifest(kind, seed, 1) },
  };
}

test("notebook 06: results from the summary, and the reference overlay appears only when a reference exists", () => {
  const steps = [1, 10, 100];
  const s = summarizeConvergence([
    fakeRun("ar", 0, steps, [100, 60, 50], 40), fakeRun("ar", 1, steps, [104, 62, 52], 42),
    fakeRun("dit", 0, steps, [300, 80, 20], 25), fakeRun("dit", 1, steps, [310, 84, 24], 27),
  ]);
  const input = convergenceResults(s, "quick");
  const q = Object.fromEntries(resultsRecord(input).quantities.map((v) => [v.name, v]));
  assert.deepEqual([q["AR end gFID"].value, q["AR end gFID"].spread], [51, 2]);
  assert.deepEqual([q["DiT end gFID with CFG 2"].value, q["DiT end gFID with CFG 2"].spread], [26, 2]);
  assert.deepEqual([q["AR − DiT end gFID"].value, q["AR − DiT end gFID"].spread], [29, 4]);
  assert.equal(q["AR gFID change over the last doubling"].spread, 2);
  assert.ok(q["crossover of the seed means (log10 FLOPs)"].value! > 9 && q["crossover of the seed means (log10 FLOPs)"].value! < 11);
  assert.deepEqual(input.curves!.map((c) => c.name), [meanCurveName("ar"), meanCurveName("dit")]);
  assert.deepEqual(input.curves![1].y, [305, 82, 22]);

  const fig = gfidVsFlopsFigure(s);
  const reference = tmp();
  assert.equal(readReference(CONVERGENCE_NOTEBOOK, "quick", reference), null);
  const without = withConvergenceReference(fig, readReference(CONVERGENCE_NOTEBOOK, "quick", reference), "quick");
  assert.equal(without.data.length, fig.data.length, "no reference: no trace added");
  assert.equal(overlayReference(fig, referenceCurves(null)), fig);

  writeJson(path.join(reference, "quick", `${CONVERGENCE_NOTEBOOK}.json`), resultsRecord(input));
  const withRef = withConvergenceReference(fig, readReference(CONVERGENCE_NOTEBOOK, "quick", reference), "quick");
  const added = withRef.data.slice(fig.data.length) as { name: string; line: { dash: string; color: string }; y: number[] }[];
  assert.equal(added.length, 2);
  assert.deepEqual(added.map((t) => t.name), ["reference (committed quick run): AR mean", "reference (committed quick run): DiT mean"]);
  assert.deepEqual(added.map((t) => t.line.dash), ["dash", "dash"]);
  assert.deepEqual(added[0].y, [102, 61, 51]);
  assert.equal(fig.data.length, withRef.data.length - 2, "the input figure is not modified");
});
