/**
 * Notebook 07's sections: the teacher's quality, the run table, gFID against training FLOPs with and without REPA per
 * generator (seed bands, the difference at each evaluation point), LlamaGen-REPA's depth × λ heat map and ablation
 * table where the preset has the ablation, CKNNA per layer, and the computed conclusions, every difference judged
 * against the measured seed spread (experiments/seed-spread.ts).
 *
 * Curves (REPA vs notebook 06's runs without REPA, same evaluation schedule at equal training FLOPs, grid.ts):
 *   at point k   Δ_k = mean gFID(REPA) − mean gFID(no REPA), spread_k = max(range over seeds of either side)
 *                (`compareSeeds`: "better" only when Δ_k < −spread_k; "unmeasured" with one seed on a side)
 *   last doubling  m(x_end / 2) − m(x_end) of the seed-mean curve m (log-x interpolation, convergence/flatness.ts);
 *                the curve "still moves" when it exceeds the seed range at the end (with one seed: unmeasured)
 * Ablation (final gFID of each ℓ × λ setting):
 *   Δ(setting)  = mean final gFID(setting) − mean final gFID(no REPA)            (negative = REPA helps)
 *   spread      = max(range over seeds) of the settings trained at ≥ 2 seeds (the baseline and the headline setting)
 *   a setting trained at one seed "beats the baseline" only when Δ < −spread
 */
import { alsoInColumn } from "../shared-runs";
import type { PresetName } from "../../train/config";
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle, REFERENCE_COLOR } from "../../view/palette";
import { compareSeeds, deltaText, summarizeSeeds, type SeedComparison } from "../seed-spread";
import { runSummary } from "../run-summary";
import { seedBand, bandMean, type BandPoint } from "../convergence/bands";
import { flatness } from "../convergence/flatness";
import type { RepaSetup } from "./grid";
import type { RepaRun } from "./runs";
import type { TeacherQuality } from "./teacher-quality";
import type { LayerCknna } from "./cknna-layers";
import type { FinalQuality } from "./final-quality";
import { checkComparableFids } from "../../eval/fid-manifest";

const f = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "n/a");
/** The teacher table: probe accuracy, the FID network's accuracy, their CKNNA. */
export function teacherRows(q: TeacherQuality): Record<string, string | number>[] {
  return [
    { quantity: "teacher run", value: q.teacherRun },
    { quantity: "patch grid × feature width", value: `${q.patchGrid}×${q.patchGrid} × ${q.featureDim}` },
    { quantity: "linear-probe accuracy (test, ridge on pooled features)", value: q.probeAccuracy },
    { quantity: `FID network accuracy (${q.featureNetRun}, supervised)`, value: q.featureNetAccuracy },
    { quantity: `CKNNA(teacher, FID network), ${q.n} test images, k = 10`, value: q.cknnaToFeatureNet },
  ];
}

/** One run-summary row per run. */
export function repaRunRows(runs: RepaRun[], preset?: PresetName): Record<string, string | number>[] {
  return runs.map((r) =>
    runSummary(r, { run: r.label, ℓ: r.point.repa?.depth ?? "–", λ: r.point.repa?.weight ?? "–" }, { "final gFID": r.finalGfid, "D × depth": `${r.config.dim} × ${r.config.depth}`, "GFLOP/step": r.flopsPerStep / 1e9, ...alsoInColumn(r.runDir, preset, "07") }),
  );
}

/** Where the curves' baselines come from: notebook 06's runs (the `convergence` study), by folder, trained here or reused. */
export function baselineSourceText(runs: RepaRun[]): string {
  const base = runs.filter((r) => r.point.part === "curve" && r.point.repa === null);
  if (!base.length) return "No curve runs without REPA are loaded.";
  const reused = base.filter((r) => r.reused).length;
  return (
    `The ${base.length} runs without REPA are notebook 06's runs (the \`convergence\` study at this preset, the same run folders: ` +
    `${base.map((r) => r.runDir.split(/[\\/]/).pop()).join(", ")}): ${reused === base.length ? "all finished before this notebook and reused" : reused === 0 ? "trained by this notebook (06 reuses them)" : `${reused} reused, ${base.length - reused} trained by this notebook`}.`
  );
}

