/**
 * Notebook 01, "activation collapse": every figure and every sentence of the notebook is computed here from the exact
 * analysis (quant/collapse.ts) or from the tfjs quantizer (quant/fsq.ts). Each section returns
 * `{ figure, conclusion, rows? }`; the notebook only shows them.
 *
 *   const cfg = resolveConfig(activationCollapseConfig, { overrides: { levels: 17 } });  // preset from $IFSQ_PRESET
 *   const m = mappingsSection(cfg); show(m.figure, { name: "mappings" }); markdown(m.conclusion);
 *
 * Model (paper-spec §3.3): one pre-activation channel x ~ N(0, σ²), bounded by tanh (FSQ, ε = 1e-3 as in the code)
 * or by 2·sigmoid(αx) − 1 (iFSQ), rounded to L levels.
 */
import * as tf from "@tensorflow/tfjs";
import type * as Plotly from "plotly.js";
import { z } from "zod";
import { defineConfig, type ConfigDef } from "../train/config";
import { FSQ } from "../quant/fsq";
import { boundDerivative, boundConstants, type BoundConstants } from "../quant/bounds";
import {
  activationDensity,
  alphaArgmins,
  alphaCriterion,
  alphaSweep,
  analyticCodeStats,
  codeProbabilities,
  collapseStats,
  uniformCodeProbabilities,
  type AlphaCriterion,
} from "../quant/collapse";
import { minimizeScalar, normalCdf, normalPdf } from "../quant/numerics";
import { sampleOccupancy } from "../quant/histogram";

/** A plotly figure (the shape `show` takes). */
export interface Figure {
  data: Partial<Plotly.Data>[];
  layout: Partial<Plotly.Layout>;
}

export interface Section {
  figure: Figure;
  /** One or two sentences whose numbers are computed, Markdown. */
  conclusion: string;
  /** The numbers behind the figure, for `table(...)`. */
  rows?: Record<string, number | string>[];
}

const odd = z.int().min(3).refine((L) => L % 2 === 1, { message: "must be odd (both bounds are compared on the same grid; the ifsq bound needs odd L)" });

export const ActivationCollapseSchema = z.object({
  levels: odd.default(17).describe("L for the main analysis (paper: 17 = 4 bits)"),
  occupancyLevels: z.array(odd).min(1).default([5, 9, 17]).describe("L values whose bin occupancy is compared"),
  sigma: z.number().positive().default(1).describe("pre-activation std σ for the densities, occupancy and Monte Carlo (the N(0,1) model)"),
  sigmaRange: z.array(z.number().positive()).length(2).default([0.25, 3]).describe("σ range of the entropy / end-bin sweep"),
  sigmaSteps: z.int().min(3).default(56).describe("points in the σ sweep"),
  alpha: z.number().positive().default(1.6).describe("iFSQ slope α (paper 1.6)"),
  alphaRange: z.array(z.number().positive()).length(2).default([1, 2.5]).describe("α range of the sweep"),
  alphaSteps: z.int().min(3).default(61).describe("points in the α sweep"),
  mcSamples: z.int().positive().default(2_000_000).describe("Monte-Carlo samples per bound through FSQ.quantize"),
  gradPoints: z.int().min(3).default(401).describe("z points of the straight-through gradient curve"),
  seed: z.int().min(0).default(0).describe("seed of the Monte-Carlo draw"),
});
export type ActivationCollapseConfig = z.output<typeof ActivationCollapseSchema>;

export const activationCollapseConfig: ConfigDef<typeof ActivationCollapseSchema> = defineConfig({
  name: "activation-collapse",
  schema: ActivationCollapseSchema,
  presets: {
    tiny: { mcSamples: 100_000, sigmaSteps: 12, alphaSteps: 16, gradPoints: 81 },
    quick: {},
    "paper-cpu": { mcSamples: 10_000_000, sigmaSteps: 111, alphaSteps: 151 },
  },
});

const COLORS = { tanh: "#d62728", ifsq: "#1f77b4", ideal: "#7f7f7f" };
const pct = (p: number, digits = 1) => `${(100 * p).toFixed(digits)} %`;
const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

