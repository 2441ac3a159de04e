/**
 * Notebook 05's sections from the bits-grid results (run.ts), all pure: the run table, the reconstruction and
 * generation tables, reconstruction vs bits (one line per bound, seed error bars), gFID vs bits (AR and DiT, with and
 * without CFG, knees marked), the reconstruction-vs-generation trade-off, the per-L reconstructions, and the computed
 * conclusions (every number from the results; each difference judged against the measured seed spread or sampling
 * noise).
 *
 *   show(reconstructionVsBitsFigure(res), { name: "05-recon-vs-bits" }); markdown(bitsConclusion(res))
 */
import type * as Plotly from "plotly.js";
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle, REFERENCE_COLOR, type MethodKey } from "../../view/palette";
import { runSummary } from "../run-summary";
import { alsoInColumn, otherPlannersOfRun } from "../shared-runs";
import { deltaText, verdictPhrase } from "../seed-spread";
import { paperScaleText } from "../paper-compute";
import { kneePhrase, type Knee } from "./knee";
import {
  RECON_METRICS, bitsTrend, boundComparisons, budgetChecks, generatorCurve, levelsOf, seedSummaryByLevel, spearman,
  type GeneratorCurve, type GeneratorPoint, type LevelSummary, type ReconKey,
} from "./aggregate";
import type { BitsBound } from "./grid";
import type { BitsGeneratorResult, BitsResults, BitsTokenizerResult, GeneratorKind } from "./run";

/** The paper's bits-per-dimension optimum (spec §9 E3): L = 17, log₂ 17 ≈ 4.09 bits. */
export const PAPER_OPTIMUM_LEVELS = 17;

/** "L=17 (4.09 bits)". */
export function levelLabel(L: number): string {
  return `L=${L} (${Math.log2(L).toFixed(2)} bits)`;
}

const fixed = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

/** The x axis of every bits figure: one tick per level, "L=17 / 4.09". */
function bitsAxis(levels: number[]): Record<string, unknown> {
  return { title: { text: "bits per dimension (log₂ L)" }, tickvals: levels.map((L) => Math.log2(L)), ticktext: levels.map((L) => `${Math.log2(L).toFixed(2)}<br>L=${L}`) };
}

function allLevels(res: BitsResults): number[] {
  return [...new Set(res.tokenizers.map((t) => t.L))].sort((a, b) => a - b);
}

// ------------------------------------------------------------------------------------------------- tables

/** One row per run (tokenizers, then generators): what it is, run folder, reused, budget and speed. */
export function bitsRunRows(res: BitsResults): Record<string, string | number>[] {
  const also = (run: { runDir: string }) => alsoInColumn(run.runDir, res.setup.preset, "05");
  return [
    ...res.tokenizers.map((t) => runSummary(t.run, { kind: "tokenizer", L: t.L, bits: t.bits, bound: methodStyle(t.bound).name, seed: t.seed }, also(t.run))),
    ...res.halfBudget.map((t) => runSummary(t.run, { kind: "tokenizer (half budget)", L: t.L, bits: t.bits, bound: methodStyle(t.bound).name, seed: t.seed })),
    ...res.generators.map((g) => runSummary(g.run, { kind: methodStyle(g.kind).name, L: g.L, bits: g.bits, bound: methodStyle("ifsq").name, seed: g.seed }, { tokenizer: g.tokenizerRun })),
  ];
}

/** One row per tokenizer: the reconstruction and code statistics on the test images. */
export function tokenizerMetricRows(res: BitsResults): Record<string, string | number>[] {
  return res.tokenizers.map((t) => ({
    L: t.L, bits: t.bits, bound: methodStyle(t.bound).name, seed: t.seed,
    "PSNR (dB)": t.row.psnr, SSIM: t.row.ssim, rFID: t.row.rfid,
    "entropy / channel (bits)": t.row.entropy, utilisation: t.row.utilisation, "end-code mass": t.row.endBinMass,
    "joint-code perplexity": t.row.perplexity, "codes used": t.usedCodes, "codebook K": t.codebookSize,
    "entropy per channel": t.entropyPerChannel.map((h) => h.toFixed(2)).join(" / "),
  }));
}