/** The in-run gFIDs of one part and generator are compared with each other only when measured alike (seeds may differ). */
function checkInRunFids(runs: RepaRun[], part: "curve" | "ablation", kind: "ar" | "dit"): void {
  const mine = runs.filter((r) => r.point.part === part && r.point.kind === kind);
  checkComparableFids(mine.map((r) => ({ label: r.label, manifest: r.fidManifests.gfid })), { what: `REPA (${kind}): in-run gFID with vs without REPA` });
}

/** One evaluation point of a generator's curves: both sides' seeds and REPA against no REPA there. */
export interface CurvePointComparison {
  /** Training FLOPs of the baseline's point and of the REPA run's point (equal within one step). */
  x: number;
  xRepa: number;
  /** REPA (b) against no REPA (a), lower gFID is better. */
  cmp: SeedComparison;
}

/** The evidence of one seed-mean curve over its last doubling of compute. */
export interface LastDoubling {
  /** m(x_end / 2) − m(x_end): > 0 = still falling. */
  change: number;
  /** Seed range at the last point (0 with one seed). */
  spreadAtEnd: number;
  seeds: number;
  /** |change| > spreadAtEnd; null with one seed (no spread). */
  moving: boolean | null;
}

/** REPA vs no REPA of one generator, point by point. */
export interface RepaCurves {
  kind: "ar" | "dit";
  base: BandPoint[];
  repa: BandPoint[];
  points: CurvePointComparison[];
  lastDoubling: { base: LastDoubling; repa: LastDoubling };
}

function lastDoubling(band: BandPoint[]): LastDoubling {
  const end = band[band.length - 1];
  const fl = flatness(bandMean(band), end.range);
  return { change: fl.lastDoubling, spreadAtEnd: end.range, seeds: end.n, moving: end.n < 2 ? null : Math.abs(fl.lastDoubling) > end.range };
}

/** The curves of one generator (null when it has no curve runs on either side). */
export function repaCurves(runs: RepaRun[], kind: "ar" | "dit"): RepaCurves | null {
  checkInRunFids(runs, "curve", kind);
  const mine = runs.filter((r) => r.point.part === "curve" && r.point.kind === kind);
  const side = (repa: boolean) => mine.filter((r) => (r.point.repa !== null) === repa && r.points.length > 0);
  const b = side(false);
  const a = side(true);
  if (!b.length || !a.length) return null;
  const curve = (r: RepaRun) => r.points.map((p) => ({ x: p.flops, y: p.gfid }));
  const base = seedBand(b.map(curve), `${kind} gFID curves without REPA`);
  const repa = seedBand(a.map(curve), `${kind} gFID curves with REPA`);
  if (base.length !== repa.length) throw new Error(`REPA curves (${kind}): ${repa.length} evaluations with REPA, ${base.length} without; expected the same schedule at equal FLOPs (grid.ts equalFlopEvalSteps)`);
  const points = base.map((p, k) => ({
    x: p.x,
    xRepa: repa[k].x,
    cmp: compareSeeds(b.map((r) => r.points[k].gfid), a.map((r) => r.points[k].gfid), { higherIsBetter: false }),
  }));
  return { kind, base, repa, points, lastDoubling: { base: lastDoubling(base), repa: lastDoubling(repa) } };
}

/** gFID against training FLOPs of one generator: seed range (shaded) and mean, with (colour) and without REPA (grey, dashed). */
export function repaCurveFigure(c: RepaCurves, setup: Pick<RepaSetup, "main">): PlotlyFigure {
  const st = methodStyle(c.kind);
  const m = setup.main[c.kind];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const data: any[] = [];
  for (const [band, name, color, dash] of [
    [c.base, "no REPA (notebook 06's runs)", REFERENCE_COLOR, "dash"],
    [c.repa, `REPA ℓ = ${m.depth}, λ = ${m.weight}`, st.color, "solid"],
  ] as const) {
    const n = band[0].n;
    if (n > 1) {
      data.push({ x: band.map((p) => p.x), y: band.map((p) => p.max), type: "scatter", mode: "lines", line: { width: 0 }, showlegend: false, hoverinfo: "skip", legendgroup: name });
      data.push({ x: band.map((p) => p.x), y: band.map((p) => p.min), type: "scatter", mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: `${color}33`, name: `${name}: seed range`, legendgroup: name });
    }
    data.push({ x: band.map((p) => p.x), y: band.map((p) => p.mean), type: "scatter", mode: "lines+markers", name: `${name}${n > 1 ? `: mean of ${n} seeds` : ""}`, legendgroup: name, line: { color, dash } });
  }
  return {
    data,
    layout: { title: { text: `${st.name}: gFID vs training FLOPs, with and without REPA` }, height: 420, xaxis: { title: { text: "training FLOPs (log; the projector included)" }, type: "log" }, yaxis: { title: { text: "gFID (in-run, EMA; lower is better)" } } },
  };
}