function checkRange(range: readonly number[], name: string): [number, number] {
  const [lo, hi] = range;
  if (!(lo < hi)) throw new Error(`${name}=[${lo}, ${hi}] is empty; expected [low, high] with low < high`);
  return [lo, hi];
}

function shapes(cfg: ActivationCollapseConfig, L: number): { tanh: BoundConstants; ifsq: BoundConstants } {
  return { tanh: boundConstants("tanh", L), ifsq: boundConstants({ kind: "ifsq", alpha: cfg.alpha }, L) };
}

/** The two bounds (normalised, continuous and quantized through FSQ.quantize) and the ideal map 2Φ(x) − 1. */
export function mappingsSection(cfg: ActivationCollapseConfig): Section {
  const L = cfg.levels;
  const xs = linspace(-4, 4, 801);
  const s = shapes(cfg, L);
  const h = s.tanh.halfWidth;
  const cont = (b: BoundConstants) => xs.map((x) => (b.amplitude * Math.tanh(b.slope * x + b.shift) - b.offset) / h);
  const codes = (bound: "tanh" | "ifsq") =>
    tf.tidy(() => {
      const fsq = new FSQ({ levels: [L], bound: bound === "ifsq" ? { kind: "ifsq", alpha: cfg.alpha } : "tanh" });
      return Array.from(fsq.quantize(tf.tensor2d(xs, [xs.length, 1])).dataSync());
    });
  const ideal = xs.map((x) => 2 * normalCdf(x) - 1);
  const tanhC = cont(s.tanh);
  const ifsqC = cont(s.ifsq);
  const maxGap = (ys: number[]) => Math.max(...ys.map((y, i) => Math.abs(y - ideal[i])));
  const line = (name: string, y: number[], color: string, extra: Partial<Plotly.ScatterData> = {}): Partial<Plotly.Data> => ({
    x: xs, y, name, type: "scatter", mode: "lines", ...extra, line: { color, width: 2, simplify: false, ...(extra.line ?? {}) },
  });
  const figure: Figure = {
    data: [
      line("tanh (FSQ)", tanhC, COLORS.tanh),
      line(`2·sigmoid(${cfg.alpha}x) − 1 (iFSQ)`, ifsqC, COLORS.ifsq),
      line("2Φ(x) − 1 (uniform for x ~ N(0,1))", ideal, COLORS.ideal, { line: { dash: "dot" } }),
      line(`tanh quantized, L = ${L}`, codes("tanh"), COLORS.tanh, { line: { width: 1, shape: "hv" }, opacity: 0.7 }),
      line(`iFSQ quantized, L = ${L}`, codes("ifsq"), COLORS.ifsq, { line: { width: 1, shape: "hv" }, opacity: 0.7 }),
    ],
    layout: {
      title: { text: `The two bounds, normalised to [−1, 1] (codes q/${h})` },
      xaxis: { title: { text: "pre-activation x" } },
      yaxis: { title: { text: "bounded value y" } },
      height: 420,
    },
  };
  const conclusion =
    `At x = 0 the slope is ${(s.ifsq.amplitude * s.ifsq.slope / h).toFixed(3)} for iFSQ and ${(s.tanh.amplitude * s.tanh.slope / h).toFixed(3)} for tanh, ` +
    `against 2φ(0) = ${(2 * normalPdf(0)).toFixed(3)} for the ideal map 2Φ(x) − 1; over |x| ≤ 4 iFSQ stays within ` +
    `${maxGap(ifsqC).toFixed(3)} of the ideal map, tanh only within ${maxGap(tanhC).toFixed(3)}.`;
  return { figure, conclusion };
}