/** One row per generator: gFID, its sampling noise and precision/recall, without and with CFG. */
export function generatorMetricRows(res: BitsResults): Record<string, string | number>[] {
  return res.generators.map((g) => {
    const u = g.unguided;
    const c = g.guided;
    return {
      generator: methodStyle(g.kind).name, L: g.L, bits: g.bits, seed: g.seed, tokens: g.detail, steps: g.run.config.steps, "train GFLOP": g.run.flops / 1e9,
      gFID: u.gfid, "noise (half gap)": Math.abs(u.halves[0] - u.halves[1]), precision: u.precision, recall: u.recall,
      [`gFID CFG ${c.cfgScale}`]: c.gfid, "noise CFG": Math.abs(c.halves[0] - c.halves[1]), "precision CFG": c.precision, "recall CFG": c.recall,
      "samples/s": u.samplesPerSec,
    };
  });
}

/** The generator curve points (mean over seeds) of a kind, by L; empty without runs of that kind. */
function pointsByLevel(res: BitsResults, kind: GeneratorKind, guided: boolean): Map<number, GeneratorPoint> {
  if (!res.generators.some((g) => g.kind === kind)) return new Map();
  return new Map(generatorCurve(res.generators, kind, guided).points.map((p) => [p.L, p]));
}

/** A generator point's tolerance: the larger of its training-seed range and its half-sample gap. */
const pointNoise = (p: GeneratorPoint) => Math.max(p.noise, p.seedRange);

/**
 * The summary by L: reconstruction over the seeds (mean and spread = max − min) for each bound, and gFID (no CFG,
 * mean over the generator seeds ± half the larger of their range and the half-sample gap) of the AR model and the DiT
 * on the seed-0 iFSQ tokenizer.
 */
export function bitsSummaryRows(res: BitsResults): Record<string, string | number>[] {
  const by = (bound: BitsBound, key: ReconKey) => new Map(seedSummaryByLevel(res.tokenizers, bound, key).map((p) => [p.L, p.summary]));
  const psnrI = by("ifsq", "psnr");
  const rfidI = by("ifsq", "rfid");
  const psnrT = by("tanh", "psnr");
  const rfidT = by("tanh", "rfid");
  const pm = (s: { mean: number; range: number } | undefined, d: number) => (s ? `${s.mean.toFixed(d)} ± ${(s.range / 2).toFixed(d)}` : "–");
  const gm = (p: GeneratorPoint | undefined) => (p ? `${p.gfid.toFixed(1)} ± ${(pointNoise(p) / 2).toFixed(1)}` : "–");
  // each curve once (not once per table cell)
  const [ar, arCfg, dit, ditCfg] = [pointsByLevel(res, "ar", false), pointsByLevel(res, "ar", true), pointsByLevel(res, "dit", false), pointsByLevel(res, "dit", true)];
  return allLevels(res).map((L) => ({
    L, bits: Math.log2(L),
    "iFSQ PSNR (dB)": pm(psnrI.get(L), 2), "iFSQ rFID": pm(rfidI.get(L), 2),
    "FSQ PSNR (dB)": pm(psnrT.get(L), 2), "FSQ rFID": pm(rfidT.get(L), 2),
    "AR gFID": gm(ar.get(L)), [`AR gFID CFG ${res.setup.cfgScale}`]: gm(arCfg.get(L)),
    "DiT gFID": gm(dit.get(L)), [`DiT gFID CFG ${res.setup.cfgScale}`]: gm(ditCfg.get(L)),
  }));
}

// ------------------------------------------------------------------------------------------------ figures

/** Mean with asymmetric error bars to the seed min and max, one trace per bound, on one subplot. */
function seedTraces(res: BitsResults, key: ReconKey, axis: "" | "2"): Partial<Plotly.Data>[] {
  return (["tanh", "ifsq"] as const)
    .filter((b) => levelsOf(res.tokenizers, b).length > 0)
    .map((b) => {
      const pts = seedSummaryByLevel(res.tokenizers, b, key);
      const st = methodStyle(b, { alpha: res.setup.grid.alpha });
      return {
        x: pts.map((p) => p.bits), y: pts.map((p) => p.summary.mean), type: "scatter", mode: "lines+markers", name: st.name, legendgroup: b, showlegend: axis === "",
        line: { color: st.color }, marker: { color: st.color },
        error_y: { type: "data", symmetric: false, array: pts.map((p) => p.summary.max - p.summary.mean), arrayminus: pts.map((p) => p.summary.mean - p.summary.min), color: st.color },
        xaxis: `x${axis}`, yaxis: `y${axis}`,
      } as Partial<Plotly.Data>;
    });
}

