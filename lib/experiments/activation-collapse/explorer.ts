/**
 * Notebook 01's explorers: one figure per knob (σ, α or L) with a plotly slider over it, the other two held at the
 * config's values. Every slider position is a precomputed plotly frame, so the slider works without a kernel (in a
 * saved notebook, its HTML export, or the figure JSON). Three panels, all from the exact analysis (quant/collapse.ts):
 *
 *   1. density p(y) of the bounded value y = bound(x), x ~ N(0, σ²), for tanh (FSQ) and 2·sigmoid(αx) − 1 (iFSQ);
 *   2. bin occupancy P(q) against the normalised code q/h (h = ⌊L/2⌋), so different L share one axis;
 *   3. code entropy H = −Σ P(q) log₂ P(q) over the whole slider range (lines) and at the slider's value (markers).
 *
 * Trace order (frames rewrite traces 0–3 and 6–7): 0 tanh density, 1 iFSQ density, 2 tanh bars, 3 iFSQ bars,
 * 4 tanh H curve, 5 iFSQ H curve, 6 tanh H marker, 7 iFSQ H marker, 8 uniform density 0.5 (fixed).
 */
import type * as Plotly from "plotly.js";
import { boundConstants } from "../../quant/bounds";
import { activationDensity, analyticCodeStats, codeProbabilities } from "../../quant/collapse";
import type { ActivationCollapseConfig } from "./config";
import { checkRange, COLORS, linspace, type Figure } from "./section";

export type ExplorerKnob = "sigma" | "alpha" | "levels";

/** One slider position: the parameters and what the three panels show there. */
export interface ExplorerState {
  sigma: number;
  alpha: number;
  levels: number;
  /** Grid of y for the densities. */
  y: number[];
  density: { tanh: number[]; ifsq: number[] };
  /** Normalised codes q/h and P(q). */
  codes: number[];
  occupancy: { tanh: number[]; ifsq: number[] };
  entropy: { tanh: number; ifsq: number };
  endMass: { tanh: number; ifsq: number };
}

/** A figure with frames and sliders (what `show` draws). */
export interface ExplorerFigure extends Figure {
  frames: Partial<Plotly.Frame>[];
}

const DENSITY_POINTS = 121;
const KNOB_LABEL: Record<ExplorerKnob, string> = { sigma: "σ", alpha: "α", levels: "L" };

/** The three panels' numbers at (σ, α, L). */
export function explorerState(sigma: number, alpha: number, levels: number): ExplorerState {
  const t = boundConstants("tanh", levels);
  const f = boundConstants({ kind: "ifsq", alpha }, levels);
  const y = linspace(-0.99, 0.99, DENSITY_POINTS);
  const pt = codeProbabilities(t, levels, sigma);
  const pf = codeProbabilities(f, levels, sigma);
  const st = analyticCodeStats(t, levels, sigma);
  const sf = analyticCodeStats(f, levels, sigma);
  return {
    sigma, alpha, levels, y,
    density: { tanh: y.map((v) => activationDensity(t, levels, sigma, v)), ifsq: y.map((v) => activationDensity(f, levels, sigma, v)) },
    codes: pt.codes,
    occupancy: { tanh: pt.probs, ifsq: pf.probs },
    entropy: { tanh: st.entropy, ifsq: sf.entropy },
    endMass: { tanh: st.endMass, ifsq: sf.endMass },
  };
}

/** The slider's values for a knob: an even grid over the config's range (σ, α) or odd L, always holding the config's value. */
export function explorerValues(cfg: ActivationCollapseConfig, knob: ExplorerKnob, steps = 12): number[] {
  if (!(Number.isInteger(steps) && steps >= 3)) throw new Error(`explorerValues: steps=${steps}; expected an integer ≥ 3`);
  const round = (v: number) => Number(v.toFixed(3));
  let vals: number[];
  if (knob === "sigma") vals = [...linspace(...checkRange(cfg.sigmaRange, "sigmaRange"), steps).map(round), cfg.sigma];
  else if (knob === "alpha") vals = [...linspace(...checkRange(cfg.alphaRange, "alphaRange"), steps).map(round), cfg.alpha, 2];
  else if (knob === "levels") vals = [3, 5, 7, 9, 11, 13, 15, 17, 21, 25, 33, cfg.levels, ...cfg.occupancyLevels];
  else throw new Error(`explorerValues: knob=${JSON.stringify(knob)}; expected "sigma", "alpha" or "levels"`);
  return [...new Set(vals)].sort((a, b) => a - b);
}

function stateAt(cfg: ActivationCollapseConfig, knob: ExplorerKnob, v: number): ExplorerState {
  return explorerState(knob === "sigma" ? v : cfg.sigma, knob === "alpha" ? v : cfg.alpha, knob === "levels" ? v : cfg.levels);
}

function titleOf(knob: ExplorerKnob, s: ExplorerState): string {
  const fixed = (["sigma", "alpha", "levels"] as const).filter((k) => k !== knob).map((k) => `${KNOB_LABEL[k]} = ${s[k]}`).join(", ");
  return `Explorer over ${KNOB_LABEL[knob]} (${fixed}): ${KNOB_LABEL[knob]} = ${s[knob]}<br>` +
    `entropy tanh ${s.entropy.tanh.toFixed(3)} / iFSQ ${s.entropy.ifsq.toFixed(3)} bits of log₂ L = ${Math.log2(s.levels).toFixed(3)}; ` +
    `end bins ${(100 * s.endMass.tanh).toFixed(1)} % / ${(100 * s.endMass.ifsq).toFixed(1)} %`;
}