/** Densities of the bounded activation y for x ~ N(0, σ²): U-shaped for tanh, nearly flat for iFSQ. */
export function densitiesSection(cfg: ActivationCollapseConfig): Section {
  const L = cfg.levels;
  const s = shapes(cfg, L);
  const ys = linspace(-0.995, 0.995, 399);
  const dens = (b: BoundConstants) => ys.map((y) => activationDensity(b, L, cfg.sigma, y));
  const tanhD = dens(s.tanh);
  const ifsqD = dens(s.ifsq);
  const inner = ys.map((y, i) => [y, i] as const).filter(([y]) => Math.abs(y) <= 0.9).map(([, i]) => i);
  const range = (d: number[]) => [Math.min(...inner.map((i) => d[i])), Math.max(...inner.map((i) => d[i]))];
  const [iLo, iHi] = range(ifsqD);
  const [tLo, tHi] = range(tanhD);
  const at = (b: BoundConstants, y: number) => activationDensity(b, L, cfg.sigma, y);
  const figure: Figure = {
    data: [
      { x: ys, y: tanhD, name: "tanh(x)", type: "scatter", mode: "lines", line: { color: COLORS.tanh, width: 2 } },
      { x: ys, y: ifsqD, name: `2·sigmoid(${cfg.alpha}x) − 1`, type: "scatter", mode: "lines", line: { color: COLORS.ifsq, width: 2 } },
      { x: [-1, 1], y: [0.5, 0.5], name: "uniform U(−1, 1)", type: "scatter", mode: "lines", line: { color: COLORS.ideal, dash: "dot" } },
    ],
    layout: {
      title: { text: `Density of the bounded value y for x ~ N(0, ${cfg.sigma}²)` },
      xaxis: { title: { text: "y" }, range: [-1, 1] },
      yaxis: { title: { text: "p(y)" }, rangemode: "tozero" },
      height: 400,
    },
  };
  const conclusion =
    `For x ~ N(0, ${cfg.sigma}²) the iFSQ density stays between ${iLo.toFixed(2)} and ${iHi.toFixed(2)} on |y| ≤ 0.9 ` +
    `(uniform: 0.50), while tanh's goes from ${at(s.tanh, 0).toFixed(2)} at y = 0 to ${at(s.tanh, 0.9).toFixed(2)} at |y| = 0.9 ` +
    `(range ${tLo.toFixed(2)}–${tHi.toFixed(2)})` +
    (at(s.tanh, 0.9) > at(s.tanh, 0) ? ": U-shaped, with mass piling up towards the saturated ends." : ".");
  return { figure, conclusion };
}

/** Bin occupancy P(q) for every L in `occupancyLevels`, both bounds and the uniform-activation ideal. */
export function occupancySection(cfg: ActivationCollapseConfig): Section {
  const Ls = cfg.occupancyLevels;
  const n = Ls.length;
  const data: Partial<Plotly.Data>[] = [];
  const rows: Record<string, number | string>[] = [];
  const annotations: Partial<Plotly.Annotations>[] = [];
  Ls.forEach((L, i) => {
    const s = shapes(cfg, L);
    const axis = i === 0 ? "" : String(i + 1);
    const t = codeProbabilities(s.tanh, L, cfg.sigma);
    const f = codeProbabilities(s.ifsq, L, cfg.sigma);
    const u = uniformCodeProbabilities(L);
    const bar = (name: string, y: number[], color: string): Partial<Plotly.Data> => ({
      x: t.q, y, name, type: "bar", marker: { color }, xaxis: `x${axis}`, yaxis: `y${axis}`, showlegend: i === 0, legendgroup: name,
    } as Partial<Plotly.Data>);
    data.push(bar("tanh (FSQ)", t.probs, COLORS.tanh), bar("iFSQ", f.probs, COLORS.ifsq));
    data.push({ x: t.q, y: u, name: "uniform y (ideal)", type: "scatter", mode: "lines", line: { color: COLORS.ideal, dash: "dot", shape: "hvh" }, xaxis: `x${axis}`, yaxis: `y${axis}`, showlegend: i === 0, legendgroup: "ideal" } as Partial<Plotly.Data>);
    annotations.push({ text: `L = ${L}`, xref: `x${axis} domain` as Plotly.XAxisName, yref: "paper", x: 0.5, y: 1.02, showarrow: false, xanchor: "center", yanchor: "bottom" } as Partial<Plotly.Annotations>);
    for (const [bound, probs] of [["tanh", t.probs], ["ifsq", f.probs], ["uniform y", u]] as const) {
      const st = collapseStats(probs);
      rows.push({ L, bound, "H (bits)": st.entropy, "H / log2 L": st.utilisation, "end bins": st.endMass, "inner max/min": st.innerRatio });
    }
  });
  const layout: Partial<Plotly.Layout> = {
    title: { text: `Code occupancy P(q) for x ~ N(0, ${cfg.sigma}²)` },
    grid: { rows: 1, columns: n, pattern: "independent" },
    barmode: "group",
    annotations,
    height: 380,
    margin: { t: 80 },
  };
  (layout as Record<string, unknown>).xaxis = { title: { text: "code q" } };
  const main = cfg.levels;
  const st = analyticCodeStats(shapes(cfg, main).tanh, main, cfg.sigma);
  const si = analyticCodeStats(shapes(cfg, main).ifsq, main, cfg.sigma);
  const conclusion =
    `At σ = ${cfg.sigma} and L = ${main}, tanh's inner bins vary ${st.innerRatio.toFixed(2)}× and its two end bins hold ` +
    `${pct(st.endMass)} of the codes; iFSQ's inner bins are flat within ${si.innerRatio.toFixed(2)}× and its end bins hold ${pct(si.endMass)} ` +
    `(a uniform y would give ${pct(2 / (4 * Math.floor(main / 2)))}). Entropy: tanh ${st.entropy.toFixed(3)} bits ` +
    `(${pct(st.utilisation)} of log₂ ${main}), iFSQ ${si.entropy.toFixed(3)} bits (${pct(si.utilisation)})` +
    (si.entropy < st.entropy ? ` — at σ = ${cfg.sigma} tanh's over-filled end bins still carry slightly more information; the next section shows what happens as σ grows.` : ".");
  return { figure: { data, layout }, conclusion, rows };
}