/** PSNR (left) and rFID (right) vs bits per dimension, one line per bound, error bars = seed min…max. */
export function reconstructionVsBitsFigure(res: BitsResults): PlotlyFigure {
  const axis = bitsAxis(allLevels(res));
  const seeds = res.setup.grid.seeds.length;
  return {
    data: [...seedTraces(res, "psnr", ""), ...seedTraces(res, "rfid", "2")],
    layout: {
      title: { text: `Reconstruction vs bits per dimension (mean over ${seeds} seeds; bars: min…max)` }, height: 400,
      grid: { rows: 1, columns: 2, pattern: "independent" },
      xaxis: axis, xaxis2: axis,
      yaxis: { title: { text: "PSNR (dB, higher is better)" } }, yaxis2: { title: { text: "rFID (lower is better)" } },
    } as Partial<Plotly.Layout>,
  };
}

function kneeMarked(k: Knee): boolean {
  return k.kind === "optimum" || k.kind === "saturation";
}

/** gFID vs bits of both generators, without CFG (solid) and with (dashed); bars: half-sample gap; stars: knees. */
export function gfidVsBitsFigure(res: BitsResults): PlotlyFigure {
  const data: Partial<Plotly.Data>[] = [];
  for (const kind of ["ar", "dit"] as const) {
    if (!res.generators.some((g) => g.kind === kind)) continue;
    const st = methodStyle(kind);
    for (const guided of [false, true]) {
      const c = generatorCurve(res.generators, kind, guided);
      const name = `${st.name}${guided ? `, CFG ${c.cfgScale}` : ", no CFG"}`;
      data.push({
        x: c.points.map((p) => p.bits), y: c.points.map((p) => p.gfid), type: "scatter", mode: "lines+markers", name,
        line: { color: st.color, dash: guided ? "dash" : "solid" }, marker: { color: st.color },
        error_y: { type: "data", array: c.points.map((p) => pointNoise(p) / 2), color: st.color, thickness: 1 },
      } as Partial<Plotly.Data>);
      if (kneeMarked(c.knee)) {
        const p = c.points[c.knee.index!];
        data.push({ x: [p.bits], y: [p.gfid], type: "scatter", mode: "markers", name: `knee: ${name} (${c.knee.kind})`, marker: { symbol: "star", size: 16, color: st.color, line: { color: "black", width: 1 } } } as Partial<Plotly.Data>);
      }
    }
  }
  const paperX = Math.log2(PAPER_OPTIMUM_LEVELS);
  return {
    data,
    layout: {
      title: { text: "gFID vs bits per dimension (mean over generator seeds; bars: ± half the larger of the seed range and the half-sample gap; ★ knee)" }, height: 420,
      xaxis: bitsAxis(allLevels(res)), yaxis: { title: { text: "gFID (lower is better)" } },
      shapes: [{ type: "line", xref: "x", yref: "paper", x0: paperX, x1: paperX, y0: 0, y1: 1, line: { color: REFERENCE_COLOR, dash: "dot", width: 1 } }],
      annotations: [{ x: paperX, y: 1, xref: "x", yref: "paper", text: "paper's optimum (≈ 4 bits)", showarrow: false, yanchor: "bottom", font: { size: 10, color: REFERENCE_COLOR } }],
    } as Partial<Plotly.Layout>,
  };
}

/** The seed-0 iFSQ tokenizer of L: the one both generators of that L train on. */
function generatorTokenizer(res: BitsResults, L: number): BitsTokenizerResult | undefined {
  return res.tokenizers.find((t) => t.bound === "ifsq" && t.L === L && t.seed === res.setup.grid.generatorSeed);
}

