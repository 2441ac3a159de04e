/**
 * Notebook 06's sections from the convergence runs and their summary (summary.ts): the run table, gFID against
 * training FLOPs (seed bands, the crossover marked, the CFG check at the end), gFID against training wall time, the paper's
 * digitised curves beside ours with compute normalised to each run's budget, the table per evaluation point, sample
 * grids at three compute points, and the computed conclusions.
 *
 *   const s = summarizeConvergence(runs);
 *   show(gfidVsFlopsFigure(s), { name: "06-gfid-vs-flops" }); markdown(convergenceConclusion(s, { backend: "wasm" }))
 *
 *   "± spread" in tables = half the range over seeds (max − min)/2 around the mean
 */
import { alsoInColumn } from "../shared-runs";
import type { PresetName } from "../../train/config";
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle } from "../../view/palette";
import { runSummary } from "../run-summary";
import { paperScaleText, countWord } from "../paper-compute";
import { deltaText, summarizeSeeds, type SeedComparison } from "../seed-spread";
import type { Crossing } from "./crossover";
import { bandMean, type BandPoint } from "./bands";
import { flatBudget } from "./flat-budget";
import { PAPER_BUDGET, PAPER_CROSSOVER, PAPER_CURVES, normaliseCompute } from "./paper-curves";
import type { ConvergenceRun } from "./runs";
import type { ConvergenceSummary, FractionComparison, Generator, GeneratorCurves, JudgedCrossing } from "./summary";

const pct = (f: number, digits = 0) => `${(100 * f).toFixed(digits)} %`;
const fmtFlops = (x: number) => x.toExponential(2);

/** "#2ca02c" → "rgba(44,160,44,a)". */
function rgba(hex: string, alpha: number): string {
  const v = parseInt(hex.slice(1), 16);
  return `rgba(${(v >> 16) & 255},${(v >> 8) & 255},${v & 255},${alpha})`;
}

/** One row per run: the run summary plus its evaluation schedule and the evaluations' share of its wall time. */
export function convergenceRunRows(runs: ConvergenceRun[], preset?: PresetName): Record<string, string | number>[] {
  return runs.map((r) =>
    runSummary(r, { method: methodStyle(r.kind).name, seed: r.seed }, {
      "GFLOP/step": r.flopsPerStep / 1e9,
      evaluations: r.points.length,
      "eval steps": r.points.map((p) => p.step).join(","),
      "samples/eval": r.config.evalSamples,
      "eval (s)": r.evalSeconds,
      "eval share": pct(r.evalSeconds / r.totalSeconds, 1),
      "end gFID": r.points[r.points.length - 1].gfid.toFixed(1),
      ...alsoInColumn(r.runDir, preset, "06"),
      "end gFID with CFG": r.cfgEnd ? `${r.cfgEnd.gfid.toFixed(1)} (s = ${r.cfgEnd.scale}${r.cfgEnd.cached ? ", read back" : `, ${r.cfgEnd.seconds.toFixed(0)} s`})` : "—",
    }),
  );
}

function bandTraces(c: GeneratorCurves, x: (p: BandPoint) => number, group: string): Partial<Plotly.Data>[] {
  const st = methodStyle(c.kind);
  const xs = c.band.map(x);
  const n = c.runs.length;
  const out: any[] = [];
  if (n > 1) {
    out.push({
      x: [...xs, ...[...xs].reverse()],
      y: [...c.band.map((p) => p.max), ...[...c.band].reverse().map((p) => p.min)],
      type: "scatter", mode: "lines", fill: "toself", fillcolor: rgba(st.color, 0.18), line: { width: 0 },
      name: `${st.name}: seed range`, legendgroup: group, hoverinfo: "skip",
    });
  }
  out.push({ x: xs, y: c.band.map((p) => p.mean), type: "scatter", mode: "lines+markers", name: `${st.name}${n > 1 ? `: mean of ${n} seeds` : ""}`, legendgroup: group, line: { color: st.color } });
  return out;
}

function crossingTraces(cs: Crossing[], name: string, color = "#000000"): Partial<Plotly.Data>[] {
  if (cs.length === 0) return [];
  return [{ x: cs.map((c) => c.x), y: cs.map((c) => c.y), type: "scatter", mode: "markers", name, marker: { symbol: "star", size: 16, color, line: { width: 1, color: "#ffffff" } } } as any];
}