/** Entropy and end-bin mass as the pre-activation scale σ grows. */
export function sigmaSweepSection(cfg: ActivationCollapseConfig): Section {
  const [sLo, sHi] = checkRange(cfg.sigmaRange, "sigmaRange");
  const L = cfg.levels;
  const s = shapes(cfg, L);
  const sigmas = linspace(sLo, sHi, cfg.sigmaSteps);
  const t = sigmas.map((sig) => analyticCodeStats(s.tanh, L, sig));
  const f = sigmas.map((sig) => analyticCodeStats(s.ifsq, L, sig));
  const hUniform = collapseStats(uniformCodeProbabilities(L)).entropy;
  const line = (y: number[], name: string, color: string, axis: string, extra: Record<string, unknown> = {}): Partial<Plotly.Data> =>
    ({ x: sigmas, y, name, type: "scatter", mode: "lines", line: { color, width: 2 }, xaxis: `x${axis}`, yaxis: `y${axis}`, ...extra }) as Partial<Plotly.Data>;
  const figure: Figure = {
    data: [
      line(t.map((r) => r.entropy), "tanh (FSQ)", COLORS.tanh, "", { legendgroup: "tanh" }),
      line(f.map((r) => r.entropy), "iFSQ", COLORS.ifsq, "", { legendgroup: "ifsq" }),
      line(sigmas.map(() => hUniform), "uniform y (max with half end bins)", COLORS.ideal, "", { line: { color: COLORS.ideal, dash: "dot" } }),
      line(t.map((r) => r.endMass), "tanh end bins", COLORS.tanh, "2", { legendgroup: "tanh", showlegend: false }),
      line(f.map((r) => r.endMass), "iFSQ end bins", COLORS.ifsq, "2", { legendgroup: "ifsq", showlegend: false }),
      line(sigmas.map(() => 2 / (4 * Math.floor(L / 2))), "uniform end bins", COLORS.ideal, "2", { line: { color: COLORS.ideal, dash: "dot" }, showlegend: false }),
    ],
    layout: {
      title: { text: `L = ${L}: code entropy and end-bin mass vs pre-activation scale σ` },
      grid: { rows: 1, columns: 2, pattern: "independent" },
      xaxis: { title: { text: "σ" } },
      yaxis: { title: { text: "code entropy H (bits)" } },
      xaxis2: { title: { text: "σ" } },
      yaxis2: { title: { text: "P(two end codes)" }, rangemode: "tozero" },
      height: 400,
    },
  };
  // exact optima and crossover
  const peakT = minimizeScalar((sig) => -analyticCodeStats(s.tanh, L, sig).entropy, 0.2, 4, 1e-6);
  const peakF = minimizeScalar((sig) => -analyticCodeStats(s.ifsq, L, sig).entropy, 0.2, 4, 1e-6);
  let lo = peakT.x;
  let hi = peakF.x;
  const diff = (sig: number) => analyticCodeStats(s.ifsq, L, sig).entropy - analyticCodeStats(s.tanh, L, sig).entropy;
  for (let k = 0; k < 60 && diff(lo) < 0 && diff(hi) > 0; k++) {
    const mid = 0.5 * (lo + hi);
    if (diff(mid) > 0) hi = mid;
    else lo = mid;
  }
  const crossed = diff(peakT.x) < 0 && diff(peakF.x) > 0;
  const cross = 0.5 * (lo + hi);
  const sig2 = 2;
  const t2 = analyticCodeStats(s.tanh, L, sig2);
  const f2 = analyticCodeStats(s.ifsq, L, sig2);
  const conclusion =
    `Code entropy peaks at σ = ${peakT.x.toFixed(2)} for tanh (${(-peakT.value).toFixed(3)} bits) and at σ = ${peakF.x.toFixed(2)} for iFSQ ` +
    `(${(-peakF.value).toFixed(3)} bits)` +
    (crossed ? `; beyond σ ≈ ${cross.toFixed(2)} iFSQ keeps more bits than tanh. ` : ". ") +
    `At σ = ${sig2} the two end codes hold ${pct(t2.endMass)} of the activations with tanh (H = ${t2.entropy.toFixed(2)} bits) ` +
    `and ${pct(f2.endMass)} with iFSQ (H = ${f2.entropy.toFixed(2)} bits)` +
    (t2.endMass > f2.endMass ? ": tanh collapses into its saturated ends first." : ".");
  const rows = [0.5, 1, 1.25, 1.5, 2, 3].map((sig) => {
    const a = analyticCodeStats(s.tanh, L, sig);
    const b = analyticCodeStats(s.ifsq, L, sig);
    return { σ: sig, "tanh H": a.entropy, "tanh end p": a.endLow, "iFSQ H": b.entropy, "iFSQ end p": b.endLow };
  });
  return { figure, conclusion, rows };
}