/** Reconstruction (PSNR of the generators' tokenizer) against generation (gFID, no CFG, mean over seeds), one point per L. */
export function tradeoffFigure(res: BitsResults): PlotlyFigure {
  const data: Partial<Plotly.Data>[] = [];
  for (const kind of ["ar", "dit"] as const) {
    if (!res.generators.some((g) => g.kind === kind)) continue;
    const gens = generatorCurve(res.generators, kind, false).points;
    const st = methodStyle(kind);
    data.push({
      x: gens.map((g) => generatorTokenizer(res, g.L)?.row.psnr ?? NaN), y: gens.map((g) => g.gfid), type: "scatter", mode: "text+lines+markers", name: st.name,
      text: gens.map((g) => `L=${g.L} · ${g.bits.toFixed(2)} b`), textposition: "top center", line: { color: st.color }, marker: { color: st.color, size: 9 },
    } as Partial<Plotly.Data>);
  }
  return {
    data,
    layout: {
      title: { text: "Trade-off: reconstruction (tokenizer PSNR) vs generation (gFID, no CFG), labelled by bits" }, height: 420,
      xaxis: { title: { text: `PSNR of the seed-${res.setup.grid.generatorSeed} iFSQ tokenizer (dB, better →)` } }, yaxis: { title: { text: "gFID (lower is better)" } },
    } as Partial<Plotly.Layout>,
  };
}

/** Originals, then the seed-0 reconstructions of every iFSQ L, then of every tanh L; one row each. */
export function reconstructionGrid(res: BitsResults): { images: Float32Array; shape: [number, number, number, number]; cols: number; caption: string } {
  const [n, h, w, c] = res.exampleShape;
  const per = n * h * w * c;
  const rows: { label: string; images: Float32Array }[] = [{ label: "originals", images: res.originals }];
  for (const bound of ["ifsq", "tanh"] as const) {
    for (const L of levelsOf(res.tokenizers, bound)) {
      const t = res.tokenizers.find((r) => r.bound === bound && r.L === L && r.seed === res.setup.grid.generatorSeed) ?? res.tokenizers.find((r) => r.bound === bound && r.L === L)!;
      rows.push({ label: `${methodStyle(bound).name} L=${L} (${t.row.psnr.toFixed(1)} dB)`, images: t.reconstructions });
    }
  }
  const images = new Float32Array(rows.length * per);
  rows.forEach((r, i) => images.set(r.images.subarray(0, per), i * per));
  return { images, shape: [rows.length * n, h, w, c], cols: n, caption: `Rows: ${rows.map((r, i) => `${i + 1}. ${r.label}`).join("; ")}. Seed ${res.setup.grid.generatorSeed}, first ${n} test images.` };
}

// -------------------------------------------------------------------------------------------- conclusions

