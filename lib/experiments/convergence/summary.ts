/**
 * What notebook 06 concludes from the convergence runs, computed (no figures here; report.ts draws them):
 *
 *   bands      per generator, mean/min/max gFID over seeds at each evaluation (bands.ts)
 *   crossings  of the two mean curves, and of every (AR seed, DiT seed) pair, in log-compute (crossover.ts);
 *              the crossover's uncertainty = the range of the single crossings over the pairs that cross once;
 *              a crossing of the means is "resolved" when at the AR evaluations just before and just after it
 *              |mean_AR − mean_DiT| exceeds the seed spread there (max of the two ranges), else it is seed noise
 *   early/end  AR vs DiT at 10 % and 100 % of the budget (each seed's curve interpolated in log-compute there),
 *              judged against the seed spread (seed-spread.ts, lower FID is better)
 *   flatness   of each mean curve over its last doubling of compute (flatness.ts)
 *   cfgEnd     AR vs DiT at the end with CFG (cfg-end.ts, every seed), judged like `end`, beside the same runs' unguided
 *              end (a paired change per generator: mean guided / mean unguided − 1)
 *   evalShare  Σ evaluation seconds / Σ run wall seconds over all runs
 */
import { compareSeeds, type SeedComparison } from "../seed-spread";
import { findCrossings, interpolateLogX, pairCrossings, type Crossing, type CurvePoint } from "./crossover";
import { seedBand, bandMean, type BandPoint } from "./bands";
import { flatness, type Flatness } from "./flatness";
import type { ConvergenceRun } from "./runs";
import { checkConvergenceFids } from "./fid-check";

export type Generator = "ar" | "dit";

export interface GeneratorCurves {
  kind: Generator;
  runs: ConvergenceRun[];
  band: BandPoint[];
  /** gFID with CFG at the end of the budget, per run (runs order), when every run has it (cfg-end.ts). */
  cfgEnd: { scale: number; gfid: number[] } | null;
  budget: number;
  flatness: Flatness;
}

export interface SeedPairCrossing {
  arSeed: number;
  ditSeed: number;
  crossings: Crossing[];
}

export interface FractionComparison {
  fraction: number;
  ar: number[];
  dit: number[];
  /** AR (b) against DiT (a), lower is better: "better" = AR's FID lower beyond the seed spread. */
  arVsDit: SeedComparison;
}

export interface JudgedCrossing extends Crossing {
  /** The lead on both sides of the crossing exceeds the seed spread (see the file comment). */
  resolved: boolean;
}

export interface ConvergenceSummary {
  ar: GeneratorCurves;
  dit: GeneratorCurves;
  /** Crossings of the two seed-mean curves (a = AR, b = DiT). */
  meanCrossings: JudgedCrossing[];
  pairs: SeedPairCrossing[];
  /** Range over the seed pairs that cross exactly once (null when none does). */
  pairRange: { pairs: number; minX: number; maxX: number; minY: number; maxY: number } | null;
  /** AR vs DiT at the end with CFG (every seed), when every run has the check. */
  cfgEnd: { scale: number; ar: number[]; dit: number[]; arVsDit: SeedComparison } | null;
  early: FractionComparison;
  end: FractionComparison;
  evalSeconds: number;
  totalSeconds: number;
  evalShare: number;
}

/** The curve of a run: (FLOPs, gFID) of each evaluation. */
export function runCurve(run: ConvergenceRun): CurvePoint[] {
  return run.points.map((p) => ({ x: p.flops, y: p.gfid }));
}

function curvesOf(kind: Generator, runs: ConvergenceRun[]): GeneratorCurves {
  const mine = runs.filter((r) => r.kind === kind);
  if (mine.length === 0) throw new Error(`convergence summary: no ${kind} runs; expected the convergence sweep's runs of both generators`);
  const band = seedBand(mine.map((r) => runCurve(r)), `${kind} gFID curves`);
  const cfgEnd = mine.every((r) => r.cfgEnd) ? { scale: mine[0].cfgEnd!.scale, gfid: mine.map((r) => r.cfgEnd!.gfid) } : null;
  const last = band[band.length - 1];
  return { kind, runs: mine, band, cfgEnd, budget: mine[0].budget, flatness: flatness(bandMean(band), last.range) };
}

