/**
 * Notebook 07's sections: the teacher's quality, the run table, gFID vs training compute with and without REPA for
 * each generator, the depth × λ heat map and ablation table of LlamaGen-REPA, CKNNA per layer, and the computed
 * conclusions, every difference judged against the measured seed spread (experiments/seed-spread.ts).
 *
 *   Δ(setting)  = mean final gFID(setting) − mean final gFID(no REPA)            (negative = REPA helps)
 *   spread      = max(range over seeds) of the settings trained at ≥ 2 seeds (the baseline and the headline setting)
 *   a setting trained at one seed "beats the baseline" only when Δ < −spread
 */
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle, REFERENCE_COLOR } from "../../view/palette";
import { compareSeeds, deltaText, summarizeSeeds, verdictPhrase, type SeedComparison } from "../seed-spread";
import { evalRows, runSummary } from "../run-summary";
import type { PresetName } from "../../train/config";
import type { RepaPoint, RepaSetup } from "./grid";
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

/** One run-summary row per run of the grid. */
export function repaRunRows(grid: RepaRun[]): Record<string, string | number>[] {
  return grid.map((r) =>
    runSummary(r, { run: r.label, ℓ: r.point.repa?.depth ?? "–", λ: r.point.repa?.weight ?? "–" }, { "final gFID": r.finalGfid, "D × depth": `${r.config.dim} × ${r.config.depth}`, "GFLOP/step": r.flopsPerStep / 1e9 }),
  );
}

function isMain(main: RepaSetup["main"], p: RepaPoint): boolean {
  const m = main[p.kind];
  return p.repa !== null && p.repa.depth === m.depth && p.repa.weight === m.weight;
}

/** Whether a point is the one without REPA (depth null) or the one at (depth, weight). */
function pointAt(p: RepaPoint, depth: number | null, weight: number | null): boolean {
  return p.repa === null ? depth === null : p.repa.depth === depth && p.repa.weight === weight;
}

/** The in-run gFIDs of one generator's runs are compared with each other only when measured alike (seeds may differ). */
function checkInRunFids(grid: RepaRun[], kind: "ar" | "dit"): void {
  const runs = grid.filter((r) => r.point.kind === kind);
  checkComparableFids(runs.map((r) => ({ label: r.label, manifest: r.fidManifests.gfid })), { what: `REPA (${kind}): in-run gFID with vs without REPA` });
}

/** gFID of each run's in-run evaluations against its cumulative training FLOPs, for one generator. */
export function gfidVsComputeFigure(grid: RepaRun[], kind: "ar" | "dit", setup: Pick<RepaSetup, "main">): PlotlyFigure {
  checkInRunFids(grid, kind);
  const color = methodStyle(kind).color;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const data: any[] = grid
    .filter((r) => r.point.kind === kind)
    .map((r) => {
      const rows = evalRows(r);
      const base = r.point.repa === null;
      const main = !base && isMain(setup.main, r.point);
      return {
        x: rows.map((e) => Number(e.step) * r.flopsPerStep),
        y: rows.map((e) => Number(e.gfid)),
        type: "scatter",
        mode: "lines+markers",
        name: r.label,
        opacity: base || main ? 1 : 0.45,
        line: { color: base ? REFERENCE_COLOR : color, dash: base ? "dash" : "solid", width: base || main ? 2.5 : 1 },
      };
    });
  return {
    data,
    layout: { title: { text: `${methodStyle(kind).name}: gFID vs training compute, with and without REPA` }, height: 400, xaxis: { title: { text: "training FLOPs" }, type: "log" }, yaxis: { title: { text: "gFID (in-run, EMA)" } } },
  };
}

/** Mean final gFID per (ℓ, λ) of the AR REPA runs, with the seeds behind each mean. */
export function settingMeans(grid: RepaRun[], kind: "ar" | "dit"): { layer: number; weight: number; values: number[] }[] {
  checkInRunFids(grid, kind);
  const by = new Map<string, { layer: number; weight: number; values: number[] }>();
  for (const r of grid) {
    const repa = r.point.repa;
    if (r.point.kind !== kind || repa === null || !Number.isFinite(r.finalGfid)) continue;
    const key = `${repa.depth}|${repa.weight}`;
    if (!by.has(key)) by.set(key, { layer: repa.depth, weight: repa.weight, values: [] });
    by.get(key)!.values.push(r.finalGfid);
  }
  return [...by.values()].sort((a, b) => a.layer - b.layer || a.weight - b.weight);
}

function baselineValues(grid: RepaRun[], kind: "ar" | "dit"): number[] {
  checkInRunFids(grid, kind);
  return grid.filter((r) => r.point.kind === kind && r.point.repa === null && Number.isFinite(r.finalGfid)).map((r) => r.finalGfid);
}

