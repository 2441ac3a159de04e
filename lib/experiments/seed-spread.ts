/**
 * Comparing two methods with a measured seed spread: each method is trained at several seeds (same budget), and a
 * difference between the two means counts as real only when it exceeds the spread the seeds themselves show.
 *
 *   spread  = max(range(a), range(b)),  range(v) = max(v) − min(v) over seeds
 *   Δ       = mean(b) − mean(a)                         (b is the method under test, a the baseline)
 *   verdict = "within the seed spread" if |Δ| ≤ spread, else "better"/"worse" by the metric's direction;
 *             "unmeasured" when either method has fewer than 2 seeds (no spread to compare with).
 *
 *   compareSeeds([30.1, 30.3], [30.9, 31.0], { higherIsBetter: true })  // { delta: 0.75, spread: 0.2, verdict: "better" }
 */

export interface SeedSummary {
  mean: number;
  min: number;
  max: number;
  /** max − min (0 for one seed). */
  range: number;
  n: number;
}

export type SeedVerdict = "better" | "worse" | "within the seed spread" | "unmeasured";

export interface SeedComparison {
  a: SeedSummary;
  b: SeedSummary;
  /** mean(b) − mean(a). */
  delta: number;
  /** max of the two ranges; null with fewer than 2 seeds on either side. */
  spread: number | null;
  /** b compared with a. */
  verdict: SeedVerdict;
}

export function summarizeSeeds(values: readonly number[], what = "values"): SeedSummary {
  if (values.length === 0) throw new Error(`summarizeSeeds: no ${what}; expected one value per seed`);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`summarizeSeeds: ${what}[${bad}]=${values[bad]} is not a finite number`);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, min, max, range: max - min, n: values.length };
}

/** Method b against baseline a, per seed values of one metric. */
export function compareSeeds(a: readonly number[], b: readonly number[], opts: { higherIsBetter: boolean }): SeedComparison {
  const sa = summarizeSeeds(a, "a");
  const sb = summarizeSeeds(b, "b");
  const delta = sb.mean - sa.mean;
  if (sa.n < 2 || sb.n < 2) return { a: sa, b: sb, delta, spread: null, verdict: "unmeasured" };
  const spread = Math.max(sa.range, sb.range);
  const up = opts.higherIsBetter ? "better" : "worse";
  const down = opts.higherIsBetter ? "worse" : "better";
  const verdict: SeedVerdict = Math.abs(delta) <= spread ? "within the seed spread" : delta > 0 ? up : down;
  return { a: sa, b: sb, delta, spread, verdict };
}

/** "+0.75 (seed spread 0.20)" / "+0.75 (seed spread unmeasured: 1 seed)", with `digits` decimals. */
export function deltaText(c: SeedComparison, digits: number, unit = ""): string {
  const d = `${c.delta >= 0 ? "+" : "−"}${Math.abs(c.delta).toFixed(digits)}${unit}`;
  if (c.spread === null) return `${d} (seed spread unmeasured: ${Math.min(c.a.n, c.b.n)} seed)`;
  return `${d} (seed spread ${c.spread.toFixed(digits)}${unit} over ${Math.min(c.a.n, c.b.n)} seeds)`;
}

/** "better than" / "worse than" / "within the seed spread of" / "not distinguishable without a seed spread from". */
export function verdictPhrase(v: SeedVerdict): string {
  switch (v) {
    case "better":
      return "better than";
    case "worse":
      return "worse than";
    case "within the seed spread":
      return "within the seed spread of";
    case "unmeasured":
      return "not comparable without a measured seed spread to";
  }
}
