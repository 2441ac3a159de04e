/**
 * This run's results against the committed reference (reference-results.ts): for every quantity
 *
 *   tolerance = k · max(spread_now, spread_ref, floor),   floor = max(quantity.floor, relFloor · |ref|)
 *   |now − ref| ≤ tolerance  →  "within",   else  "moved by Δ (x spreads)"   (x = |Δ| / max(spread_now, spread_ref))
 *
 * with k = 2 and relFloor = 1 % by default (the spread is the notebook's own noise measure, seed range or half-sample
 * gap; the floor keeps a number the notebook measures without a spread from "moving" by float noise). Curves are
 * compared pointwise at their shared x (relative match 1e-6), each point with the same rule (per-point spreads).
 * Quantities or curves on one side only are listed, never errors.
 *
 *   const c = compareResults(now, ref);  console.log(comparisonLines(c).join("\n"));
 */
import type { Curve, Quantity, Results } from "./reference-results";

export interface CompareOptions {
  /** Tolerance in spreads (default 2). */
  k?: number;
  /** Floor as a share of |reference| (default 0.01). */
  relFloor?: number;
}

export type ItemStatus = "within" | "moved" | "not in this run" | "not in the reference" | "not measured";

export interface QuantityComparison {
  name: string;
  unit?: string;
  direction?: "higher" | "lower";
  ref: number | null;
  now: number | null;
  /** now − ref (null unless both are measured). */
  delta: number | null;
  tolerance: number | null;
  /** |Δ| / max(spread_now, spread_ref); null when neither side has a spread. */
  spreads: number | null;
  status: ItemStatus;
}

export interface CurveComparison {
  name: string;
  /** Points at x values both curves have. */
  shared: number;
  /** Shared points whose |Δy| exceeds their tolerance. */
  beyond: number;
  /** The shared point with the largest |Δy| / tolerance (null without shared points). */
  worst: { x: number; delta: number; tolerance: number } | null;
  status: ItemStatus | "no shared x";
}

export interface ResultsComparison {
  notebook: string;
  preset: string;
  quantities: QuantityComparison[];
  curves: CurveComparison[];
  /** Counts over quantities and curves. */
  within: number;
  moved: number;
  missing: number;
}

const K = 2;
const REL_FLOOR = 0.01;

function tolerance(spreads: (number | undefined)[], floor: number, k: number): number {
  return k * Math.max(floor, ...spreads.map((s) => s ?? 0));
}

/** One quantity (either side may be absent). */
export function compareQuantity(now: Quantity | undefined, ref: Quantity | undefined, opts: CompareOptions = {}): QuantityComparison {
  const k = opts.k ?? K;
  const relFloor = opts.relFloor ?? REL_FLOOR;
  const q = (now ?? ref)!;
  const base = { name: q.name, unit: q.unit ?? ref?.unit, direction: q.direction ?? ref?.direction, ref: ref?.value ?? null, now: now?.value ?? null };
  if (!ref) return { ...base, delta: null, tolerance: null, spreads: null, status: "not in the reference" };
  if (!now) return { ...base, delta: null, tolerance: null, spreads: null, status: "not in this run" };
  if (now.value === null || ref.value === null) return { ...base, delta: null, tolerance: null, spreads: null, status: "not measured" };
  const delta = now.value - ref.value;
  const floor = Math.max(now.floor ?? 0, ref.floor ?? 0, relFloor * Math.abs(ref.value));
  const tol = tolerance([now.spread, ref.spread], floor, k);
  const s = Math.max(now.spread ?? 0, ref.spread ?? 0);
  return { ...base, delta, tolerance: tol, spreads: s > 0 ? Math.abs(delta) / s : null, status: Math.abs(delta) <= tol ? "within" : "moved" };
}

/** One curve, pointwise at the x values both have. */
export function compareCurve(now: Curve | undefined, ref: Curve | undefined, opts: CompareOptions = {}): CurveComparison {
  const k = opts.k ?? K;
  const relFloor = opts.relFloor ?? REL_FLOOR;
  const name = (now ?? ref)!.name;
  if (!ref) return { name, shared: 0, beyond: 0, worst: null, status: "not in the reference" };
  if (!now) return { name, shared: 0, beyond: 0, worst: null, status: "not in this run" };
  let shared = 0;
  let beyond = 0;
  let worst: CurveComparison["worst"] = null;
  let worstRatio = -1;
  ref.x.forEach((x, i) => {
    const j = now.x.findIndex((u) => Math.abs(u - x) <= 1e-6 * Math.max(Math.abs(x), Math.abs(u)));
    if (j < 0) return;
    shared++;
    const delta = now.y[j] - ref.y[i];
    const tol = tolerance([now.spread?.[j], ref.spread?.[i]], relFloor * Math.abs(ref.y[i]), k);
    if (Math.abs(delta) > tol) beyond++;
    const ratio = tol > 0 ? Math.abs(delta) / tol : delta !== 0 ? Infinity : 0;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = { x, delta, tolerance: tol };
    }
  });
  return { name, shared, beyond, worst, status: shared === 0 ? "no shared x" : beyond > 0 ? "moved" : "within" };
}