/** The seed spread of the grid's final gFIDs: the largest range over the settings trained at ≥ 2 seeds (null: none). */
export function gridSpread(grid: RepaRun[], kind: "ar" | "dit"): number | null {
  const groups = [baselineValues(grid, kind), ...settingMeans(grid, kind).map((s) => s.values)].filter((v) => v.length >= 2);
  return groups.length ? Math.max(...groups.map((v) => summarizeSeeds(v).range)) : null;
}

/** Depth × λ heat map of mean final gFID (AR); cells not in the grid are empty. */
export function depthWeightHeatmap(grid: RepaRun[], depth: number): PlotlyFigure {
  const s = settingMeans(grid, "ar");
  const layers = [...new Set(s.map((x) => x.layer))].sort((a, b) => a - b);
  const weights = [...new Set(s.map((x) => x.weight))].sort((a, b) => a - b);
  const z = layers.map((l) => weights.map((w) => {
    const c = s.find((x) => x.layer === l && x.weight === w);
    return c ? summarizeSeeds(c.values).mean : null;
  })); // prettier-ignore
  const base = baselineValues(grid, "ar");
  const baseText = base.length ? ` (no REPA: ${f(summarizeSeeds(base).mean)})` : "";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const heat: any = { type: "heatmap", x: weights.map(String), y: layers.map((l) => `ℓ=${l} (${f(l / depth, 2)}·depth)`), z, colorscale: "Viridis", reversescale: true, colorbar: { title: { text: "gFID" } }, text: z.map((row) => row.map((v) => (v === null ? "" : f(v)))), texttemplate: "%{text}" };
  return {
    data: [heat],
    layout: { title: { text: `LlamaGen-REPA: final gFID by alignment depth ℓ and weight λ${baseText}` }, height: 380, xaxis: { title: { text: "λ" }, type: "category" }, yaxis: { title: { text: "alignment depth" }, type: "category" } },
  };
}