/** gFID against training FLOPs (log x): seed bands and means, crossovers as stars, the CFG check at the end as a diamond with the seed range. */
export function gfidVsFlopsFigure(s: ConvergenceSummary): PlotlyFigure {
  const data: any[] = [...bandTraces(s.ar, (p) => p.x, "ar"), ...bandTraces(s.dit, (p) => p.x, "dit")];
  data.push(...crossingTraces(s.meanCrossings, "crossover (seed means)"));
  for (const c of [s.ar, s.dit]) {
    if (!c.cfgEnd) continue;
    const g = summarizeSeeds(c.cfgEnd.gfid, `${c.kind} CFG check`);
    const x = c.band[c.band.length - 1].x;
    data.push({ x: [x], y: [g.mean], error_y: { type: "data", symmetric: false, array: [g.max - g.mean], arrayminus: [g.mean - g.min], color: methodStyle(c.kind).color }, type: "scatter", mode: "markers", name: `${methodStyle(c.kind).name}: CFG ${c.cfgEnd.scale} at the end`, marker: { symbol: "diamond", size: 10, color: methodStyle(c.kind).color } });
  }
  return {
    data,
    layout: {
      title: { text: "gFID vs training compute: AR vs diffusion on one frozen iFSQ tokenizer" }, height: 440,
      xaxis: { title: { text: "training FLOPs (log)" }, type: "log" },
      yaxis: { title: { text: "gFID (lower is better)" } },
    },
  };
}

/** gFID against training wall time (evaluations excluded), one line per run (seeds differ in time). */
export function gfidVsWallFigure(s: ConvergenceSummary): PlotlyFigure {
  const data: any[] = [];
  for (const c of [s.ar, s.dit]) {
    const st = methodStyle(c.kind);
    c.runs.forEach((r, i) => data.push({ x: r.points.map((p) => p.trainSeconds), y: r.points.map((p) => p.gfid), type: "scatter", mode: "lines+markers", name: `${st.name} seed ${r.seed}`, legendgroup: c.kind, line: { color: st.color, dash: i === 0 ? "solid" : "dot" } }));
  }
  return {
    data,
    layout: {
      title: { text: "gFID vs training wall time (in-run evaluations excluded)" }, height: 400,
      xaxis: { title: { text: "training seconds (log)" }, type: "log" },
      yaxis: { title: { text: "gFID (lower is better)" } },
    },
  };
}

/**
 * The paper's digitised curves (left) and ours (right), each with compute as a fraction of its own budget (log x), so
 * the shapes compare while the FID scales (Inception on ImageNet vs our Fashion-MNIST feature network) stay apart.
 */
export function paperShapeFigure(s: ConvergenceSummary): PlotlyFigure {
  const data: any[] = [];
  for (const k of ["ar", "dit"] as Generator[]) {
    const st = methodStyle(k);
    const p = normaliseCompute(PAPER_CURVES[k], PAPER_BUDGET[k]);
    data.push({ x: p.map((q) => q.x), y: p.map((q) => q.y), type: "scatter", mode: "lines+markers", name: `paper ${k === "ar" ? "LlamaGen-L" : "DiT-L"}`, line: { color: st.color, dash: "dash" }, marker: { size: 5 }, xaxis: "x", yaxis: "y" });
    const c = s[k];
    data.push({ x: c.band.map((q) => q.x / c.budget), y: c.band.map((q) => q.mean), type: "scatter", mode: "lines+markers", name: `ours: ${st.name}`, line: { color: st.color }, xaxis: "x2", yaxis: "y2" });
  }
  const ours = s.meanCrossings.map((c) => c.x / s.ar.budget);
  const annotations: any[] = [
    { text: `paper crossover: ${pct(PAPER_CROSSOVER.x / PAPER_BUDGET.dit)} (DiT) /<br>${pct(PAPER_CROSSOVER.x / PAPER_BUDGET.ar)} (AR) of budget, FID ${PAPER_CROSSOVER.y}`, xref: "paper", yref: "paper", x: 0.21, y: 1.1, showarrow: false, xanchor: "center", font: { size: 11 } },
    { text: ours.length ? `ours: crossing at<br>${ours.map((f) => pct(f, 1)).join(", ")} of the common budget` : "ours: no crossing", xref: "paper", yref: "paper", x: 0.79, y: 1.1, showarrow: false, xanchor: "center", font: { size: 11 } },
  ];
  const range = [Math.log10(0.007), Math.log10(1.15)];
  return {
    data,
    layout: {
      title: { text: "Shapes: the paper's curves (left) and ours (right), compute / own budget" }, height: 440, margin: { t: 110 }, annotations,
      xaxis: { title: { text: "compute / budget (log)" }, type: "log", domain: [0, 0.42], range },
      yaxis: { title: { text: "FID (paper: Inception, ImageNet)" } },
      xaxis2: { title: { text: "compute / budget (log)" }, type: "log", domain: [0.58, 1], range },
      yaxis2: { title: { text: "gFID (ours: Fashion-MNIST features)" }, anchor: "x2" },
    },
  };
}

