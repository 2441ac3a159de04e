/**
 * Notebook 01, section 5: why α ≈ 1.6. Distances of y = 2·sigmoid(αx) − 1 (x ~ N(0, σ²)) to U(−1, 1) as α varies,
 * the argmin of each criterion (quant/collapse.ts), and the range those argmins span:
 *
 *   range = [min_c argmin_c, max_c argmin_c] over every criterion c;  α is "inside" within ±5e-4 (3-decimal rounding)
 */
import type * as Plotly from "plotly.js";
import { alphaArgmins, alphaCriterion, alphaSweep, type AlphaCriterion } from "../../quant/collapse";
import type { ActivationCollapseConfig } from "./config";
import { checkRange, linspace, type Figure, type Section } from "./section";

const CRITERION_LABEL: Record<AlphaCriterion, string> = {
  slope: "slope match at 0",
  l2Cdf: "Gaussian-weighted L2 of CDFs",
  cvm: "Cramér–von Mises",
  w1: "Wasserstein-1",
  ks: "Kolmogorov–Smirnov",
  l2Density: "L2 of densities",
  kl: "KL(p_Y ‖ U)",
};

/** The span of the criteria's argmins, and where α and tanh's α = 2 lie against it. */
export interface ArgminRange {
  lo: number;
  hi: number;
  /** α within [lo, hi] up to ±5e-4 (the argmins are shown to 3 decimals). */
  inside: boolean;
  /** tanhAlpha − hi: how far above the largest argmin tanh's slope lies. */
  tanhGap: number;
}

export function argminRange(arg: Readonly<Record<string, number>>, alpha: number, tanhAlpha = 2): ArgminRange {
  const v = Object.values(arg);
  if (v.length === 0 || v.some((a) => !Number.isFinite(a))) throw new Error(`argminRange: argmins ${JSON.stringify(arg)}; expected one finite α per criterion`);
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return { lo, hi, inside: alpha >= lo - 5e-4 && alpha <= hi + 5e-4, tanhGap: tanhAlpha - hi };
}

/**
 * "Every criterion puts the optimum between α = 1.600 and 1.748; α = 1.6 lies inside this range, and tanh's α = 2
 * lies 0.252 above its top (1.7× the range's width)".
 */
export function argminRangeText(arg: Readonly<Record<string, number>>, alpha: number, tanhAlpha = 2): string {
  const r = argminRange(arg, alpha, tanhAlpha);
  const width = r.hi - r.lo;
  const where = r.tanhGap > 0 ? `${r.tanhGap.toFixed(3)} above its top` : `${(-r.tanhGap).toFixed(3)} below its top`;
  return `Every criterion puts the optimum between α = ${r.lo.toFixed(3)} and ${r.hi.toFixed(3)}; α = ${alpha} lies ${r.inside ? "inside" : "outside"} this range, ` +
    `and tanh's α = ${tanhAlpha} lies ${where}` + (width > 0 ? ` (${(Math.abs(r.tanhGap) / width).toFixed(1)}× the range's width)` : "");
}

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
  const at = (a: number) => alphaSweep([a], cfg.levels, cfg.sigma)[0];
  const here = at(cfg.alpha);
  const tanh = at(2);
  const ratios = (["kl", "w1", "cvm"] as const).map((c) => [c, (tanh[c] as number) / (here[c] as number)] as const);
  const conclusion =
    `${argminRangeText(arg, cfg.alpha)}. The argmins: slope match ${arg.slope.toFixed(3)} = 4/(σ√(2π)), ` +
    `W1 ${arg.w1.toFixed(3)}, Cramér–von Mises ${arg.cvm.toFixed(3)}, KL ${arg.kl.toFixed(3)}. ` +
    `Relative to α = ${cfg.alpha}, tanh (α = 2) has ` +
    ratios.map(([c, r]) => `${r.toFixed(1)}× the ${CRITERION_LABEL[c]}`).join(", ") + ".";
  const rows = names.map((c) => ({ criterion: CRITERION_LABEL[c], "argmin α": arg[c], [`at α = ${cfg.alpha}`]: here[c] as number, "at α = 2 (tanh)": tanh[c] as number }));
  return { figure, conclusion, rows };
}