const signed = (x: number, d: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(d)}`;

/** The reconstruction trend of iFSQ with bits for one metric: the values at the ends, monotone, diminishing returns. */
export function reconTrendText(pts: LevelSummary[], key: ReconKey): string {
  const m = RECON_METRICS[key];
  const t = bitsTrend(pts, m.higherIsBetter);
  const a = pts[0];
  const b = pts[pts.length - 1];
  const unit = key === "psnr" ? " dB" : "";
  const vals = pts.map((p) => `${p.summary.mean.toFixed(m.digits)} (L=${p.L})`).join(", ");
  const mono = t.monotone
    ? "monotonically (every step to more bits is better, or worse by no more than the seed spread)"
    : `not monotonically: worse beyond the seed spread from ${t.violations.map(([x, y]) => `L=${x} to L=${y}`).join(" and ")}`;
  const dim = t.slopes.length < 2
    ? ""
    : t.diminishing
      ? `, with diminishing returns: ${signed(t.slopes[0] * (m.higherIsBetter ? 1 : -1), m.digits)}${unit} per added bit from L=${a.L} to L=${pts[1].L}, ${signed(t.slopes[t.slopes.length - 1] * (m.higherIsBetter ? 1 : -1), m.digits)}${unit} per bit from L=${pts[pts.length - 2].L} to L=${b.L}`
      : `, without diminishing returns (${signed(t.slopes[0] * (m.higherIsBetter ? 1 : -1), m.digits)}${unit} per bit at the low end, ${signed(t.slopes[t.slopes.length - 1] * (m.higherIsBetter ? 1 : -1), m.digits)}${unit} per bit at the high end)`;
  if (!t.significant) {
    const spread = Math.max(a.summary.range, b.summary.range);
    return `${m.label}: ${vals}; from L=${a.L} to L=${b.L} it changes by ${signed(b.summary.mean - a.summary.mean, m.digits)}${unit}, within the seed spread of the ends (${spread.toFixed(m.digits)}${unit}): **flat at this scale**: the number of levels made no difference beyond the seed spread (whether a longer training budget would change that is not measured here).`;
  }
  return `${m.label}: ${vals}; it ${m.higherIsBetter ? "rises" : "falls"} ${mono}${dim}.`;
}

/** The budget check: how much PSNR moved over the last doubling of the tokenizers' steps, against the seed spread. */
export function budgetCheckText(res: BitsResults): string {
  if (res.halfBudget.length === 0) return "no half-budget tokenizer in this grid (halfBudgetLevels = []): how much the reconstruction still moves with more steps is not measured.";
  const checks = budgetChecks(res.tokenizers, res.halfBudget, "psnr");
  const parts = checks.map((c) => `L=${c.L}: ${c.half.toFixed(2)} dB at ${c.halfSteps} steps → ${c.full.toFixed(2)} dB at ${c.fullSteps} (${signed(c.change, 2)} dB; seed spread ${c.seedRange.toFixed(2)} dB)`);
  const moving = checks.filter((c) => !c.settled);
  const verdict = moving.length === 0
    ? "the last doubling of steps changed PSNR by no more than the seed spread: the tokenizers are trained to this budget's plateau."
    : `**still moving beyond the seed spread** at ${moving.map((c) => `L=${c.L}`).join(", ")}: the reconstruction numbers above are budget-limited, and more steps would raise them.`;
  const rise = checks.length >= 2 ? ` The gap between L=${checks[0].L} and L=${checks[checks.length - 1].L} was ${(checks[checks.length - 1].half - checks[0].half).toFixed(2)} dB at half the steps and ${(checks[checks.length - 1].full - checks[0].full).toFixed(2)} dB at the full budget.` : "";
  return `${parts.join("; ")}: ${verdict}${rise}`;
}

/** iFSQ against FSQ at each L with both bounds, on one metric: the verdicts grouped. */
export function boundVerdictText(res: BitsResults, key: ReconKey): string {
  const m = RECON_METRICS[key];
  const cmps = boundComparisons(res.tokenizers, key);
  if (cmps.length === 0) return `${m.label}: no L has both bounds.`;
  const parts = cmps.map((c) => `L=${c.L}: Δ ${deltaText(c.cmp, m.digits)} → iFSQ ${verdictPhrase(c.cmp.verdict)} FSQ`);
  const at = (v: string) => cmps.filter((c) => c.cmp.verdict === v).map((c) => `L=${c.L}`);
  const better = at("better");
  const worse = at("worse");
  const within = at("within the seed spread");
  const summary = worse.length === 0 && within.length === 0 && better.length > 0
    ? `iFSQ ≥ FSQ beyond the seed spread at every compared L`
    : [better.length ? `better beyond the spread at ${better.join(", ")}` : "", within.length ? `within the spread at ${within.join(", ")}` : "", worse.length ? `worse beyond the spread at ${worse.join(", ")}` : "", at("unmeasured").length ? `unmeasured (one seed) at ${at("unmeasured").join(", ")}` : ""].filter(Boolean).join("; ");
  return `${m.label} (iFSQ − FSQ, ${m.higherIsBetter ? "higher" : "lower"} is better): ${parts.join("; ")}. Overall: ${summary}.`;
}

/** Where the generation optimum of one curve lies, against the sampling noise. */
export function generationText(c: GeneratorCurve): string {
  const name = `${methodStyle(c.kind as MethodKey).name}${c.guided ? ` with CFG ${c.cfgScale}` : " without CFG"}`;
  const best = c.points[c.knee.best];
  const vals = c.points.map((p) => `${p.gfid.toFixed(1)} (L=${p.L})`).join(", ");
  const seeds = Math.max(...c.points.map((p) => p.seeds.length));
  return `${name}: gFID ${vals} (mean over ${seeds} seed${seeds > 1 ? "s" : ""}); best ${best.gfid.toFixed(1)} at ${levelLabel(best.L)}; noise (largest seed range or half-sample gap) ${c.tolerance.toFixed(1)}: ${kneePhrase(c.knee, (i) => levelLabel(c.points[i].L))}.`;
}

/** Does the paper's ≈ 4-bit optimum show on a curve? Yes when its knee (optimum or saturation) is at L = 17, or an optimum within the noise of L = 17. */
export function paperOptimumShows(c: GeneratorCurve): { shows: boolean; evidence: string } {
  const i17 = c.points.findIndex((p) => p.L === PAPER_OPTIMUM_LEVELS);
  const best = c.points[c.knee.best];
  if (i17 < 0) return { shows: false, evidence: `L=${PAPER_OPTIMUM_LEVELS} is not in the grid` };
  const p17 = c.points[i17];
  const gap = p17.gfid - best.gfid;
  const shows = (kneeMarked(c.knee) && c.knee.index === i17) || (c.knee.kind === "optimum" && gap <= c.tolerance);
  const shape: Record<Knee["kind"], string> = {
    optimum: "an interior optimum",
    saturation: `a saturation knee at L=${c.knee.index !== null ? c.points[c.knee.index].L : "?"}, no optimum`,
    "fewest-bits": "its best within the noise at the fewest bits",
    rising: "no knee yet (still improving at the most bits)",
    flat: "no knee (flat within the noise)",
    irregular: "no readable knee (noise-dominated)",
  };
  const evidence = `gFID at ${levelLabel(PAPER_OPTIMUM_LEVELS)} is ${p17.gfid.toFixed(1)}, ${gap <= 0 ? "the best" : `${gap.toFixed(1)} above the best (${best.gfid.toFixed(1)} at L=${best.L})`}, noise ${c.tolerance.toFixed(1)}; the curve has ${shape[c.knee.kind]}`;
  return { shows, evidence };
}

/** How the seed-0 tokenizer's PSNR and the gFID order the levels: Spearman ρ over L (−1: better reconstruction, better generation). */
export function tradeoffText(res: BitsResults, kind: GeneratorKind): string {
  const gens = res.generators.some((g) => g.kind === kind) ? generatorCurve(res.generators, kind, false).points : [];
  const psnr = gens.map((g) => generatorTokenizer(res, g.L)?.row.psnr ?? NaN);
  const rho = spearman(psnr, gens.map((g) => g.gfid));
  const name = methodStyle(kind).name;
  if (!Number.isFinite(rho)) return `${name}: too few levels for a rank correlation.`;
  const reading = rho <= -0.5 ? "better reconstruction went with better generation (no trade-off across this range)" : rho >= 0.5 ? "better reconstruction went with worse generation: the trade-off the paper describes" : "reconstruction and generation quality are not consistently ordered";
  return `${name}: Spearman ρ(PSNR, gFID) = ${rho.toFixed(2)} over ${gens.length} levels: ${reading}.`;
}

/**
 * The AR token layout against the paper's single index, per level of the grid: d/c sub-tokens of c channels each,
 * vocabulary L^c per sub-token (c = channelsPerGroup), and the measurement that chose c (grid.ts).
 */
export function factorizationText(levels: number[], d: number, channelsPerGroup: number): string {
  const fmt = (x: number) => x.toLocaleString("en-US");
  const c = channelsPerGroup;
  if (!(Number.isInteger(c) && c >= 1 && d % c === 0)) throw new Error(`factorizationText: channelsPerGroup=${c}; expected a positive divisor of d=${d}`);
  const G = d / c;
  const vocab = c === 1 ? "L" : `L^${c}`;
  const growth =
    c === 1
      ? `Here the vocabulary grows linearly in L instead of as L^${d}, so one of the two reasons the spec gives for the knee (§10 claim 4: "more bits means the AR vocab explodes") does not apply to this token layout.`
      : `Here the vocabulary grows as L^${c} (the official f2×2 layout at c = 2), not as L^${d}: the spec's reason for the knee (§10 claim 4: "more bits means the AR vocab explodes") applies, more mildly than with one index.`;
  return (
    `The AR model predicts each position as ${G} sub-token${G === 1 ? "" : "s"} of ${c} channel${c === 1 ? "" : "s"} each (a softmax over ${vocab} per sub-token: ${levels.map((L) => fmt(L ** c)).join(", ")} over the grid's L), ` +
    `where the paper's AR model predicts one index of L^${d} values (${levels.map((L) => fmt(L ** d)).join(", ")}; ${fmt(PAPER_OPTIMUM_LEVELS ** d)} at L = ${PAPER_OPTIMUM_LEVELS}). ${growth} ` +
    "The layout was chosen by measurement at L = 17 (lib/experiments/bits/grid.ts: quick AR at equal training FLOPs, 4 seeds at L = 17, 2 at L = 3 and 33): two channels per sub-token against one gave " +
    "a gFID 38 higher at L = 17 (within the one-channel layout's noise of 54; training NLL +0.33 nats per position, beyond both seed ranges), 49 lower at L = 3 (NLL −0.17) and 189 higher at L = 33 (twice the noise; NLL +1.62): " +
    "the larger vocabulary pays at 1.6 bits and costs more with every bit, the trade-off the paper's knee argument rests on, which one channel per sub-token hid. " +
    "At this budget that cost is large, so the AR model's drop from L = 17 to 33 is largely the token layout's, not the tokenizer's."
  );
}