/** The ablation table: one row per AR setting (and the baseline), Δ vs the baseline, judged against the spread. */
export function ablationRows(grid: RepaRun[], kind: "ar" | "dit" = "ar"): Record<string, string | number>[] {
  const base = baselineValues(grid, kind);
  const spread = gridSpread(grid, kind);
  const rows: Record<string, string | number>[] = [];
  if (base.length) {
    const b = summarizeSeeds(base);
    rows.push({ setting: "no REPA", seeds: b.n, "final gFID (mean)": b.mean, "min–max": `${f(b.min)}–${f(b.max)}`, "Δ vs no REPA": 0, verdict: "baseline" });
  }
  for (const s of settingMeans(grid, kind)) {
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
  /** The knobs the grid was planned with (the headline setting per generator, the preset). */
  setup: RepaSetup;
  grid: RepaRun[];
  teacher: TeacherQuality;
  /** CKNNA per layer by model: AR / DiT, with or without REPA, one entry per seed. */
  cknna: { kind: "ar" | "dit"; repa: boolean; seed: number; result: LayerCknna }[];
  /** Final gFID / precision / recall of the kept models (optional). */
  quality?: FinalQuality[];
}

function compareFinal(grid: RepaRun[], kind: "ar" | "dit", layer: number, weight: number): SeedComparison | null {
  const base = baselineValues(grid, kind);
  const mine = grid.filter((r) => r.point.kind === kind && pointAt(r.point, layer, weight) && Number.isFinite(r.finalGfid)).map((r) => r.finalGfid);
  return base.length && mine.length ? compareSeeds(base, mine, { higherIsBetter: false }) : null;
}

/** gFID at each matching run's first in-run evaluation, and that evaluation's share of the run's steps (largest over the runs). */
function firstEvalValues(grid: RepaRun[], kind: "ar" | "dit", layer: number | null, weight: number | null): { values: number[]; share: number } {
  checkInRunFids(grid, kind);
  const firsts = grid
    .filter((r) => r.point.kind === kind && pointAt(r.point, layer, weight))
    .map((r) => ({ rows: evalRows(r), steps: r.config.steps }))
    .filter((x) => x.rows.length > 1);
  return {
    values: firsts.map((x) => Number(x.rows[0].gfid)),
    share: firsts.reduce((m, x) => Math.max(m, Number(x.rows[0].step) / x.steps), 0),
  };
}

function cknnaAt(findings: RepaFindings, kind: "ar" | "dit", repa: boolean, layer: number): number[] {
  return findings.cknna.filter((c) => c.kind === kind && c.repa === repa).map((c) => c.result.cknna[layer]);
}

function pctOf(x: number): string {
  return `${Math.round(100 * x)} %`;
}

/** The computed conclusion (markdown). */
export function repaConclusion(x: RepaFindings): string {
  const { setup, grid, teacher } = x;
  const { preset, main } = setup;
  const lines: string[] = [];
  lines.push(
    `**Teacher.** The self-supervised teacher's linear probe reaches ${(100 * teacher.probeAccuracy).toFixed(1)} % test accuracy ` +
      `(the supervised FID network: ${(100 * teacher.featureNetAccuracy).toFixed(1)} %), and its CKNNA to the FID network is ${teacher.cknnaToFeatureNet.toFixed(3)} ` +
      `on ${teacher.n} test images (1 = the same nearest-neighbour structure, 0 = none in common; no threshold between "different" and "close" is calibrated here).`,
  );
  const ar = compareFinal(grid, "ar", main.ar.depth, main.ar.weight);
  if (ar) {
    const early = [firstEvalValues(grid, "ar", null, null), firstEvalValues(grid, "ar", main.ar.depth, main.ar.weight)];
    const earlyText = early[0].values.length && early[1].values.length ? (() => {
      const c = compareSeeds(early[0].values, early[1].values, { higherIsBetter: false });
      return ` At the first evaluation (${pctOf(Math.max(early[0].share, early[1].share))} of the training steps): Δ gFID ${deltaText(c, 1)}${c.verdict === "unmeasured" ? "" : `, ${c.verdict}`}.`;
    })() : ""; // prettier-ignore
    const depth = grid.find((r) => r.point.kind === "ar")!.config.depth;
    const judged = ar.verdict === "unmeasured" ? "ends at" : `ends ${verdictPhrase(ar.verdict)} the run without REPA:`;
    lines.push(
      `**Does REPA speed up AR convergence here?** At equal training FLOPs, LlamaGen-REPA (ℓ = ${main.ar.depth} of ${depth}, λ = ${main.ar.weight}) ${judged} ` +
        `final gFID ${f(ar.b.mean)} vs ${f(ar.a.mean)} without REPA, Δ ${deltaText(ar, 1)}.${earlyText}` +
        (ar.verdict === "better" ? " This is the paper's finding." : ar.verdict === "unmeasured" ? " With one seed per side this cannot be judged." : " The paper's finding (REPA speeds up AR training) does not show at this scale."),
    );
  }
  const settings = settingMeans(grid, "ar");
  const base = baselineValues(grid, "ar");
  const spread = gridSpread(grid, "ar");
  if (settings.length && base.length) {
    const best = settings.reduce((a, b) => (summarizeSeeds(b.values).mean < summarizeSeeds(a.values).mean ? b : a));
    const bm = summarizeSeeds(best.values).mean;
    const delta = bm - summarizeSeeds(base).mean;
    const depth = grid.find((r) => r.point.kind === "ar")!.config.depth;
    const beyond = spread !== null && delta < -spread;
    lines.push(
      `**Which depth and λ win?** The lowest final gFID is at ℓ = ${best.layer} (${f(best.layer / depth, 2)} of the depth), λ = ${best.weight}: ${f(bm)} ` +
        `(${best.values.length} seed${best.values.length > 1 ? "s" : ""}), Δ ${delta >= 0 ? "+" : "−"}${f(Math.abs(delta))} vs no REPA; ` +
        (spread === null ? "the seed spread is unmeasured, so no setting can be called a winner." : `the largest seed range among the settings with two or more seeds is ${f(spread)}, so this ${beyond ? "is beyond" : "is within"} the seed spread${beyond ? "" : ": no depth or λ is distinguishable from the others or from no REPA at this budget"}.`) +
        ` (Paper: ℓ ≈ depth/3, λ ≈ 2.)`,
    );
    const atMain = settings.filter((s) => s.layer === main.ar.depth);
    if (atMain.length > 1) {
      const bw = atMain.reduce((a, b) => (summarizeSeeds(b.values).mean < summarizeSeeds(a.values).mean ? b : a));
      const dit = compareFinal(grid, "dit", main.dit.depth, main.dit.weight);
      lines.push(
        `**Does AR prefer a larger λ than DiT?** At ℓ = ${main.ar.depth} the AR model's best λ is ${bw.weight} (of ${atMain.map((s) => s.weight).join(", ")}). ` +
          `The DiT was trained at λ = ${main.dit.weight} only (the paper's value), so its preferred λ is not measured here; with REPA at λ = ${main.dit.weight} it ends ` +
          (dit ? `${dit.verdict === "unmeasured" ? "at" : verdictPhrase(dit.verdict) + " the DiT without REPA:"} gFID ${f(dit.b.mean)} vs ${f(dit.a.mean)}${dit.verdict === "unmeasured" ? " without REPA" : ""}, Δ ${deltaText(dit, 1)}.` : "(no DiT runs)."),
      );
    }
  }
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
    const l = main[kind].depth;
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
  if (preset === "tiny") lines.push("_Preset `tiny`: a smoke run of seconds; these numbers carry no meaning._");
  return lines.join("\n\n");
}
