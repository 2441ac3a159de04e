/**
 * Notebook 05's numbers, aggregated from the per-run results (pure: plain numbers in, plain numbers out):
 *   - per bound and L, a reconstruction metric over the seeds (mean, min, max; `seedSummaryByLevel`);
 *   - iFSQ against FSQ (tanh) at every L that has both, judged against the measured seed spread (`boundComparisons`);
 *   - the trend of a metric with bits: monotone up to the seed spread, and with diminishing returns when the gain per
 *     added bit shrinks (`bitsTrend`);
 *   - per generator kind and guidance, gFID vs bits with its knee against the sampling noise (`generatorCurve`).
 *
 *   sampling noise of a gFID = |gFID(first half) − gFID(second half)|; a curve's tolerance = the largest over its points
 *   slope_i = (mean_{i+1} − mean_i) / (bits_{i+1} − bits_i);  diminishing ⇔ last slope < first slope, both oriented to "better"
 */
import { compareSeeds, summarizeSeeds, type SeedComparison, type SeedSummary } from "../seed-spread";
import { findKnee, type Knee } from "./knee";
import { checkComparableFids } from "../../eval/fid-manifest";
import type { BitsBound } from "./grid";
import type { BitsGenEval, BitsGeneratorResult, BitsTokenizerResult, GeneratorKind } from "./run";

export interface ReconMetric {
  label: string;
  higherIsBetter: boolean;
  digits: number;
  of: (r: BitsTokenizerResult) => number;
}

export const RECON_METRICS = {
  psnr: { label: "PSNR (dB)", higherIsBetter: true, digits: 2, of: (r: BitsTokenizerResult) => r.row.psnr },
  ssim: { label: "SSIM", higherIsBetter: true, digits: 3, of: (r: BitsTokenizerResult) => r.row.ssim },
  rfid: { label: "rFID", higherIsBetter: false, digits: 2, of: (r: BitsTokenizerResult) => r.row.rfid },
  utilisation: { label: "utilisation (H/log₂L)", higherIsBetter: true, digits: 3, of: (r: BitsTokenizerResult) => r.row.utilisation },
  endBinMass: { label: "end-code mass", higherIsBetter: false, digits: 4, of: (r: BitsTokenizerResult) => r.row.endBinMass },
  perplexity: { label: "joint-code perplexity", higherIsBetter: true, digits: 0, of: (r: BitsTokenizerResult) => r.row.perplexity },
} satisfies Record<string, ReconMetric>;
export type ReconKey = keyof typeof RECON_METRICS;

export interface LevelSummary {
  L: number;
  bits: number;
  summary: SeedSummary;
}

/** The levels of a bound in the results, ascending. */
export function levelsOf(results: readonly BitsTokenizerResult[], bound: BitsBound): number[] {
  return [...new Set(results.filter((r) => r.bound === bound).map((r) => r.L))].sort((a, b) => a - b);
}

/** rFIDs are compared across L, bounds and seeds only when measured alike (lib/eval/fid-manifest.ts). */
function checkRfids(results: readonly BitsTokenizerResult[], key: ReconKey): void {
  if (key !== "rfid") return;
  checkComparableFids(results.map((r) => ({ label: `${r.bound} L=${r.L} seed ${r.seed}`, manifest: r.rfidManifest })), { what: "bits sweep: rFID across L and bounds" });
}

/** Per L (ascending), a metric of one bound over its seeds. */
export function seedSummaryByLevel(results: readonly BitsTokenizerResult[], bound: BitsBound, key: ReconKey): LevelSummary[] {
  const m = RECON_METRICS[key];
  checkRfids(results, key);
  return levelsOf(results, bound).map((L) => {
    const runs = results.filter((r) => r.bound === bound && r.L === L);
    return { L, bits: runs[0].bits, summary: summarizeSeeds(runs.map(m.of), `${m.label} of ${bound} L=${L}`) };
  });
}

