/**
 * Notebook 01, sections 6–7: the tfjs quantizer itself against the analysis — a Monte-Carlo histogram through
 * `FSQ.quantize` vs the exact code probabilities, and the straight-through gradient (tf.grad through FSQ.quantize)
 * vs bound′(z)/h.
 */
import * as tf from "@tensorflow/tfjs";
import type * as Plotly from "plotly.js";
import { FSQ } from "../../quant/fsq";
import { boundDerivative, type BoundConstants } from "../../quant/bounds";
import { codeProbabilities } from "../../quant/collapse";
import { normalPdf } from "../../quant/numerics";
import { sampleOccupancy } from "../../quant/histogram";
import type { ActivationCollapseConfig } from "./config";
import { COLORS, linspace, pct, shapes, type Figure, type Section } from "./section";

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
