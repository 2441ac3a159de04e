/**
 * Notebook 02's figures and tables, from a TokenizerComparison (bin-histograms/comparison.ts): the run summary, training
 * loss vs FLOPs, per-channel histograms of the bounded activations with the density a Gaussian pre-activation of the
 * measured mean/std would give, per-channel code occupancy, the per-run metrics, the per-channel table and a
 * reconstruction grid. Histograms, occupancy and reconstructions show the first seed of each bound.
 *
 *   show(activationHistogramsFigure(cmp), { name: "02-histograms" })
 *
 *   uniform y on [−1, 1] ⇒ density ½; code k of L = 2h + 1 levels gets 1/(2h) (inner) or 1/(4h) (the two end codes)
 */
import { alsoInColumn } from "../shared-runs";
import type { PresetName } from "../../train/config";
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle, REFERENCE_COLOR, type MethodStyle } from "../../view/palette";
import { activationDensityCurve } from "../../quant/collapse";
import type { Bound } from "../../quant/bounds";
import { lossVsFlopsFigure } from "../loss-vs-flops";
import { runSummary, trainRows } from "../run-summary";
import type { ComparedRun, TokenizerComparison } from "./comparison";
import { COMPARED_BOUNDS, type ComparedBound } from "./grid";

/** Name and colour of a bound in this comparison. */
export function boundStyle(cmp: TokenizerComparison, b: ComparedBound): MethodStyle {
  return methodStyle(b, { alpha: cmp.setup.alpha });
}

/** The analysed bound of a compared bound (iFSQ with the comparison's α). */
export function boundOf(cmp: TokenizerComparison, b: ComparedBound): Bound {
  return b === "ifsq" ? { kind: "ifsq", alpha: cmp.setup.alpha } : { kind: "tanh" };
}

const first = (cmp: TokenizerComparison, b: ComparedBound): ComparedRun => cmp.runs[b][0];
const axisSuffix = (j: number) => (j === 0 ? "" : String(j + 1));
const allRuns = (cmp: TokenizerComparison) => COMPARED_BOUNDS.flatMap((b) => cmp.runs[b]);

/** One row per run: bound, seed, run folder, reused, budget, speed, parameters (and, given the preset, the other notebooks that train it). */
export function tokenizerRunRows(cmp: TokenizerComparison, preset?: PresetName): Record<string, string | number>[] {
  return allRuns(cmp).map((r) => runSummary(r, { bound: boundStyle(cmp, r.bound).name, seed: r.seed }, { params: r.params, ...alsoInColumn(r.runDir, preset, "02") }));
}

/** Training L1 against training FLOPs, one line per run (dashed for seeds after the first). */
export function tokenizerLossFigure(cmp: TokenizerComparison): PlotlyFigure {
  return lossVsFlopsFigure({
    title: "Training L1 reconstruction loss vs training FLOPs",
    yTitle: "mean |x − x̂| on [−1, 1] (window mean)",
    logY: true,
    height: 360,
    curves: allRuns(cmp).map((r, i) => ({
      name: `${boundStyle(cmp, r.bound).name}, seed ${r.seed}`,
      rows: trainRows(r),
      key: "l1",
      fallbackKey: "loss",
      color: boundStyle(cmp, r.bound).color,
      dash: r.seed === cmp.setup.seeds[0] ? "solid" : "dot",
      group: r.bound,
      width: i < 2 ? 2 : 1,
    })),
  });
}

/** Per channel: measured density of y_j (bars), the Gaussian-fit density (curves) and the uniform ½ (dotted). */
export function activationHistogramsFigure(cmp: TokenizerComparison): PlotlyFigure {
  const ref = first(cmp, "ifsq").evaluation;
  const edges = ref.stats.histEdges;
  const centers = edges.slice(0, -1).map((e, i) => (e + edges[i + 1]) / 2);
  const D = cmp.setup.levels.length;
  const data: any[] = [];
  const layout: any = {
    title: { text: `Bounded activations y = bound(z)/h per channel (${ref.row.images} test images × ${ref.stats.count / ref.row.images} positions, seed ${cmp.setup.seeds[0]})` },
    barmode: "overlay", bargap: 0, height: 380, grid: { rows: 1, columns: D, pattern: "independent" },
  };
  for (let j = 0; j < D; j++) {
    const ax = axisSuffix(j);
    const on = { xaxis: `x${ax}`, yaxis: `y${ax}`, showlegend: j === 0 };
    for (const b of COMPARED_BOUNDS) {
      const s = first(cmp, b).evaluation.stats;
      const st = boundStyle(cmp, b);
      data.push({ x: centers, y: s.histDensity[j], type: "bar", name: st.name, legendgroup: b, marker: { color: st.color }, opacity: 0.55, ...on });
      const curve = activationDensityCurve(boundOf(cmp, b), cmp.setup.levels[j], s.preStd[j], 201, s.preMean[j]);
      data.push({ x: curve.y, y: curve.density, type: "scatter", mode: "lines", name: `${st.name}: Gaussian fit`, legendgroup: `${b}-fit`, line: { color: st.color, width: 1.5 }, ...on });
    }
    data.push({ x: [-1, 1], y: [0.5, 0.5], type: "scatter", mode: "lines", name: "uniform", legendgroup: "u", line: { color: "black", dash: "dot", width: 1 }, ...on });
    const top = Math.max(...COMPARED_BOUNDS.map((b) => Math.max(...first(cmp, b).evaluation.stats.histDensity[j])));
    layout[`xaxis${ax}`] = { title: { text: `channel ${j}` }, range: [-1.02, 1.02] };
    layout[`yaxis${ax}`] = { range: [0, Math.min(3, top * 1.1)] };
  }
  return { data, layout };
}