const CRITERION_LABEL: Record<AlphaCriterion, string> = {
  slope: "slope match at 0",
  l2Cdf: "Gaussian-weighted L2 of CDFs",
  cvm: "Cramér–von Mises",
  w1: "Wasserstein-1",
  ks: "Kolmogorov–Smirnov",
  l2Density: "L2 of densities",
  kl: "KL(p_Y ‖ U)",
};

/** Distances of 2·sigmoid(αx) − 1 to U(−1, 1) as α varies, with their argmins. */
export function alphaSweepSection(cfg: ActivationCollapseConfig): Section {
  const [aLo, aHi] = checkRange(cfg.alphaRange, "alphaRange");
  const alphas = linspace(aLo, aHi, cfg.alphaSteps);
  const rowsSweep = alphaSweep(alphas, cfg.levels, cfg.sigma);
  const arg = alphaArgmins(cfg.sigma);
  const shown: AlphaCriterion[] = ["kl", "w1", "cvm", "ks", "l2Density"];
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"];
  const data: Partial<Plotly.Data>[] = [];
  shown.forEach((c, i) => {
    const m = alphaCriterion(c, arg[c], cfg.sigma); // the exact minimum, so each curve touches 1 at its argmin
    const color = palette[i];
    data.push({ x: alphas, y: rowsSweep.map((r) => (r[c] as number) / m), name: `${CRITERION_LABEL[c]} (argmin ${arg[c].toFixed(3)})`, type: "scatter", mode: "lines", line: { color }, legendgroup: c } as Partial<Plotly.Data>);
    data.push({ x: [arg[c]], y: [1], type: "scatter", mode: "markers", marker: { color, size: 9, symbol: "x" }, showlegend: false, legendgroup: c, hoverinfo: "x" } as Partial<Plotly.Data>);
  });
  const vline = (x: number, text: string, dash: string, where: string): Partial<Plotly.Shape> => ({ type: "line", x0: x, x1: x, yref: "paper", y0: 0, y1: 1, line: { dash: dash as Plotly.Dash, color: "#555", width: 1 }, label: { text, textposition: where, font: { size: 11 } } } as Partial<Plotly.Shape>);
  const figure: Figure = {
    data,
    layout: {
      title: { text: `α sweep: distance of 2·sigmoid(αx) − 1 to U(−1, 1), x ~ N(0, ${cfg.sigma}²) (each ÷ its minimum, × = argmin)` },
      xaxis: { title: { text: "α" } },
      yaxis: { title: { text: "distance / min" }, type: "log" },
      shapes: [vline(cfg.alpha, `α = ${cfg.alpha}`, "dash", "end"), vline(arg.slope, "slope match", "dot", "start"), vline(2, "tanh (α = 2)", "dashdot", "end")],
      height: 420,
    },
  };
  const names = Object.keys(arg) as AlphaCriterion[];
  const lo = Math.min(...names.map((c) => arg[c]));
  const hi = Math.max(...names.map((c) => arg[c]));
  const at = (a: number) => alphaSweep([a], cfg.levels, cfg.sigma)[0];
  const here = at(cfg.alpha);
  const tanh = at(2);
  const ratios = (["kl", "w1", "cvm"] as const).map((c) => [c, (tanh[c] as number) / (here[c] as number)] as const);
  const inside = cfg.alpha >= lo - 5e-4 && cfg.alpha <= hi + 5e-4;
  const conclusion =
    `Every criterion is minimised between α = ${lo.toFixed(3)} and ${hi.toFixed(3)} (slope match ${arg.slope.toFixed(3)} = 4/(σ√(2π)), ` +
    `W1 ${arg.w1.toFixed(3)}, Cramér–von Mises ${arg.cvm.toFixed(3)}, KL ${arg.kl.toFixed(3)}); α = ${cfg.alpha} lies ${inside ? "inside" : "outside"} this range. ` +
    `Relative to α = ${cfg.alpha}, tanh (α = 2) has ` +
    ratios.map(([c, r]) => `${r.toFixed(1)}× the ${CRITERION_LABEL[c]}`).join(", ") + ".";
  const rows = names.map((c) => ({ criterion: CRITERION_LABEL[c], "argmin α": arg[c], [`at α = ${cfg.alpha}`]: here[c] as number, "at α = 2 (tanh)": tanh[c] as number }));
  return { figure, conclusion, rows };
}