/** The table of one generator's curves: per point, both sides' mean and min–max, Δ, the spread and the verdict. */
export function repaCurveRows(c: RepaCurves): Record<string, string | number>[] {
  return c.points.map((p) => ({
    "training FLOPs": p.x.toExponential(2),
    "REPA point / baseline's FLOPs": p.xRepa / p.x,
    "no REPA: mean": p.cmp.a.mean,
    "no REPA: min–max": `${f(p.cmp.a.min)}–${f(p.cmp.a.max)}`,
    "REPA: mean": p.cmp.b.mean,
    "REPA: min–max": `${f(p.cmp.b.min)}–${f(p.cmp.b.max)}`,
    "Δ (REPA − no REPA)": p.cmp.delta,
    "seed spread": p.cmp.spread ?? "unmeasured",
    verdict: p.cmp.verdict,
  }));
}

function ablationRuns(runs: RepaRun[]): RepaRun[] {
  checkInRunFids(runs, "ablation", "ar");
  return runs.filter((r) => r.point.part === "ablation" && r.point.kind === "ar");
}

/** Mean final gFID per (ℓ, λ) of the ablation's REPA runs, with the seeds behind each mean. */
export function settingMeans(runs: RepaRun[]): { layer: number; weight: number; values: number[] }[] {
  const by = new Map<string, { layer: number; weight: number; values: number[] }>();
  for (const r of ablationRuns(runs)) {
    const repa = r.point.repa;
    if (repa === null || !Number.isFinite(r.finalGfid)) continue;
    const key = `${repa.depth}|${repa.weight}`;
    if (!by.has(key)) by.set(key, { layer: repa.depth, weight: repa.weight, values: [] });
    by.get(key)!.values.push(r.finalGfid);
  }
  return [...by.values()].sort((a, b) => a.layer - b.layer || a.weight - b.weight);
}

function baselineValues(runs: RepaRun[]): number[] {
  return ablationRuns(runs).filter((r) => r.point.repa === null && Number.isFinite(r.finalGfid)).map((r) => r.finalGfid);
}

/** The ablation's seed spread of final gFIDs: the largest range over the settings trained at ≥ 2 seeds (null: none). */
export function gridSpread(runs: RepaRun[]): number | null {
  const groups = [baselineValues(runs), ...settingMeans(runs).map((s) => s.values)].filter((v) => v.length >= 2);
  return groups.length ? Math.max(...groups.map((v) => summarizeSeeds(v).range)) : null;
}

/** Depth × λ heat map of the ablation's mean final gFID; cells not in the grid are empty. */
export function depthWeightHeatmap(runs: RepaRun[], depth: number): PlotlyFigure {
  const s = settingMeans(runs);
  const layers = [...new Set(s.map((x) => x.layer))].sort((a, b) => a - b);
  const weights = [...new Set(s.map((x) => x.weight))].sort((a, b) => a - b);
  const z = layers.map((l) => weights.map((w) => {
    const c = s.find((x) => x.layer === l && x.weight === w);
    return c ? summarizeSeeds(c.values).mean : null;
  })); // prettier-ignore
  const base = baselineValues(runs);
  const baseText = base.length ? ` (no REPA: ${f(summarizeSeeds(base).mean)})` : "";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const heat: any = { type: "heatmap", x: weights.map(String), y: layers.map((l) => `ℓ=${l} (${f(l / depth, 2)}·depth)`), z, colorscale: "Viridis", reversescale: true, colorbar: { title: { text: "gFID" } }, text: z.map((row) => row.map((v) => (v === null ? "" : f(v)))), texttemplate: "%{text}" };
  return {
    data: [heat],
    layout: { title: { text: `LlamaGen-REPA: final gFID by alignment depth ℓ and weight λ${baseText}` }, height: 380, xaxis: { title: { text: "λ" }, type: "category" }, yaxis: { title: { text: "alignment depth" }, type: "category" } },
  };
}