/** At every L with both bounds: iFSQ (b) against tanh (a) over the seeds. */
export function boundComparisons(results: readonly BitsTokenizerResult[], key: ReconKey): { L: number; bits: number; cmp: SeedComparison }[] {
  const m = RECON_METRICS[key];
  checkRfids(results, key);
  const tanh = new Set(levelsOf(results, "tanh"));
  return levelsOf(results, "ifsq")
    .filter((L) => tanh.has(L))
    .map((L) => {
      const of = (b: BitsBound) => results.filter((r) => r.bound === b && r.L === L).map(m.of);
      return { L, bits: Math.log2(L), cmp: compareSeeds(of("tanh"), of("ifsq"), { higherIsBetter: m.higherIsBetter }) };
    });
}

export interface BitsTrend {
  /** Every step to more bits is better, or worse by at most the seed spread (max − min over seeds, the larger of the two points'). */
  monotone: boolean;
  /** L of the steps that got worse beyond the spread: [from, to]. */
  violations: [number, number][];
  /** Gain per added bit of each step, oriented so that positive = better. */
  slopes: number[];
  /** The last step gains less per bit than the first. */
  diminishing: boolean;
  /** Gain from the fewest to the most bits (positive = better), and whether it exceeds the seed spread of either end. */
  total: number;
  significant: boolean;
}

export function bitsTrend(points: readonly LevelSummary[], higherIsBetter: boolean): BitsTrend {
  if (points.length < 2) return { monotone: true, violations: [], slopes: [], diminishing: false, total: 0, significant: false };
  const sign = higherIsBetter ? 1 : -1;
  const slopes: number[] = [];
  const violations: [number, number][] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i];
    const b = points[i + 1];
    const gain = sign * (b.summary.mean - a.summary.mean);
    slopes.push(gain / (b.bits - a.bits));
    if (gain < -Math.max(a.summary.range, b.summary.range)) violations.push([a.L, b.L]);
  }
  const first = points[0].summary;
  const last = points[points.length - 1].summary;
  const total = sign * (last.mean - first.mean);
  return { monotone: violations.length === 0, violations, slopes, diminishing: slopes[slopes.length - 1] < slopes[0], total, significant: Math.abs(total) > Math.max(first.range, last.range) };
}

export interface GeneratorCurve {
  kind: GeneratorKind;
  guided: boolean;
  cfgScale: number;
  points: { L: number; bits: number; gfid: number; noise: number; precision: number; recall: number }[];
  /** The largest sampling noise over the points: the knee's tolerance. */
  tolerance: number;
  knee: Knee;
}

/** Sampling noise of one evaluation: the gap between the gFIDs of its two halves. */
export function samplingNoise(e: BitsGenEval): number {
  return Math.abs(e.halves[0] - e.halves[1]);
}

/** gFID vs bits of one generator kind, unguided or guided, with its knee. */
export function generatorCurve(generators: readonly BitsGeneratorResult[], kind: GeneratorKind, guided: boolean): GeneratorCurve {
  const runs = generators.filter((g) => g.kind === kind).sort((a, b) => a.L - b.L);
  if (runs.length === 0) throw new Error(`generatorCurve: no ${kind} runs in the results`);
  checkComparableFids(runs.map((g) => ({ label: `${kind} L=${g.L}${guided ? " guided" : ""}`, manifest: (guided ? g.guided : g.unguided).manifest })), { what: `bits sweep: ${kind} gFID across L` });
  const points = runs.map((g) => {
    const e = guided ? g.guided : g.unguided;
    return { L: g.L, bits: g.bits, gfid: e.gfid, noise: samplingNoise(e), precision: e.precision, recall: e.recall };
  });
  const tolerance = Math.max(...points.map((p) => p.noise));
  const knee = findKnee(points.map((p) => ({ bits: p.bits, value: p.gfid })), { lowerIsBetter: true, tolerance });
  return { kind, guided, cfgScale: guided ? runs[0].guided.cfgScale : 1, points, tolerance, knee };
}

/** Spearman rank correlation of two equally long lists (average ranks for ties); NaN below 3 points. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`spearman: lists of ${a.length} and ${b.length} values; expected equal lengths`);
  if (a.length < 3) return NaN;
  const ranks = (v: readonly number[]) => {
    const idx = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
      for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  return da === 0 || db === 0 ? NaN : num / Math.sqrt(da * db);
}