/** Monte Carlo through `FSQ.quantize` (random tensors) against the exact code probabilities. */
export function empiricalSection(cfg: ActivationCollapseConfig): Section {
  const L = cfg.levels;
  const s = shapes(cfg, L);
  const data: Partial<Plotly.Data>[] = [];
  let worst = 0;
  let worstSe = 0;
  for (const bound of ["tanh", "ifsq"] as const) {
    const fsq = new FSQ({ levels: [L], bound: bound === "ifsq" ? { kind: "ifsq", alpha: cfg.alpha } : "tanh" });
    const mc = sampleOccupancy(fsq, { n: cfg.mcSamples, sigma: cfg.sigma, seed: cfg.seed });
    const exact = codeProbabilities(s[bound], L, cfg.sigma);
    exact.probs.forEach((p, k) => {
      const d = Math.abs(mc.freqs[0][k] - p);
      if (d > worst) [worst, worstSe] = [d, Math.sqrt((p * (1 - p)) / cfg.mcSamples)];
    });
    const color = COLORS[bound];
    const name = bound === "tanh" ? "tanh (FSQ)" : "iFSQ";
    data.push({ x: exact.q, y: mc.freqs[0], name: `${name}: FSQ.quantize histogram`, type: "bar", marker: { color, opacity: 0.55 } } as Partial<Plotly.Data>);
    data.push({ x: exact.q, y: exact.probs, name: `${name}: exact`, type: "scatter", mode: "markers", marker: { color, symbol: "diamond", size: 8, line: { color: "#000", width: 1 } } } as Partial<Plotly.Data>);
  }
  const figure: Figure = {
    data,
    layout: {
      title: { text: `L = ${L}, σ = ${cfg.sigma}: ${cfg.mcSamples.toLocaleString("en-US")} random pre-activations through FSQ.quantize vs the exact P(q)` },
      xaxis: { title: { text: "code q" } },
      yaxis: { title: { text: "frequency" } },
      barmode: "group",
      height: 400,
    },
  };
  const conclusion =
    `With ${cfg.mcSamples.toLocaleString("en-US")} samples per bound, the largest gap between the tfjs quantizer's histogram and the ` +
    `exact probabilities is ${worst.toExponential(1)} (${(worst / worstSe).toFixed(1)} standard errors)` +
    (worst <= 5 * worstSe ? ": sampling noise only, the analysis describes what the quantizer does." : ": more than sampling noise, so the analysis and the quantizer disagree.");
  return { figure, conclusion };
}