function meanSpread(p: BandPoint): string {
  return p.n > 1 ? `${p.mean.toFixed(1)} ± ${(p.range / 2).toFixed(1)}` : p.mean.toFixed(1);
}

/** One row per evaluation point: compute, its share of the budget, AR and DiT gFID (mean ± half the seed range). */
export function convergenceTableRows(s: ConvergenceSummary): Record<string, string | number>[] {
  const n = Math.min(s.ar.band.length, s.dit.band.length);
  return Array.from({ length: n }, (_, i) => {
    const a = s.ar.band[i];
    const d = s.dit.band[i];
    const row: Record<string, string | number> = {
      "% of budget": pct(a.x / s.ar.budget, 1),
      "AR FLOPs": fmtFlops(a.x),
      "AR gFID": meanSpread(a),
      "DiT FLOPs": fmtFlops(d.x),
      "DiT gFID": meanSpread(d),
    };
    return row;
  });
}

/** The sample snapshot of a run nearest (in log-compute) to each fraction of its budget. */
export function snapshotsAt(run: ConvergenceRun, fractions: number[]): { fraction: number; step: number; data: Uint8Array; shape: number[] }[] {
  if (run.samples.length === 0) throw new Error(`${run.runDir}: no sample snapshots (the run was trained without evalGridPerClass)`);
  return fractions.map((f) => {
    const target = Math.log(f * run.config.steps);
    const best = run.samples.reduce((a, b) => (Math.abs(Math.log(b.step) - target) < Math.abs(Math.log(a.step) - target) ? b : a));
    return { fraction: best.step / run.config.steps, step: best.step, data: best.pixels, shape: best.shape };
  });
}

/**
 * One image grid per generator: a row per compute point (the first seed's snapshots nearest to `fractions`), k samples
 * of each class per row, the same classes and noise in every row. Pixels are bytes: show with range [0, 255].
 */
export function sampleGridAtCompute(c: GeneratorCurves, fractions: number[]): { data: Uint8Array; shape: number[]; cols: number; caption: string } {
  const run = c.runs[0];
  const snaps = snapshotsAt(run, fractions);
  const [n, h, w, ch] = snaps[0].shape;
  const data = new Uint8Array(snaps.length * n * h * w * ch);
  snaps.forEach((s, i) => data.set(s.data, i * n * h * w * ch));
  const caption =
    `${methodStyle(c.kind).name}, seed ${run.seed} (EMA weights, the in-run sampler). Rows: ` +
    snaps.map((s) => `step ${s.step} = ${pct(s.fraction, 1)} of the budget (${fmtFlops(s.step * run.flopsPerStep)} FLOPs)`).join("; ") +
    `. ${n / 10} sample(s) per class, classes in order.`;
  return { data, shape: [snaps.length * n, h, w, ch], cols: n, caption };
}