/** The ablation table: one row per setting (and the baseline), Δ vs the baseline, judged against the spread. */
export function ablationRows(runs: RepaRun[]): Record<string, string | number>[] {
  const base = baselineValues(runs);
  const spread = gridSpread(runs);
  const rows: Record<string, string | number>[] = [];
  if (base.length) {
    const b = summarizeSeeds(base);
    rows.push({ setting: "no REPA", seeds: b.n, "final gFID (mean)": b.mean, "min–max": `${f(b.min)}–${f(b.max)}`, "Δ vs no REPA": 0, verdict: "baseline" });
  }
  for (const s of settingMeans(runs)) {
    const m = summarizeSeeds(s.values);
    const delta = base.length ? m.mean - summarizeSeeds(base).mean : NaN;
    rows.push({
      setting: `ℓ=${s.layer} λ=${s.weight}`,
      seeds: m.n,
      "final gFID (mean)": m.mean,
      "min–max": `${f(m.min)}–${f(m.max)}`,
      "Δ vs no REPA": delta,
      verdict: spread === null || !Number.isFinite(delta) ? "spread unmeasured" : Math.abs(delta) <= spread ? "within the seed spread" : delta < 0 ? "better" : "worse",
    });
  }
  return rows;
}

/** Final gFID / precision / recall per generator, with and without REPA: mean over seeds and the min–max. */
export function finalQualityRows(q: FinalQuality[]): Record<string, string | number>[] {
  const rows: Record<string, string | number>[] = [];
  for (const kind of ["ar", "dit"] as const) {
    for (const repa of [false, true]) {
      const mine = q.filter((x) => x.kind === kind && x.repa === repa);
      if (!mine.length) continue;
      if (!repa) checkComparableFids(q.filter((x) => x.kind === kind).map((x) => ({ label: `${x.label} (seed ${x.seed})`, manifest: x.manifest })), { what: `REPA final quality (${kind}): gFID with vs without REPA` });
      const row: Record<string, string | number> = { generator: methodStyle(kind).name, REPA: repa ? "yes" : "no", seeds: mine.length, samples: mine[0].n };
      for (const key of ["gfid", "precision", "recall"] as const) {
        const s = summarizeSeeds(mine.map((x) => x[key]), key);
        row[key === "gfid" ? "gFID" : key] = s.mean;
        row[`${key === "gfid" ? "gFID" : key} min–max`] = `${s.min.toFixed(3)}–${s.max.toFixed(3)}`;
      }
      rows.push(row);
    }
  }
  return rows;
}

/** CKNNA per layer of the named models (one line each). */
export function cknnaFigure(curves: { name: string; kind: "ar" | "dit"; repa: boolean; result: LayerCknna }[]): PlotlyFigure {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const data: any[] = curves.map((c) => ({
      x: c.result.layers,
      y: c.result.cknna,
      type: "scatter",
      mode: "lines+markers",
      name: c.name,
      line: { color: c.repa ? methodStyle(c.kind).color : REFERENCE_COLOR, dash: c.kind === "dit" ? "dot" : "solid" },
    }));
  return {
    data,
    layout: { title: { text: "CKNNA to the teacher per layer (0 = embedding output), on generated images" }, height: 400, xaxis: { title: { text: "layer (after block ℓ)" }, dtick: 1 }, yaxis: { title: { text: "CKNNA (k = 10)" } } },
  };
}

/** Inputs of the conclusion. */
export interface RepaFindings {
  /** The knobs the runs were planned with (the curves' REPA setting per generator, the preset). */
  setup: RepaSetup;
  runs: RepaRun[];
  teacher: TeacherQuality;
  /** CKNNA per layer by model: AR / DiT, with or without REPA, one entry per seed. */
  cknna: { kind: "ar" | "dit"; repa: boolean; seed: number; result: LayerCknna }[];
  /** Final gFID / precision / recall of the kept models (optional). */
  quality?: FinalQuality[];
}