/** The straight-through gradient d quantize(z)/dz (tf.grad through FSQ.quantize) for both bounds, vs bound′(z)/h. */
export function steGradientSection(cfg: ActivationCollapseConfig): Section {
  const L = cfg.levels;
  const s = shapes(cfg, L);
  const zs = linspace(-4, 4, cfg.gradPoints);
  const data: Partial<Plotly.Data>[] = [];
  let maxErr = 0;
  const at = (b: BoundConstants, z: number) => boundDerivative(b, z) / b.halfWidth;
  for (const bound of ["tanh", "ifsq"] as const) {
    const fsq = new FSQ({ levels: [L], bound: bound === "ifsq" ? { kind: "ifsq", alpha: cfg.alpha } : "tanh" });
    const g = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => tf.sum(fsq.quantize(x)))(tf.tensor2d(zs, [zs.length, 1])).dataSync()));
    const exact = zs.map((z) => at(s[bound], z));
    g.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - exact[i]))));
    const color = COLORS[bound];
    const name = bound === "tanh" ? "tanh (FSQ)" : "iFSQ";
    data.push({ x: zs, y: g, name: `${name}: tf.grad of quantize`, type: "scatter", mode: "lines", line: { color, width: 3 }, opacity: 0.6 } as Partial<Plotly.Data>);
    data.push({ x: zs, y: exact, name: `${name}: bound′(z)/h`, type: "scatter", mode: "lines", line: { color: "#000", width: 1, dash: "dot" } } as Partial<Plotly.Data>);
  }
  const figure: Figure = {
    data,
    layout: {
      title: { text: `Straight-through gradient of the quantizer, L = ${L}` },
      xaxis: { title: { text: "pre-activation z" } },
      yaxis: { title: { text: "∂ẑ/∂z" }, rangemode: "tozero" },
      height: 400,
    },
  };
  const ratio = (b: BoundConstants, z: number) => at(b, z) / at(b, 0);
  const mass = (b: BoundConstants) => {
    // expected gradient under z ~ N(0, σ²), a measure of how much signal reaches the encoder
    let acc = 0;
    const n = 2001;
    for (let i = 0; i < n; i++) {
      const u = -8 + (16 * i) / (n - 1);
      acc += normalPdf(u) * at(b, cfg.sigma * u) * (16 / (n - 1));
    }
    return acc;
  };
  const rt = ratio(s.tanh, 2);
  const ri = ratio(s.ifsq, 2);
  const conclusion =
    `tf.grad through FSQ.quantize equals bound′(z)/h to ${maxErr.toExponential(1)}. At z = 0 the gradient is ` +
    `${at(s.tanh, 0).toFixed(3)} for tanh and ${at(s.ifsq, 0).toFixed(3)} for iFSQ; at |z| = 2 it has fallen to ` +
    `${pct(rt, 0)} of that for tanh and to ${pct(ri, 0)} for iFSQ, so ${rt < ri ? "tanh's" : "iFSQ's"} gradient vanishes sooner ` +
    `for large pre-activations. Averaged over z ~ N(0, ${cfg.sigma}²) it is ${mass(s.tanh).toFixed(3)} (tanh) vs ${mass(s.ifsq).toFixed(3)} (iFSQ).`;
  return { figure, conclusion };
}
