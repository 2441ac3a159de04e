/**
 * Results files: the numbers a notebook concludes from, written by the notebook itself at the end of a run, so that a
 * later run can be checked against a committed one (reference-comparison.ts, `scripts/compare-results.ts`).
 *
 *   this run      <figureDir>/<notebook>.results.json   (build/figures/<notebook>/ under the runner; not in git)
 *   reference     notebooks/reference/<preset>/<notebook>.json   (committed; refreshed by
 *                 `npm run reproduce -- --update-reference` or `npx tsx scripts/compare-results.ts --update-reference`)
 *
 * A record: the notebook id, preset, CPU and engine, a list of named quantities { name, value, spread?, unit?,
 * direction?, floor? } and optional curves { name, x[], y[], spread?[] } (what a figure overlays as "reference").
 * `spread` is the notebook's measured noise of that number (seed range max − min, or the gap of the half-sample gFIDs);
 * absent where the notebook measures none. A value that is not finite in this run (NaN, ±∞) is stored as null
 * ("not measured"), which the comparison lists instead of comparing.
 *
 *   writeResults({ notebook: "06-ar-vs-diffusion", preset: PRESET, quantities: [seedQuantity("AR end gFID", [31.2, 33.0], { direction: "lower" })] });
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { z } from "zod";
import { writeFileAtomic } from "../atomic";
import { currentBackend } from "../backend";
import { projectRoot } from "../project-root";
import { PRESET_NAMES, type PresetName } from "../train/config";
import { figurePath } from "../view/files";

export const RESULTS_FORMAT = "ifsq-results/1" as const;

const finite = z.number().refine((v) => Number.isFinite(v), { message: "expected a finite number" });
const nonNegative = finite.refine((v) => v >= 0, { message: "expected a spread ≥ 0" });

export const QuantitySchema = z.strictObject({
  name: z.string().min(1),
  /** null: not measured in this run (NaN / ±∞ when written). */
  value: finite.nullable(),
  /** The notebook's measured noise of this number (seed range, half-sample gap), ≥ 0. */
  spread: nonNegative.optional(),
  unit: z.string().optional(),
  /** Which way is better, for the printed comparison ("lower" for FIDs). */
  direction: z.enum(["higher", "lower"]).optional(),
  /** The smallest change that counts, in the value's unit (e.g. the resolution of a count); default 0. */
  floor: nonNegative.optional(),
});

export const CurveSchema = z
  .strictObject({
    name: z.string().min(1),
    x: z.array(finite),
    y: z.array(finite),
    /** Per-point spread (e.g. the seed range at each x). */
    spread: z.array(nonNegative).optional(),
    xLabel: z.string().optional(),
    yLabel: z.string().optional(),
  })
  .refine((c) => c.x.length === c.y.length && (c.spread === undefined || c.spread.length === c.x.length), {
    message: "x, y (and spread) must have the same length",
  });

export const ResultsSchema = z
  .strictObject({
    format: z.literal(RESULTS_FORMAT),
    notebook: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: "expected a notebook id such as 06-ar-vs-diffusion" }),
    preset: z.enum(PRESET_NAMES),
    cpu: z.string(),
    engine: z.string(),
    writtenAt: z.string(),
    quantities: z.array(QuantitySchema),
    curves: z.array(CurveSchema).default([]),
  })
  .refine((r) => new Set(r.quantities.map((q) => q.name)).size === r.quantities.length, { message: "quantity names must be unique" })
  .refine((r) => new Set(r.curves.map((c) => c.name)).size === r.curves.length, { message: "curve names must be unique" });

// Plain interfaces (not z.output: tslab compiles notebooks without strictNullChecks, where zod's inferred types differ).
export interface Quantity {
  name: string;
  /** null: not measured in this run. */
  value: number | null;
  spread?: number;
  unit?: string;
  direction?: "higher" | "lower";
  floor?: number;
}

export interface Curve {
  name: string;
  x: number[];
  y: number[];
  spread?: number[];
  xLabel?: string;
  yLabel?: string;
}

export interface Results {
  format: typeof RESULTS_FORMAT;
  notebook: string;
  preset: PresetName;
  cpu: string;
  engine: string;
  writtenAt: string;
  quantities: Quantity[];
  curves: Curve[];
}

