/**
 * How an FID was measured, and the check that refuses to compare FIDs measured differently.
 *
 * FIDs only compare when everything but the model is equal: the number of images, the class draw, the guidance scale,
 * the sampling steps, EMA or raw weights, the feature network (its run id), the reference statistics. Every gFID/rFID
 * the project records carries a `FidManifest` (in-run evaluations: `fid-manifest.json` in the run folder; evaluations
 * and the CFG end check: next to the number), and every function that compares or plots FIDs across runs calls
 * `checkComparableFids`, which throws naming the first differing field unless the caller lists it in `allowDifferent`
 * (e.g. a plot of gFID against the CFG scale allows "guidanceScale"; AR against DiT allows "generator" and
 * "samplingSteps").
 *
 * The seed of the sample draw is recorded but not compared by default: the seeds of a seed spread draw different
 * samples by design (pass `compareSeed: true` to require equal seeds, e.g. for a paired comparison).
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../atomic";

export interface FidManifest {
  metric: "gFID" | "rFID";
  /** Images whose features are compared with the reference (generated samples, or reconstructions). */
  samples: number;
  /** How the classes of the samples were chosen ("uniform over 10 classes", "k per class, i mod 10", "test images"). */
  classes: string;
  /** What produced the images: "ar", "dit", "tokenizer reconstruction", … */
  generator: string;
  /** Classifier-free guidance scale (1 = none); null where there is no guidance (rFID). */
  guidanceScale: number | null;
  /** Sampling steps (DiT Euler steps); null where the count is fixed by the model (AR) or absent (rFID). */
  samplingSteps: number | null;
  /** EMA weights (true) or the raw optimizer weights (false); null when not applicable or not known. */
  ema: boolean | null;
  /** Run id of the feature network (`featurenet-<hash12>`). */
  featureNet: string;
  /** The reference statistics: "fashion-mnist test split (10000)", or "the N originals" for rFID. */
  reference: string;
  /** Seed the samples were drawn from (the config seed the per-batch seeds derive from); null when none. */
  seed: number | null;
}

export type FidManifestField = keyof FidManifest;

export const FID_MANIFEST_FIELDS: readonly FidManifestField[] = ["metric", "samples", "classes", "generator", "guidanceScale", "samplingSteps", "ema", "featureNet", "reference", "seed"];

/** Validates a manifest (every field present with the right type); returns it. */
export function fidManifest(m: FidManifest): FidManifest {
  const bad = (f: string, v: unknown, want: string) => new Error(`fidManifest: ${f}=${JSON.stringify(v)}; expected ${want}`);
  if (m.metric !== "gFID" && m.metric !== "rFID") throw bad("metric", m.metric, `"gFID" or "rFID"`);
  if (!(Number.isInteger(m.samples) && m.samples > 0)) throw bad("samples", m.samples, "a positive integer");
  for (const f of ["classes", "generator", "featureNet", "reference"] as const) if (typeof m[f] !== "string" || m[f].length === 0) throw bad(f, m[f], "a non-empty string");
  if (m.guidanceScale !== null && !Number.isFinite(m.guidanceScale)) throw bad("guidanceScale", m.guidanceScale, "a finite number or null");
  if (m.samplingSteps !== null && !(Number.isInteger(m.samplingSteps) && m.samplingSteps > 0)) throw bad("samplingSteps", m.samplingSteps, "a positive integer or null");
  if (m.ema !== null && typeof m.ema !== "boolean") throw bad("ema", m.ema, "true, false or null");
  if (m.seed !== null && !Number.isInteger(m.seed)) throw bad("seed", m.seed, "an integer or null");
  const extra = Object.keys(m).filter((k) => !(FID_MANIFEST_FIELDS as readonly string[]).includes(k));
  if (extra.length) throw new Error(`fidManifest: unknown field(s) ${extra.join(", ")}; expected only ${FID_MANIFEST_FIELDS.join(", ")}`);
  return m;
}

/** The fields where a and b differ, in FID_MANIFEST_FIELDS order. */
export function manifestDifferences(a: FidManifest, b: FidManifest): FidManifestField[] {
  return FID_MANIFEST_FIELDS.filter((f) => a[f] !== b[f]);
}

/** One FID to be compared: a label for messages, and its manifest (undefined: not known). */
export interface LabelledFid {
  label: string;
  manifest: FidManifest | undefined | null;
}

export interface ComparableOptions {
  /** What is being compared, for the message ("convergence: AR vs DiT gFID"). */
  what: string;
  /** Fields allowed to differ (the knob a plot varies, or a deliberate cross-generator comparison). */
  allowDifferent?: readonly FidManifestField[];
  /** Also require equal seeds (default: the seed may differ, see the file comment). */
  compareSeed?: boolean;
  /** Skip the check entirely; the caller says it compares FIDs measured differently on purpose. */
  unchecked?: boolean;
}

/**
 * Throws unless every FID was measured the same way: the first FID is the reference, and for each other FID the first
 * field not in `allowDifferent` (nor `seed`, unless `compareSeed`) that differs is named with both values. An FID
 * without a manifest cannot be checked and is refused the same way.
 */
export function checkComparableFids(items: readonly LabelledFid[], opts: ComparableOptions): void {
  if (opts.unchecked) return;
  const free = new Set<FidManifestField>(opts.allowDifferent ?? []);
  if (!opts.compareSeed) free.add("seed");
  const hint = "; pass allowDifferent: [<field>] (or unchecked: true) if comparing them is intended";
  const missing = items.find((i) => !i.manifest);
  if (missing) throw new Error(`${opts.what}: ${missing.label} has no FID manifest, so how it was measured is unknown${hint}`);
  if (items.length < 2) return;
  const ref = items[0];
  for (const it of items.slice(1)) {
    const diff = manifestDifferences(ref.manifest!, it.manifest!).filter((f) => !free.has(f));
    if (diff.length) {
      const f = diff[0];
      throw new Error(
        `${opts.what}: FIDs measured differently: ${ref.label} has ${f}=${JSON.stringify(ref.manifest![f])} but ${it.label} has ${f}=${JSON.stringify(it.manifest![f])}` +
          (diff.length > 1 ? ` (also differing: ${diff.slice(1).join(", ")})` : "") + hint,
      );
    }
  }
}

/** The manifests file of a run folder: metric key of the metrics rows ("gfid", "gfidGuided", …) → manifest. */
export const FID_MANIFEST_FILE = "fid-manifest.json";

/** Merges `entries` into the run folder's manifests file (atomic write). */
export function writeRunFidManifests(runDir: string, entries: Record<string, FidManifest>): void {
  const file = path.join(runDir, FID_MANIFEST_FILE);
  const old = readRunFidManifests(runDir) ?? {};
  for (const m of Object.values(entries)) fidManifest(m);
  fs.mkdirSync(runDir, { recursive: true });
  writeFileAtomic(file, JSON.stringify({ ...old, ...entries }, null, 1) + "\n");
}

/** The run folder's manifests, or null when it has none (a run recorded before manifests existed). */
export function readRunFidManifests(runDir: string): Record<string, FidManifest> | null {
  const file = path.join(runDir, FID_MANIFEST_FILE);
  if (!fs.existsSync(file)) return null;
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, FidManifest>;
  for (const [k, m] of Object.entries(parsed)) {
    try {
      fidManifest(m);
    } catch (e) {
      throw new Error(`${file}: entry ${JSON.stringify(k)}: ${(e as Error).message}`);
    }
  }
  return parsed;
}