function crossingText(c: Crossing, budget: number): string {
  return `${fmtFlops(c.x)} FLOPs (${pct(c.x / budget, 1)} of each run's budget), gFID ${c.y.toFixed(1)}, ${c.lowerBefore === "a" ? "DiT overtaking AR" : "AR overtaking DiT"}`;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Who leads by an AR-vs-DiT comparison (b = AR against a = DiT, lower FID better), in words. */
function whoLeads(c: SeedComparison): string {
  const v = c.verdict;
  return v === "better" ? "AR is ahead" : v === "worse" ? "DiT is ahead" : v === "within the seed spread" ? "neither is ahead beyond the seed spread" : "the lead cannot be judged without a seed spread";
}

function leadText(c: FractionComparison, when: string): string {
  return `${when} (${pct(c.fraction)} of the budget) ${whoLeads(c.arVsDit)}: AR ${mean(c.ar).toFixed(1)}, DiT ${mean(c.dit).toFixed(1)}; AR − DiT = ${deltaText(c.arVsDit, 1)}`;
}

/** The extrapolated budget at which the curve would flatten (flat-budget.ts), as a clause; "" when not estimable. */
function flatBudgetText(c: GeneratorCurves): string {
  const fb = flatBudget(bandMean(c.band), c.flatness.spreadAtEnd);
  if (fb === null) return " (no extrapolation: it needs ≥ 3 points past 5 % of the budget, a falling fit and a seed spread)";
  if (fb.factor > 100) return ` (an extrapolation cannot place it: a fit gFID = a + b·C^−${fb.fit.k.toFixed(2)} to its mean over the last ${fb.points} points, rms ${fb.fit.rmse.toFixed(1)}, puts it beyond 100× this budget)`;
  return ` (an extrapolation, not a measurement: a fit gFID = a + b·C^−${fb.fit.k.toFixed(2)} to its mean over the last ${fb.points} points, rms ${fb.fit.rmse.toFixed(1)}, puts the last doubling's fall at the seed spread near ${fb.factor.toFixed(1)}× this budget (${fb.x.toExponential(2)} training FLOPs, ≈ ${Math.round(fb.factor * c.runs[0].config.steps).toLocaleString("en-US")} steps), and the curve's floor at a ≈ ${fb.fit.a.toFixed(1)})`;
}

function flatText(c: GeneratorCurves): string {
  const f = c.flatness;
  const name = methodStyle(c.kind).name;
  const share = Number.isFinite(f.shareOfTotal) ? `${pct(f.shareOfTotal)} of its whole improvement` : "the curve did not improve overall";
  const last = f.lastDoubling > 0 ? `gFID fell by ${f.lastDoubling.toFixed(1)} (${share}` : `gFID did not fall (it rose by ${(-f.lastDoubling).toFixed(1)}`;
  return (
    `${name}: over the last doubling of compute ${last}; seed spread at the end ${f.spreadAtEnd.toFixed(1)}) → ` +
    (f.flat ? "**flat** by this test (the last doubling's fall ≤ the seed spread)" : `**still falling**: the budget is too small for this curve to flatten${flatBudgetText(c)}`)
  );
}

/** The notebook's closing Markdown; every number from the runs. */
export function convergenceConclusion(s: ConvergenceSummary, ctx: { backend: string; preset: string }): string {
  const budget = s.ar.budget;
  const ar = s.ar.band[s.ar.band.length - 1];
  const dit = s.dit.band[s.dit.band.length - 1];
  const nSeeds = Math.min(s.ar.runs.length, s.dit.runs.length);
  const earlyLead = s.early.arVsDit.verdict === "better";
  const ditEndsLower = s.end.arVsDit.verdict === "worse";
  const lines: string[] = [];
  lines.push(
    `- **Budget:** ${fmtFlops(budget)} training FLOPs for each run (AR ${fmtFlops(s.ar.budget)}, DiT ${fmtFlops(s.dit.budget)}); ${countWord(s.ar.runs.length)} AR and ${countWord(s.dit.runs.length)} DiT seed(s) on ${ctx.backend}, preset ${ctx.preset}. ` +
      `At the end AR has gFID ${meanSpread(ar)}, DiT ${meanSpread(dit)}.`,
  );
  lines.push(`- **Does AR lead early?** ${leadText(s.early, "Early")}. → ${earlyLead ? "Yes, as in the paper." : "**Not at this scale**: the paper's phase 1 (AR converges faster) does not show here."}`);
  lines.push(`- **Does diffusion end lower?** ${leadText(s.end, "At the end")}. → ${ditEndsLower ? "Yes, as in the paper." : "**Not at this scale**: the paper's phase 2 (diffusion reaches the higher ceiling) does not show here."}`);
  const mc = s.meanCrossings;
  const judged = (c: JudgedCrossing) => `${crossingText(c, budget)}; ${c.resolved ? "the lead on both sides exceeds the seed spread" : "**within the seed spread** on at least one side, i.e. not resolved"}`;
  const resolved = mc.filter((c) => c.resolved);
  let cross: string;
  if (mc.length === 0) cross = "The seed-mean curves **do not cross** within this budget, so there is no crossover to report.";
  else if (mc.length === 1) cross = `The seed-mean curves cross once, at ${judged(mc[0])}.`;
  else cross = `The seed-mean curves cross **${countWord(mc.length)} times** (${mc.map(judged).join("; ")}), so there is no single crossover at this budget` + (resolved.length === 1 ? `; the one resolved crossing is at ${pct(resolved[0].x / budget, 1)} of the budget.` : `; ${countWord(resolved.length)} of them are resolved.`);
  const pr = s.pairRange;
  const pairsText =
    `Over the ${s.pairs.length} (AR seed, DiT seed) pairs: ${s.pairs.map((p) => `${p.arSeed}/${p.ditSeed}: ${p.crossings.length === 0 ? "none" : p.crossings.map((c) => pct(c.x / budget, 1)).join(" and ")}`).join(", ")}` +
    (pr ? `; the ${countWord(pr.pairs)} pair(s) crossing once put it at ${pct(pr.minX / budget, 1)}–${pct(pr.maxX / budget, 1)} of the budget (${fmtFlops(pr.minX)}–${fmtFlops(pr.maxX)} FLOPs), gFID ${pr.minY.toFixed(1)}–${pr.maxY.toFixed(1)}.` : "; no pair crosses exactly once.");
  const paper = `The paper's crossover is at ${pct(PAPER_CROSSOVER.x / PAPER_BUDGET.dit)} of DiT's and ${pct(PAPER_CROSSOVER.x / PAPER_BUDGET.ar)} of LlamaGen's budget (FID ${PAPER_CROSSOVER.y}).`;
  lines.push(`- **Where do they cross?** ${cross} ${pairsText} ${paper}`);
  if (s.cfgEnd) {
    const g = s.cfgEnd;
    const change = (guided: number[], plain: number[]) => `${mean(guided) <= mean(plain) ? "−" : "+"}${pct(Math.abs(mean(guided) / mean(plain) - 1), 1)}`;
    const same = g.arVsDit.verdict === s.end.arVsDit.verdict ? "as without CFG" : "**unlike without CFG**";
    lines.push(
      `- **With CFG ${g.scale} at the end** (every seed, after training, on the same samples as the last point): ${whoLeads(g.arVsDit)}, ${same}: AR ${mean(g.ar).toFixed(1)}, DiT ${mean(g.dit).toFixed(1)}; AR − DiT = ${deltaText(g.arVsDit, 1)}. ` +
        `CFG changes the seed-mean gFID by ${change(g.ar, s.end.ar)} for AR and ${change(g.dit, s.end.dit)} for DiT.`,
    );
  }
  lines.push(`- **Have the curves flattened?** ${flatText(s.ar)}. ${flatText(s.dit)}.` + (s.ar.flatness.flat && s.dit.flatness.flat ? "" : " A crossover (or its absence) at a budget where a curve is still falling says only where the curves stand at this budget, not where they would end."));
  const checked = [...s.ar.runs, ...s.dit.runs].filter((r) => r.cfgEnd);
  const fresh = checked.filter((r) => !r.cfgEnd!.cached);
  const cfgCost = checked.length === 0 ? "" : `; the CFG check after training took ${fresh.reduce((t, r) => t + r.cfgEnd!.seconds, 0).toFixed(0)} s for ${countWord(fresh.length)} run(s)${fresh.length < checked.length ? ` (${countWord(checked.length - fresh.length)} read back from the run folders)` : ""}`;
  lines.push(`- **Evaluation cost:** the in-run evaluations took ${s.evalSeconds.toFixed(0)} s of the runs' ${s.totalSeconds.toFixed(0)} s wall time (${pct(s.evalShare, 1)})${cfgCost}.`);
  lines.push("");
  lines.push(
    `Scale caveat: ${paperScaleText(budget, "ar")}. gFID uses our Fashion-MNIST feature network on ${s.ar.runs[0].config.evalSamples} samples per point (biased upward at small sample counts; that bias was not measured per generator), ` +
      `so compare the shapes and the ordering, not the values, with the paper; ${nSeeds >= 2 ? `every judgement above is against the spread of ${countWord(nSeeds)} seeds` : "with one seed per generator no difference can be judged against a seed spread"}.`,
  );
  return lines.join("\n");
}