/** Share of code k = −h … h for a uniform y: 1/(2h) inner, 1/(4h) for the two half-width end codes. */
export function uniformCodeShares(L: number): number[] {
  const h = Math.floor(L / 2);
  return Array.from({ length: L }, (_, i) => (Math.abs(i - h) === h ? 1 / (4 * h) : 1 / (2 * h)));
}

/** Per channel: share of test positions on each code (bars), and what a uniform y would give (dashed). */
export function codeOccupancyFigure(cmp: TokenizerComparison): PlotlyFigure {
  const D = cmp.setup.levels.length;
  const data: any[] = [];
  const layout: any = { title: { text: `Code occupancy per channel (test set, seed ${cmp.setup.seeds[0]})` }, barmode: "group", height: 360, grid: { rows: 1, columns: D, pattern: "independent" } };
  for (let j = 0; j < D; j++) {
    const ax = axisSuffix(j);
    const L = cmp.setup.levels[j];
    const h = Math.floor(L / 2);
    const ks = Array.from({ length: L }, (_, i) => i - h);
    const on = { xaxis: `x${ax}`, yaxis: `y${ax}`, showlegend: j === 0 };
    for (const b of COMPARED_BOUNDS) {
      const st = boundStyle(cmp, b);
      data.push({ x: ks, y: first(cmp, b).evaluation.stats.occupancyP[j], type: "bar", name: st.name, legendgroup: b, marker: { color: st.color }, ...on });
    }
    data.push({ x: ks, y: uniformCodeShares(L), type: "scatter", mode: "lines", line: { shape: "hvh", dash: "dash", color: REFERENCE_COLOR, width: 1 }, name: "uniform y", legendgroup: "u", ...on });
    layout[`xaxis${ax}`] = { title: { text: `channel ${j}: code k` } };
  }
  return { data, layout };
}

/** Mean over channels of the pre-activation std of one run. */
export function meanPreStd(r: ComparedRun): number {
  const v = r.evaluation.stats.preStd;
  return v.reduce((a, x) => a + x, 0) / v.length;
}

/** One row per run: the test-split metrics of the paper's table (§8) plus rFID and the pre-activation scale. */
export function tokenizerMetricRows(cmp: TokenizerComparison): Record<string, string | number>[] {
  return allRuns(cmp).map((r) => {
    const row = r.evaluation.row;
    return {
      bound: boundStyle(cmp, r.bound).name, seed: r.seed, "entropy (bits/dim)": row.entropy, utilisation: row.utilisation, "end-code mass": row.endBinMass,
      "codes used": r.evaluation.stats.usedCodes, usage: row.usage, perplexity: row.perplexity, "PSNR (dB)": row.psnr, SSIM: row.ssim, rFID: row.rfid,
      "z std (mean over ch)": meanPreStd(r),
    };
  });
}

/** Per channel of the first seed: entropy, utilisation, end-code mass, z mean and std. */
export function perChannelRows(cmp: TokenizerComparison): Record<string, string | number>[] {
  return COMPARED_BOUNDS.flatMap((b) => {
    const s = first(cmp, b).evaluation.stats;
    return s.entropy.map((h, j) => ({ bound: boundStyle(cmp, b).name, channel: j, "entropy (bits)": h, utilisation: s.utilisation[j], "end-code mass": s.endBinMass[j], "z mean": s.preMean[j], "z std": s.preStd[j] }));
  });
}

/** Originals, then the first seed's FSQ and iFSQ reconstructions, one row each, as one image grid. */
export function reconstructionGrid(cmp: TokenizerComparison): { images: Float32Array; shape: [number, number, number, number]; cols: number; caption: string } {
  const t = first(cmp, "tanh").evaluation;
  const f = first(cmp, "ifsq").evaluation;
  const [n, h, w, c] = f.examples.shape;
  const per = h * w * c;
  const images = new Float32Array(3 * n * per);
  images.set(f.examples.originals, 0);
  images.set(t.examples.reconstructions, n * per);
  images.set(f.examples.reconstructions, 2 * n * per);
  const name = (b: ComparedBound) => boundStyle(cmp, b).name;
  const caption = `Row 1: originals; row 2: ${name("tanh")} (PSNR ${t.row.psnr.toFixed(2)} dB); row 3: ${name("ifsq")} (PSNR ${f.row.psnr.toFixed(2)} dB); seed ${cmp.setup.seeds[0]}`;
  return { images, shape: [3 * n, h, w, c], cols: n, caption };
}