/** What a notebook passes: the quantities may hold NaN (stored as null); CPU, engine and time are filled in. */
export interface ResultsInput {
  notebook: string;
  preset: PresetName;
  quantities: (Omit<Quantity, "value"> & { value: number | null })[];
  curves?: Curve[];
  /** Default: the engine of the last initBackend call. */
  engine?: string;
}

/** A quantity from per-seed values: value = their mean, spread = max − min (absent with one seed). */
export function seedQuantity(name: string, values: readonly number[], opts: Omit<Quantity, "name" | "value" | "spread"> = {}): Quantity {
  if (values.length === 0) throw new Error(`seedQuantity: "${name}" has no values; expected one per seed`);
  const ok = values.every((v) => Number.isFinite(v));
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const q: Quantity = { name, value: ok ? mean : null, ...opts };
  if (ok && values.length > 1) q.spread = Math.max(...values) - Math.min(...values);
  return q;
}

/** A quantity measured once, with the two half-sample gFIDs as its noise: spread = |h₁ − h₂| (absent without halves). */
export function halvesQuantity(name: string, value: number, halves: readonly [number, number] | undefined, opts: Omit<Quantity, "name" | "value" | "spread"> = {}): Quantity {
  const q: Quantity = { name, value: Number.isFinite(value) ? value : null, ...opts };
  if (halves && Number.isFinite(halves[0]) && Number.isFinite(halves[1])) q.spread = Math.abs(halves[0] - halves[1]);
  return q;
}

/** Parses a record; the error names the file (`what`) and every bad field. */
export function parseResults(json: unknown, what: string): Results {
  const r = ResultsSchema.safeParse(json);
  if (r.success) return r.data as Results;
  const lines = r.error.issues.map((iss) => `  ${iss.path.length ? iss.path.map(String).join(".") : "(record)"}: ${iss.message}`);
  throw new Error(`malformed results file ${what}; expected format "${RESULTS_FORMAT}" (lib/experiments/reference-results.ts):\n${lines.join("\n")}`);
}

/** Reads and validates a results file (this run's or a reference). */
export function readResultsFile(file: string): Results {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`malformed results file ${file}: ${(e as Error).message}`);
  }
  return parseResults(json, file);
}

/** The record a notebook's input makes (non-finite values → null, CPU and engine filled in), validated. */
export function resultsRecord(input: ResultsInput): Results {
  const quantities = input.quantities.map((q) => ({ ...q, value: q.value !== null && Number.isFinite(q.value) ? q.value : null }));
  const record = {
    format: RESULTS_FORMAT,
    notebook: input.notebook,
    preset: input.preset,
    cpu: os.cpus()[0]?.model?.trim() ?? "unknown CPU",
    engine: input.engine ?? currentBackend()?.name ?? "unknown engine",
    writtenAt: new Date().toISOString(),
    quantities,
    curves: input.curves ?? [],
  };
  return parseResults(record, `of notebook ${input.notebook}`);
}

/** Where this run's results file of a notebook goes: `<figureDir>/<notebook>.results.json`. */
export function resultsPath(notebook: string): string {
  return figurePath(`${notebook}.results`, "json");
}

/** Writes the notebook's results file atomically; returns its path. */
export function writeResults(input: ResultsInput): string {
  const record = resultsRecord(input);
  const file = resultsPath(record.notebook);
  writeFileAtomic(file, JSON.stringify(record, null, 1) + "\n");
  return file;
}

/** The folder of the committed references of a preset: `notebooks/reference/<preset>/` (or under `root`). */
export function referenceDir(preset: string, root = path.join(projectRoot(), "notebooks", "reference")): string {
  return path.join(root, preset);
}

/** The committed reference of a notebook at a preset, or null when there is none yet (a malformed one is an error). */
export function readReference(notebook: string, preset: string, root?: string): Results | null {
  const file = path.join(referenceDir(preset, root), `${notebook}.json`);
  if (!fs.existsSync(file)) return null;
  return readResultsFile(file);
}

/** Named curves of a reference (all when `names` is omitted); [] without a reference. Unknown names are skipped. */
export function referenceCurves(ref: Results | null, names?: readonly string[]): Curve[] {
  if (!ref) return [];
  return names ? names.flatMap((n) => ref.curves.filter((c) => c.name === n)) : ref.curves;
}