/** Largest seed range / mean of a metric over the levels of a bound (how seed-sensitive it is). */
function relativeSpread(res: BitsResults, bound: BitsBound, key: ReconKey): { L: number; rel: number } {
  const pts = seedSummaryByLevel(res.tokenizers, bound, key);
  return pts.reduce((a, p) => (Math.abs(p.summary.range / p.summary.mean) > a.rel ? { L: p.L, rel: Math.abs(p.summary.range / p.summary.mean) } : a), { L: pts[0].L, rel: -1 });
}

/** Which of the tokenizers other notebooks also train (the run table's "also in notebooks" column), in one sentence. */
function sharedText(res: BitsResults): string {
  const shared = res.tokenizers.map((t) => ({ t, nbs: otherPlannersOfRun(res.setup.preset, t.run.runDir, "05") })).filter((x) => x.nbs !== "");
  if (shared.length === 0) return "No tokenizer here is another notebook's run.";
  return `Shared with other notebooks (trained once per reproduce, by whichever runs first): ${shared.map((x) => `${x.t.bound === "ifsq" ? "iFSQ" : "FSQ"} L=${x.t.L} seed ${x.t.seed} (${x.nbs})`).join(", ")}.`;
}

/** The notebook's closing Markdown; every number computed from the results. */
export function bitsConclusion(res: BitsResults): string {
  const s = res.setup;
  const g = s.grid;
  const tk = res.tokenizers;
  const psnr = seedSummaryByLevel(tk, "ifsq", "psnr");
  const rfid = seedSummaryByLevel(tk, "ifsq", "rfid");
  const curves = (["ar", "dit"] as const).filter((k) => res.generators.some((x) => x.kind === k)).flatMap((k) => [generatorCurve(res.generators, k, false), generatorCurve(res.generators, k, true)]);
  const flopsOf = (kind: string) => (kind === "tokenizer" ? tk.map((t) => t.run.flops) : res.generators.filter((x) => x.kind === kind).map((x) => x.run.flops));
  const flopsText = (kind: string, label: string) => {
    const f = flopsOf(kind);
    if (f.length === 0) return "";
    const lo = Math.min(...f);
    const hi = Math.max(...f);
    return `${label} ${(hi / 1e12).toFixed(3)} TFLOP each${hi > lo ? ` (largest/smallest ${(hi / lo).toFixed(4)})` : ""}`;
  };
  const paper = curves.filter((c) => !c.guided).map((c) => ({ c, ...paperOptimumShows(c) }));
  const paperLine = paper.map((p) => `${methodStyle(p.c.kind).name}: ${p.shows ? "**shows**" : "**does not show**"} (${p.evidence})`).join("; ");
  const ppl = relativeSpread(res, "ifsq", "perplexity");
  const psnrRel = relativeSpread(res, "ifsq", "psnr");
  const utilRel = relativeSpread(res, "ifsq", "utilisation");
  const arFlops = flopsOf("ar");
  const ditFlops = flopsOf("dit");
  const genSeeds = new Set(res.generators.map((x) => x.seed)).size;
  return [
    `**Grid** (preset "${s.preset}"): ${tk.length} tokenizers (iFSQ at L = ${levelsOf(tk, "ifsq").join(", ")}; FSQ (tanh) at L = ${levelsOf(tk, "tanh").join(", ") || "none"}; seeds ${g.seeds.join(", ")}) and ${res.generators.length} generators (seeds ${[...new Set(res.generators.map((x) => x.seed))].join(", ")}) on the seed-${g.generatorSeed} iFSQ tokenizer of each L. ` +
      `Equal training compute across L: ${[flopsText("tokenizer", "tokenizers"), flopsText("ar", "AR"), flopsText("dit", "DiT")].filter(Boolean).join("; ")}. ` +
      `Reconstruction on the first ${s.testImages} test images (rFID with feature network ${res.featureNet}); gFID from ${s.evalSamples} samples${res.generators.some((x) => x.kind === "dit") ? `, DiT with ${s.eulerSteps} Euler steps` : ""}. ${res.trained === 0 ? "Every run was reused (nothing trained in this call)." : `${res.trained} run(s) trained in this call.`} ${sharedText(res)}`,
    "",
    `- **Reconstruction vs bits (iFSQ, mean over seeds):** ${reconTrendText(psnr, "psnr")} ${reconTrendText(rfid, "rfid")}`,
    `- **Budget check (last doubling of the tokenizers' steps):** ${budgetCheckText(res)}`,
    `- **iFSQ vs FSQ at equal L:** ${boundVerdictText(res, "psnr")} ${boundVerdictText(res, "rfid")}`,
    `- **Code use, iFSQ vs FSQ:** ${boundVerdictText(res, "endBinMass")} ${boundVerdictText(res, "utilisation")}`,
    ...curves.map((c) => `- **Generation, ${generationText(c)}**`),
    `- **Trade-off:** ${(["ar", "dit"] as const).filter((k) => res.generators.some((x) => x.kind === k)).map((k) => tradeoffText(res, k)).join(" ")}`,
    `- **The paper's ≈ 4-bit optimum (L = ${PAPER_OPTIMUM_LEVELS}) for generation:** ${paperLine}.`,
    `- **Factorized AR tokens:** ${factorizationText(levelsOf(tk, "ifsq"), g.channels, g.ar.channelsPerGroup ?? 1)}`,
    `- **Seed sensitivity:** the joint-code perplexity's seed range reaches ${(100 * ppl.rel).toFixed(0)}% of its mean (iFSQ, L=${ppl.L}); per-channel utilisation's ${(100 * utilRel.rel).toFixed(1)}% (L=${utilRel.L}), PSNR's ${(100 * psnrRel.rel).toFixed(1)}% (L=${psnrRel.L}). ` +
      (ppl.rel > 3 * Math.max(utilRel.rel, psnrRel.rel)
        ? `So how the ${g.channels} channels combine into joint codes differs far more between seeds than each channel's use or the reconstruction: a perplexity difference between bounds needs a large seed spread to mean anything.`
        : "The joint-code perplexity is not much more seed-sensitive than the per-channel statistics here."),
    "",
    `Scale caveat: ${arFlops.length ? `AR ${paperScaleText(arFlops[0], "ar")}` : ""}${arFlops.length && ditFlops.length ? "; " : ""}${ditFlops.length ? `DiT ${paperScaleText(ditFlops[0], "dit")}` : ""}. ` +
      (genSeeds > 1
        ? `A generator point's noise is the larger of its training-seed range (${genSeeds} seeds) and the gap between the gFIDs of the two halves of its samples (each half of `
        : "The generators have one training seed each, so their noise is the sampling noise only (the gap between the gFIDs of the two halves of the samples, each half of ") +
      `${Math.floor(s.evalSamples / 2)} samples: a conservative estimate, larger than the noise of the full ${s.evalSamples}); gFID uses our Fashion-MNIST feature network.`,
  ].join("\n");
}