/** gFID of every seed of a generator at a fraction of its budget, interpolated in log-compute. */
export function gfidAtFraction(c: GeneratorCurves, fraction: number): number[] {
  return c.runs.map((r) => interpolateLogX(runCurve(r), Math.log10(fraction * r.budget)));
}

function compareAt(ar: GeneratorCurves, dit: GeneratorCurves, fraction: number): FractionComparison {
  const a = gfidAtFraction(ar, fraction);
  const d = gfidAtFraction(dit, fraction);
  return { fraction, ar: a, dit: d, arVsDit: compareSeeds(d, a, { higherIsBetter: false }) };
}

/** Whether the lead on both sides of a crossing of the mean curves exceeds the seed spread (file comment). */
export function crossingResolved(c: Crossing, ar: readonly BandPoint[], dit: readonly BandPoint[]): boolean {
  const ditMean = dit.map((p) => ({ x: p.x, y: p.mean }));
  const ditRange = dit.map((p) => ({ x: p.x, y: p.range }));
  const k = ar.findIndex((p) => p.x > c.x);
  if (k <= 0) return false;
  return [ar[k - 1], ar[k]].every((p) => {
    const u = Math.log10(p.x);
    return Math.abs(p.mean - interpolateLogX(ditMean, u)) > Math.max(p.range, interpolateLogX(ditRange, u));
  });
}

/** The summary of the convergence runs (both generators, ≥ 1 seed each, same evaluation schedule across seeds). */
export function summarizeConvergence(runs: ConvergenceRun[], opts: { earlyFraction?: number } = {}): ConvergenceSummary {
  for (const kind of ["ar", "dit"] as const) {
    const scales = new Set(runs.filter((r) => r.kind === kind && r.cfgEnd).map((r) => r.cfgEnd!.scale));
    if (scales.size > 1) throw new Error(`convergence summary: the ${kind} runs' CFG checks have different scales (${[...scales].join(", ")}); expected one`);
  }
  checkConvergenceFids(runs); // AR vs DiT only when measured alike (fid-check.ts)
  const ar = curvesOf("ar", runs);
  const dit = curvesOf("dit", runs);
  const pairs = pairCrossings(ar.runs.map((r) => ({ seed: r.seed, points: runCurve(r) })), dit.runs.map((r) => ({ seed: r.seed, points: runCurve(r) }))).map((p) => ({
    arSeed: p.a.seed,
    ditSeed: p.b.seed,
    crossings: p.crossings,
  }));
  const single = pairs.filter((p) => p.crossings.length === 1).map((p) => p.crossings[0]);
  const pairRange = single.length
    ? { pairs: single.length, minX: Math.min(...single.map((c) => c.x)), maxX: Math.max(...single.map((c) => c.x)), minY: Math.min(...single.map((c) => c.y)), maxY: Math.max(...single.map((c) => c.y)) }
    : null;
  if (ar.cfgEnd && dit.cfgEnd && ar.cfgEnd.scale !== dit.cfgEnd.scale) throw new Error(`convergence summary: CFG checks at scale ${ar.cfgEnd.scale} (AR) and ${dit.cfgEnd.scale} (DiT); expected one scale`);
  const cfgEnd = ar.cfgEnd && dit.cfgEnd ? { scale: ar.cfgEnd.scale, ar: ar.cfgEnd.gfid, dit: dit.cfgEnd.gfid, arVsDit: compareSeeds(dit.cfgEnd.gfid, ar.cfgEnd.gfid, { higherIsBetter: false }) } : null;
  const evalSeconds = runs.reduce((s, r) => s + r.evalSeconds, 0);
  const totalSeconds = runs.reduce((s, r) => s + r.totalSeconds, 0);
  return {
    ar,
    dit,
    meanCrossings: findCrossings(bandMean(ar.band), bandMean(dit.band)).map((c) => ({ ...c, resolved: crossingResolved(c, ar.band, dit.band) })),
    pairs,
    pairRange,
    cfgEnd,
    early: compareAt(ar, dit, opts.earlyFraction ?? 0.1),
    end: compareAt(ar, dit, 1),
    evalSeconds,
    totalSeconds,
    evalShare: totalSeconds > 0 ? evalSeconds / totalSeconds : NaN,
  };
}