function cknnaAt(findings: RepaFindings, kind: "ar" | "dit", repa: boolean, layer: number): number[] {
  return findings.cknna.filter((c) => c.kind === kind && c.repa === repa).map((c) => c.result.cknna[layer]);
}

const e = (x: number) => x.toExponential(1);

function movingText(d: LastDoubling): string {
  const change = `${d.change >= 0 ? "falls by" : "rises by"} ${f(Math.abs(d.change))}`;
  if (d.moving === null) return `${change} (one seed: no spread to compare with)`;
  return `${change} against a seed range of ${f(d.spreadAtEnd)} at the end: ${d.moving ? "still moving" : "flat by this rule"}`;
}

/** The curves' sentences of one generator. */
function curveSentences(c: RepaCurves, runs: RepaRun[], setup: RepaSetup): string[] {
  const name = methodStyle(c.kind).name;
  const m = setup.main[c.kind];
  const depth = runs.find((r) => r.point.part === "curve" && r.point.kind === c.kind)!.config.depth;
  const count = (v: string) => c.points.filter((p) => p.cmp.verdict === v).length;
  const better = c.points.filter((p) => p.cmp.verdict === "better");
  const worse = count("worse");
  const within = count("within the seed spread");
  const unmeasured = count("unmeasured");
  const K = c.points.length;
  const end = c.points[K - 1];
  const frac = (p: CurvePointComparison) => `${Math.round((100 * p.x) / end.x)} %`;
  const tally = unmeasured === K
    ? `with one seed on a side no point can be judged against a seed spread`
    : `REPA's mean gFID is lower beyond the seed spread at ${better.length} of ${K} points${better.length ? ` (at ${better.map(frac).join(", ")} of the budget)` : ""}, higher beyond it at ${worse}, within it at ${within}${unmeasured ? `, unjudged at ${unmeasured}` : ""}`; // prettier-ignore
  const paper = unmeasured === K ? "" : better.length > 0 && worse === 0 ? " Where it leads, this is the paper's finding (REPA speeds up training)." : better.length === 0 ? " The paper's finding (REPA speeds up training) does not show at this budget." : " The sign of the difference changes along the curve.";
  const judged = end.cmp.verdict === "unmeasured" ? "" : `: ${end.cmp.verdict}`;
  return [
    `**Does REPA speed up ${name} convergence here?** ${c.repa[0].n} seed${c.repa[0].n > 1 ? "s" : ""} with REPA (ℓ = ${m.depth} of ${depth} blocks, λ = ${m.weight}) against ${c.base[0].n} of notebook 06's runs without REPA, ` +
      `at equal training FLOPs at each of ${K} evaluation points (${e(c.points[0].x)} to ${e(end.x)} FLOPs): ${tally}. ` +
      `At the end of the budget: gFID ${f(end.cmp.b.mean)} with REPA vs ${f(end.cmp.a.mean)} without, Δ ${deltaText(end.cmp, 1)}${judged}.${paper}`,
    `**Is the ${name} curve still moving at the end?** Over the last doubling of compute the mean gFID without REPA ${movingText(c.lastDoubling.base)}; with REPA it ${movingText(c.lastDoubling.repa)}.`,
  ];
}

