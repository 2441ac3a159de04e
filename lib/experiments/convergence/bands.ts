/**
 * Seed bands of FID curves: the runs of one generator at several seeds evaluate at the same steps (same config but the
 * seed, so the same FLOPs per step), so their curves share the x values; at each x the band is the mean, min and max
 * over seeds (seed-spread.ts's `summarizeSeeds`), drawn as a shaded band around the mean.
 *
 *   seedBand([[{x:1,y:10},{x:2,y:8}], [{x:1,y:12},{x:2,y:7}]])
 *   // [{ x: 1, mean: 11, min: 10, max: 12, range: 2, n: 2 }, { x: 2, mean: 7.5, min: 7, max: 8, range: 1, n: 2 }]
 */
import { summarizeSeeds, type SeedSummary } from "../seed-spread";
import type { CurvePoint } from "./crossover";

export interface BandPoint extends SeedSummary {
  x: number;
}

/** The band over seeds of curves with the same x values (relative tolerance 1e-9); an error names a mismatch. */
export function seedBand(curves: readonly (readonly CurvePoint[])[], what = "curves"): BandPoint[] {
  if (curves.length === 0) throw new Error(`seedBand: no ${what}; expected one curve per seed`);
  const xs = curves[0].map((p) => p.x);
  curves.forEach((c, s) => {
    if (c.length !== xs.length) throw new Error(`seedBand: ${what}[${s}] has ${c.length} points, ${what}[0] has ${xs.length}; the seeds must evaluate at the same steps`);
    c.forEach((p, i) => {
      if (Math.abs(p.x - xs[i]) > 1e-9 * Math.max(Math.abs(xs[i]), 1)) throw new Error(`seedBand: ${what}[${s}][${i}].x=${p.x} differs from ${what}[0][${i}].x=${xs[i]}; the seeds must evaluate at the same compute`);
    });
  });
  return xs.map((x, i) => ({ x, ...summarizeSeeds(curves.map((c) => c[i].y), `${what} at x=${x}`) }));
}

/** The band's mean as a curve (what the crossover of the seed means is computed on). */
export function bandMean(band: readonly BandPoint[]): CurvePoint[] {
  return band.map((p) => ({ x: p.x, y: p.mean }));
}
