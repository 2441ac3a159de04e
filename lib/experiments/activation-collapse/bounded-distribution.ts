/**
 * Notebook 01, sections 1–4: the distribution of the bounded activation y for x ~ N(0, σ²) under the two bounds,
 * from the exact analysis (quant/collapse.ts): the mappings, the densities of y, the bin occupancy P(q), and entropy /
 * end-bin mass as σ grows. Each section returns `{ figure, conclusion, rows? }`; the notebook only shows them.
 *
 *   const m = mappingsSection(cfg); show(m.figure, { name: "mappings" }); markdown(m.conclusion);
 */
import * as tf from "@tensorflow/tfjs";
import type * as Plotly from "plotly.js";
import { FSQ } from "../../quant/fsq";
import type { BoundConstants } from "../../quant/bounds";
import { activationDensity, analyticCodeStats, codeProbabilities, collapseStats, uniformCodeProbabilities } from "../../quant/collapse";
import { minimizeScalar, normalCdf, normalPdf } from "../../quant/numerics";
import type { ActivationCollapseConfig } from "./config";
import { checkRange, COLORS, linspace, pct, shapes, type Figure, type Section } from "./section";

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