/** Every quantity and curve of this run against the reference (same notebook and preset, else an error). */
export function compareResults(now: Results, ref: Results, opts: CompareOptions = {}): ResultsComparison {
  if (now.notebook !== ref.notebook || now.preset !== ref.preset) {
    throw new Error(`compareResults: this run is ${now.notebook} @ ${now.preset}, the reference ${ref.notebook} @ ${ref.preset}; expected the same notebook and preset`);
  }
  const names = <T extends { name: string }>(a: T[], b: T[]) => [...a.map((v) => v.name), ...b.map((v) => v.name).filter((n) => !a.some((v) => v.name === n))];
  const find = <T extends { name: string }>(a: T[], n: string) => a.find((v) => v.name === n);
  const quantities = names(ref.quantities, now.quantities).map((n) => compareQuantity(find(now.quantities, n), find(ref.quantities, n), opts));
  const curves = names(ref.curves, now.curves).map((n) => compareCurve(find(now.curves, n), find(ref.curves, n), opts));
  const all: { status: string }[] = [...quantities, ...curves];
  return {
    notebook: now.notebook,
    preset: now.preset,
    quantities,
    curves,
    within: all.filter((c) => c.status === "within").length,
    moved: all.filter((c) => c.status === "moved").length,
    missing: all.filter((c) => c.status !== "within" && c.status !== "moved").length,
  };
}

/** A number in 4 significant digits (exponent form outside 1e-3…1e5). */
export function fmt(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

const signed = (v: number) => `${v >= 0 ? "+" : "−"}${fmt(Math.abs(v))}`;

function quantityLine(c: QuantityComparison): string {
  const u = c.unit ? ` ${c.unit}` : "";
  if (c.status === "not in the reference") return `  new      ${c.name}: ${c.now === null ? "not measured" : fmt(c.now) + u} (not in the reference)`;
  if (c.status === "not in this run") return `  missing  ${c.name}: in the reference (${c.ref === null ? "not measured" : fmt(c.ref) + u}), not in this run`;
  if (c.status === "not measured") return `  missing  ${c.name}: not measured ${c.now === null && c.ref === null ? "in either run" : c.now === null ? "in this run" : "in the reference"}`;
  const d = c.delta!;
  const head = `${c.name}: ${fmt(c.ref!)} → ${fmt(c.now!)}${u}`;
  if (c.status === "within") return `  within   ${head} (Δ ${signed(d)}, tolerance ±${fmt(c.tolerance!)})`;
  const way = c.direction ? ((c.direction === "higher") === d > 0 ? ", better" : ", worse") : "";
  const x = c.spreads === null ? "no spread measured" : `${c.spreads.toFixed(1)} spreads`;
  return `  MOVED    ${head}: moved by ${signed(d)}${u} (${x}; tolerance ±${fmt(c.tolerance!)}${way})`;
}

function curveLine(c: CurveComparison): string {
  if (c.status === "not in the reference") return `  new      curve ${c.name} (not in the reference)`;
  if (c.status === "not in this run") return `  missing  curve ${c.name}: in the reference, not in this run`;
  if (c.status === "no shared x") return `  missing  curve ${c.name}: no x value in common with the reference`;
  const w = c.worst!;
  const tag = c.status === "within" ? "within  " : "MOVED   ";
  return `  ${tag} curve ${c.name}: ${c.beyond} of ${c.shared} shared points beyond tolerance; largest Δ ${signed(w.delta)} at x = ${fmt(w.x)} (tolerance ±${fmt(w.tolerance)})`;
}

/** The printed comparison of one notebook: a header with the counts, then one line per quantity and curve. */
export function comparisonLines(c: ResultsComparison): string[] {
  return [
    `${c.notebook} @ ${c.preset}: ${c.within} within, ${c.moved} moved, ${c.missing} on one side only`,
    ...c.quantities.map(quantityLine),
    ...c.curves.map(curveLine),
  ];
}