/** The traces a frame rewrites (0–3, 6–7) at state s. */
function frameTraces(s: ExplorerState, x: number): Partial<Plotly.Data>[] {
  return [
    { x: s.y, y: s.density.tanh },
    { x: s.y, y: s.density.ifsq },
    { x: s.codes, y: s.occupancy.tanh },
    { x: s.codes, y: s.occupancy.ifsq },
    { x: [x], y: [s.entropy.tanh] },
    { x: [x], y: [s.entropy.ifsq] },
  ] as Partial<Plotly.Data>[];
}
const FRAME_TRACES = [0, 1, 2, 3, 6, 7];

/** Frame name of a slider value. */
export function explorerFrameName(knob: ExplorerKnob, v: number): string {
  return `${knob}=${v}`;
}

/**
 * The explorer over one knob: a slider whose every step animates to that value's frame (no kernel needed), starting
 * at the config's value.
 */
export function explorerFigure(cfg: ActivationCollapseConfig, knob: ExplorerKnob, steps = 12): ExplorerFigure {
  const values = explorerValues(cfg, knob, steps);
  const states = values.map((v) => stateAt(cfg, knob, v));
  const active = values.indexOf(knob === "sigma" ? cfg.sigma : knob === "alpha" ? cfg.alpha : cfg.levels);
  const s0 = states[active];
  const [d0t, d0f, b0t, b0f, m0t, m0f] = frameTraces(s0, values[active]);
  const densMax = Math.min(3, Math.max(...states.flatMap((s) => [...s.density.tanh, ...s.density.ifsq]))) * 1.05;
  const occMax = Math.max(...states.flatMap((s) => [...s.occupancy.tanh, ...s.occupancy.ifsq])) * 1.05;
  const line = (color: string) => ({ color, width: 2 });
  const data = [
    { ...d0t, name: "tanh (FSQ)", type: "scatter", mode: "lines", line: line(COLORS.tanh), legendgroup: "tanh" },
    { ...d0f, name: "iFSQ", type: "scatter", mode: "lines", line: line(COLORS.ifsq), legendgroup: "ifsq" },
    { ...b0t, name: "tanh P(q)", type: "bar", marker: { color: COLORS.tanh, opacity: 0.6 }, xaxis: "x2", yaxis: "y2", legendgroup: "tanh", showlegend: false },
    { ...b0f, name: "iFSQ P(q)", type: "bar", marker: { color: COLORS.ifsq, opacity: 0.6 }, xaxis: "x2", yaxis: "y2", legendgroup: "ifsq", showlegend: false },
    { x: values, y: states.map((s) => s.entropy.tanh), name: "tanh H", type: "scatter", mode: "lines", line: { color: COLORS.tanh, width: 1 }, xaxis: "x3", yaxis: "y3", legendgroup: "tanh", showlegend: false },
    { x: values, y: states.map((s) => s.entropy.ifsq), name: "iFSQ H", type: "scatter", mode: "lines", line: { color: COLORS.ifsq, width: 1 }, xaxis: "x3", yaxis: "y3", legendgroup: "ifsq", showlegend: false },
    { ...m0t, name: "tanh H here", type: "scatter", mode: "markers", marker: { color: COLORS.tanh, size: 11 }, xaxis: "x3", yaxis: "y3", legendgroup: "tanh", showlegend: false },
    { ...m0f, name: "iFSQ H here", type: "scatter", mode: "markers", marker: { color: COLORS.ifsq, size: 11, symbol: "diamond" }, xaxis: "x3", yaxis: "y3", legendgroup: "ifsq", showlegend: false },
    { x: [-1, 1], y: [0.5, 0.5], name: "uniform U(−1, 1)", type: "scatter", mode: "lines", line: { color: COLORS.ideal, dash: "dot" } },
  ] as Partial<Plotly.Data>[];
  const frames: Partial<Plotly.Frame>[] = states.map((s, i) => ({
    name: explorerFrameName(knob, values[i]),
    data: frameTraces(s, values[i]) as Plotly.Data[],
    traces: FRAME_TRACES,
    layout: { title: { text: titleOf(knob, s) } } as Partial<Plotly.Layout>,
  }));
  const slider: Partial<Plotly.Slider> = {
    active,
    currentvalue: { prefix: `${KNOB_LABEL[knob]} = `, visible: true } as Plotly.Slider["currentvalue"],
    pad: { t: 50 } as Plotly.Padding,
    steps: values.map((v) => ({
      label: String(v),
      method: "animate",
      args: [[explorerFrameName(knob, v)], { mode: "immediate", frame: { duration: 0, redraw: true }, transition: { duration: 0 } }],
    })) as Plotly.SliderStep[],
  };
  const layout: Partial<Plotly.Layout> = {
    title: { text: titleOf(knob, s0), font: { size: 13 } },
    grid: { rows: 1, columns: 3, pattern: "independent" },
    xaxis: { title: { text: "bounded value y" }, range: [-1, 1] },
    yaxis: { title: { text: "p(y)" }, range: [0, densMax] },
    xaxis2: { title: { text: "code q / h" }, range: [-1.1, 1.1] },
    yaxis2: { title: { text: "P(q)" }, range: [0, occMax] },
    xaxis3: { title: { text: KNOB_LABEL[knob] }, ...(knob === "levels" ? { type: "log" } : {}) },
    yaxis3: { title: { text: "entropy H (bits)" } },
    barmode: "group",
    sliders: [slider],
    margin: { t: 90 },
    height: 470,
  } as Partial<Plotly.Layout>;
  return { data, layout, frames };
}
