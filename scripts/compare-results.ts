/**
 * The end of `npm run reproduce`: this run's results files (each notebook writes `<figureDir>/<notebook>.results.json`,
 * lib/experiments/reference-results.ts) against the committed references `notebooks/reference/<preset>/<notebook>.json`,
 * one line per number: "within" (|Δ| ≤ k · max(spreads, floor)) or "MOVED by Δ (x spreads)" (reference-comparison.ts).
 * A moved number is reported, never a failure; a malformed results or reference file fails (exit 1) with its errors.
 *
 * Usage: tsx scripts/compare-results.ts [--preset P] [--since EPOCH_SECONDS] [--figures DIR] [--reference DIR] [--k K]
 *                                       [--update-reference]
 *   --preset            compare only results of this preset (default: $IFSQ_PRESET, else quick)
 *   --since             only results files written at or after this time (reproduce passes its start: "notebooks that ran")
 *   --figures           where the results files are (default build/figures, searched recursively)
 *   --reference         the reference root (default notebooks/reference; the preset's folder is below it)
 *   --k                 tolerance in spreads (default 2)
 *   --update-reference  after comparing, copy this run's results files into the preset's reference folder
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../lib/atomic";
import { readResultsFile, referenceDir, type Results } from "../lib/experiments/reference-results";
import { compareResults, comparisonLines } from "../lib/experiments/reference-comparison";
import { parsePresetName } from "../lib/train/config";

const ROOT = path.resolve(__dirname, "..");
const SUFFIX = ".results.json";

export interface CompareRunOptions {
  preset: string;
  figures: string;
  reference: string;
  /** Epoch milliseconds; files last written before are ignored (0 = all). */
  sinceMs: number;
  k?: number;
  update?: boolean;
}

export interface CompareRunReport {
  lines: string[];
  /** One entry per malformed file (the run must fail). */
  malformed: string[];
  compared: number;
  moved: number;
  /** Reference files written by `update`. */
  updated: string[];
}

/** Every `*.results.json` under `dir`, sorted. */
export function findResultsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(p, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile() && e.name.endsWith(SUFFIX)) out.push(f);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** The comparison of the run's results with the references (nothing printed; `lines` is the text). */
export function compareRun(o: CompareRunOptions): CompareRunReport {
  const lines: string[] = [];
  const malformed: string[] = [];
  const updated: string[] = [];
  const rel = (f: string) => (f.startsWith(ROOT + path.sep) ? path.relative(ROOT, f) : f);
  const latest = new Map<string, { file: string; record: Results; mtime: number }>();
  let older = 0;
  let otherPreset = 0;
  for (const file of findResultsFiles(o.figures)) {
    const mtime = fs.statSync(file).mtimeMs;
    if (mtime < o.sinceMs) {
      older++;
      continue;
    }
    let record: Results;
    try {
      record = readResultsFile(file);
    } catch (e) {
      malformed.push((e as Error).message);
      continue;
    }
    if (record.preset !== o.preset) {
      otherPreset++;
      continue;
    }
    const prev = latest.get(record.notebook);
    if (prev) lines.push(`note: two results files for ${record.notebook}; using the newer ${rel(prev.mtime >= mtime ? prev.file : file)}`);
    if (!prev || mtime > prev.mtime) latest.set(record.notebook, { file, record, mtime });
  }
  const skipped = [older ? `${older} from earlier runs` : "", otherPreset ? `${otherPreset} at another preset` : ""].filter(Boolean);
  if (skipped.length) lines.push(`(results files skipped: ${skipped.join(", ")})`);
  const dir = referenceDir(o.preset, o.reference);
  let compared = 0;
  let moved = 0;
  if (latest.size === 0) {
    lines.push(`no results files from this run at preset ${o.preset} under ${rel(o.figures)} (each notebook writes <figures>/<notebook>${SUFFIX})`);
  } else if (!fs.existsSync(dir) && !o.update) {
    lines.push(`no reference for preset ${o.preset} (${rel(dir)} does not exist); results of this run: ${[...latest.keys()].sort().join(", ")}`);
  } else {
    for (const name of [...latest.keys()].sort()) {
      const { record } = latest.get(name)!;
      const refFile = path.join(dir, `${name}.json`);
      if (!fs.existsSync(refFile)) {
        lines.push(`${name} @ ${o.preset}: no reference yet (${rel(refFile)})`);
        continue;
      }
      let ref: Results;
      try {
        ref = readResultsFile(refFile);
      } catch (e) {
        malformed.push((e as Error).message);
        continue;
      }
      const c = compareResults(record, ref, { k: o.k });
      lines.push(...comparisonLines(c), `  (reference: ${ref.engine} on ${ref.cpu}, ${ref.writtenAt}; this run: ${record.engine} on ${record.cpu})`);
      compared++;
      moved += c.moved;
    }
  }
  if (o.update && malformed.length === 0) {
    for (const name of [...latest.keys()].sort()) {
      const file = path.join(dir, `${name}.json`);
      writeFileAtomic(file, JSON.stringify(latest.get(name)!.record, null, 1) + "\n");
      updated.push(file);
      lines.push(`reference updated: ${rel(file)}`);
    }
  }
  return { lines, malformed, compared, moved, updated };
}

function main(argv: string[]): number {
  const o: CompareRunOptions = {
    preset: process.env.IFSQ_PRESET || "quick",
    figures: path.join(ROOT, "build", "figures"),
    reference: path.join(ROOT, "notebooks", "reference"),
    sinceMs: 0,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--preset") o.preset = val();
    else if (a === "--since") {
      const s = Number(val());
      if (!Number.isFinite(s) || s < 0) throw new Error(`--since ${argv[i]}: expected epoch seconds ≥ 0`);
      o.sinceMs = s * 1000;
    } else if (a === "--figures") o.figures = path.resolve(val());
    else if (a === "--reference") o.reference = path.resolve(val());
    else if (a === "--k") {
      o.k = Number(val());
      if (!(o.k > 0)) throw new Error(`--k ${argv[i]}: expected a number > 0`);
    } else if (a === "--update-reference") o.update = true;
    else throw new Error(`unknown argument ${JSON.stringify(a)}; expected --preset, --since, --figures, --reference, --k or --update-reference`);
  }
  parsePresetName(o.preset, "--preset");
  const r = compareRun(o);
  for (const l of r.lines) console.log(l);
  if (r.malformed.length) {
    console.error(`compare-results: ${r.malformed.length} malformed file(s)${o.update ? "; no reference was updated" : ""}:`);
    for (const m of r.malformed) console.error(m);
    return 1;
  }
  if (r.compared > 0) console.log(r.moved > 0 ? `${r.moved} number(s) or curve(s) moved beyond tolerance (MOVED lines above); reported, not a failure` : "every compared number is within tolerance");
  return 0;
}

if (require.main === module) {
  try {
    process.exit(main(process.argv.slice(2)));
  } catch (e) {
    console.error(`compare-results: ${(e as Error).message}`);
    process.exit(2);
  }
}
