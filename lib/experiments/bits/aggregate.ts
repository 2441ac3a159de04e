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

export interface GeneratorPoint {
  L: number;
  bits: number;
  /** Mean over the generator seeds. */
  gfid: number;
  /** Per seed, in seed order. */
  seeds: number[];
  gfids: number[];
  /** Largest half-sample gap over the seeds (sampling noise). */
  noise: number;
  /** max − min of gFID over the seeds (training-seed spread; 0 with one seed). */
  seedRange: number;
  precision: number;
  recall: number;
}

export interface GeneratorCurve {
  kind: GeneratorKind;
  guided: boolean;
  cfgScale: number;
  points: GeneratorPoint[];
  /** The knee's tolerance: the largest of every point's sampling noise and training-seed spread. */
  tolerance: number;
  knee: Knee;
}

/** Sampling noise of one evaluation: the gap between the gFIDs of its two halves. */
export function samplingNoise(e: BitsGenEval): number {
  return Math.abs(e.halves[0] - e.halves[1]);
}

/** gFID vs bits of one generator kind, unguided or guided: per L the mean over the generator seeds, and its knee. */
export function generatorCurve(generators: readonly BitsGeneratorResult[], kind: GeneratorKind, guided: boolean): GeneratorCurve {
  const runs = generators.filter((g) => g.kind === kind).sort((a, b) => a.L - b.L || a.seed - b.seed);
  if (runs.length === 0) throw new Error(`generatorCurve: no ${kind} runs in the results`);
  checkComparableFids(runs.map((g) => ({ label: `${kind} L=${g.L} seed ${g.seed}${guided ? " guided" : ""}`, manifest: (guided ? g.guided : g.unguided).manifest })), { what: `bits sweep: ${kind} gFID across L` });
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const levels = [...new Set(runs.map((g) => g.L))];
  const points = levels.map((L): GeneratorPoint => {
    const at = runs.filter((g) => g.L === L);
    const evals = at.map((g) => (guided ? g.guided : g.unguided));
    const gfids = evals.map((e) => e.gfid);
    return {
      L, bits: at[0].bits, gfid: mean(gfids), seeds: at.map((g) => g.seed), gfids,
      noise: Math.max(...evals.map(samplingNoise)), seedRange: Math.max(...gfids) - Math.min(...gfids),
      precision: mean(evals.map((e) => e.precision)), recall: mean(evals.map((e) => e.recall)),
    };
  });
  const tolerance = Math.max(...points.map((p) => Math.max(p.noise, p.seedRange)));
  const knee = findKnee(points.map((p) => ({ bits: p.bits, value: p.gfid })), { lowerIsBetter: true, tolerance });
  return { kind, guided, cfgScale: guided ? runs[0].guided.cfgScale : 1, points, tolerance, knee };
}

/** The budget check at one L: the full-budget reconstruction (mean over seeds) against the half-budget run's. */
export interface BudgetCheck {
  L: number;
  halfSteps: number;
  fullSteps: number;
  half: number;
  full: number;
  /** full − half, oriented so that positive = better with more steps. */
  change: number;
  /** max − min over the full-budget seeds at this L. */
  seedRange: number;
  /** |change| ≤ seedRange: the last doubling of steps moves the metric by no more than the seed spread. */
  settled: boolean;
}

/** For every half-budget tokenizer: how much the metric moved over the last doubling of steps, against the seed spread. */
export function budgetChecks(full: readonly BitsTokenizerResult[], half: readonly BitsTokenizerResult[], key: ReconKey): BudgetCheck[] {
  const m = RECON_METRICS[key];
  const sign = m.higherIsBetter ? 1 : -1;
  return half.map((h) => {
    const runs = full.filter((r) => r.bound === "ifsq" && r.L === h.L);
    if (runs.length === 0) throw new Error(`budgetChecks: no full-budget iFSQ tokenizer at L=${h.L} for the half-budget run ${h.run.label}`);
    const s = summarizeSeeds(runs.map(m.of), `${m.label} of ifsq L=${h.L}`);
    const change = sign * (s.mean - m.of(h));
    return { L: h.L, halfSteps: h.run.config.steps, fullSteps: runs[0].run.config.steps, half: m.of(h), full: s.mean, change, seedRange: s.range, settled: Math.abs(change) <= s.range };
  });
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