/** The ablation's sentences (LlamaGen-REPA's depth × λ), when its runs are loaded. */
function ablationSentences(runs: RepaRun[], setup: RepaSetup): string[] {
  const settings = settingMeans(runs);
  const base = baselineValues(runs);
  if (!settings.length || !base.length || !setup.ablation) return [];
  const spread = gridSpread(runs);
  const best = settings.reduce((a, b) => (summarizeSeeds(b.values).mean < summarizeSeeds(a.values).mean ? b : a));
  const bm = summarizeSeeds(best.values).mean;
  const delta = bm - summarizeSeeds(base).mean;
  const depth = runs.find((r) => r.point.part === "ablation")!.config.depth;
  const beyond = spread !== null && delta < -spread;
  const lines = [
    `**Which depth and λ win (ablation, ${depth}-block LlamaGen)?** The lowest final gFID is at ℓ = ${best.layer} (${f(best.layer / depth, 2)} of the depth), λ = ${best.weight}: ${f(bm)} ` +
      `(${best.values.length} seed${best.values.length > 1 ? "s" : ""}), Δ ${delta >= 0 ? "+" : "−"}${f(Math.abs(delta))} vs no REPA; ` +
      (spread === null ? "the seed spread is unmeasured, so no setting can be called a winner." : `the largest seed range among the settings with two or more seeds is ${f(spread)}, so this ${beyond ? "is beyond" : "is within"} the seed spread${beyond ? "" : ": no depth or λ is distinguishable from the others or from no REPA at this budget"}.`) +
      ` (Paper: ℓ ≈ depth/3, λ ≈ 2.)`,
  ];
  const atMain = settings.filter((s) => s.layer === setup.ablation!.main.depth);
  if (atMain.length > 1) {
    const bw = atMain.reduce((a, b) => (summarizeSeeds(b.values).mean < summarizeSeeds(a.values).mean ? b : a));
    lines.push(`At ℓ = ${setup.ablation.main.depth} the AR model's lowest final gFID is at λ = ${bw.weight} (of ${atMain.map((s) => s.weight).join(", ")}). The DiT's λ is not varied (${setup.main.dit.weight}, the paper's), so whether AR prefers a larger λ than DiT is not measured here.`);
  }
  return lines;
}

/** The computed conclusion (markdown). */
export function repaConclusion(x: RepaFindings): string {
  const { setup, runs, teacher } = x;
  const lines: string[] = [];
  lines.push(
    `**Teacher.** The self-supervised teacher's linear probe reaches ${(100 * teacher.probeAccuracy).toFixed(1)} % test accuracy ` +
      `(the supervised FID network: ${(100 * teacher.featureNetAccuracy).toFixed(1)} %), and its CKNNA to the FID network is ${teacher.cknnaToFeatureNet.toFixed(3)} ` +
      `on ${teacher.n} test images (1 = the same nearest-neighbour structure, 0 = none in common; no threshold between "different" and "close" is calibrated here).`,
  );
  for (const kind of ["ar", "dit"] as const) {
    const c = repaCurves(runs, kind);
    if (c) lines.push(...curveSentences(c, runs, setup));
  }
  lines.push(...ablationSentences(runs, setup));
  for (const kind of ["ar", "dit"] as const) {
    const q = x.quality ?? [];
    const a = q.filter((v) => v.kind === kind && !v.repa);
    const b = q.filter((v) => v.kind === kind && v.repa);
    if (!a.length || !b.length) continue;
    const p = compareSeeds(a.map((v) => v.precision), b.map((v) => v.precision), { higherIsBetter: true });
    const r = compareSeeds(a.map((v) => v.recall), b.map((v) => v.recall), { higherIsBetter: true });
    lines.push(
      `**Precision and recall (${methodStyle(kind).name}, ${a[0].n} fresh samples, k = 3).** With REPA precision is ${p.b.mean.toFixed(3)} vs ${p.a.mean.toFixed(3)} (Δ ${deltaText(p, 3)}: ${p.verdict}) ` +
        `and recall ${r.b.mean.toFixed(3)} vs ${r.a.mean.toFixed(3)} (Δ ${deltaText(r, 3)}: ${r.verdict}).`,
    );
  }
  for (const kind of ["ar", "dit"] as const) {
    const l = setup.main[kind].depth;
    const a = cknnaAt(x, kind, false, l);
    const b = cknnaAt(x, kind, true, l);
    if (!a.length || !b.length) continue;
    const c = compareSeeds(a, b, { higherIsBetter: true });
    const n = x.cknna[0].result.n;
    lines.push(
      `**Does alignment raise CKNNA at the aligned layer (${methodStyle(kind).name}, ℓ = ${l})?** CKNNA to the teacher on ${n} generated images: ${c.b.mean.toFixed(3)} with REPA vs ${c.a.mean.toFixed(3)} without, ` +
        `Δ ${deltaText(c, 3)}: ${c.verdict === "better" ? "alignment raises it beyond the seed spread, as the paper reports" : c.verdict === "unmeasured" ? "one seed each, so the spread is unmeasured" : `REPA's effect on the representation is ${c.verdict === "worse" ? "negative" : "not resolved"} at this scale`}.`,
    );
  }
  if (setup.preset === "tiny") lines.push("_Preset `tiny`: a smoke run of seconds; these numbers carry no meaning._");
  return lines.join("\n\n");
}
