/**
 * Run folders: one per (kind, resolved config), so the same config always lands in the same folder and a finished
 * run is found again instead of retrained.
 *
 *   <runsDir>/<kind>-<configHash[0:12]>/
 *     config.json      { kind, configHash, config, execution? } (the resolved config, written once, atomically;
 *                      `execution` = how the last session trained it: workers, engine — outside the hash)
 *     metrics.jsonl    one JSON object per line: { type: "train", step, time, loss, …parts, lr, gradNorm, flops }
 *                      or { type: "eval", step, time, evalSeconds, …values }; `time` is training wall time in seconds
 *     checkpoints/     step-0000100.safetensors … (see checkpoint.ts), the newest K kept
 *     samples/         images or other artefacts a task writes
 *     done.json        { step, time, finishedAt, final } once the run has finished
 *     train.lock       "<pid>\n<host>\n<startedAt>\n" while a process trains the folder (see lock.ts)
 *
 * config.json and done.json are re-creatable: a damaged one is an error naming the file and saying to delete it (the
 * checkpoints stay); train() itself drops a damaged done.json and finishes the run again from its newest intact
 * checkpoint. A run counts as finished only when done.json is valid and its final checkpoint is there and intact.
 *
 * `runsDir` defaults to `$IFSQ_RUNS_DIR`, else `data/runs` under the repository root, found from this file's location
 * (not from process.cwd(), which is `notebooks/` inside a notebook kernel). A shared IFSQ_RUNS_DIR lets several
 * clones (engineers, CI) reuse each other's finished runs; run locks keep each run to one trainer.
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../atomic";
import { runsDirSetting } from "../backend";
import { projectRoot } from "../project-root";
import { configHash, canonicalJson } from "./config";
import { checkpointFileName, loadCheckpoint, CheckpointError } from "./checkpoint";
import { lockPathOf, takeLock } from "./lock";
import { ensureRunsDir, explainStorageError } from "./storage-errors";

export { lockStatus, otherTrainers, LOCK_GRACE_MS } from "./lock";

/** `$IFSQ_RUNS_DIR` (relative to the project root unless absolute), else `<repo>/data/runs`. */
export function defaultRunsDir(): string {
  const set = runsDirSetting();
  if (set) return path.resolve(projectRoot(), set);
  return path.join(projectRoot(), "data", "runs");
}

/** `<kind>-<first 12 hex digits of configHash(config)>`. */
export function runId(kind: string, config: unknown): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(kind)) throw new Error(`run kind ${JSON.stringify(kind)} must contain only letters, digits, "_", "-", "."`);
  return `${kind}-${configHash(config).slice(0, 12)}`;
}

export interface MetricsRow {
  type: "train" | "eval";
  step: number;
  /** Training wall time in seconds up to this row (summed over resumed sessions). */
  time: number;
  [key: string]: number | string;
}

export interface DoneRecord {
  step: number;
  time: number;
  finishedAt: string;
  /** The last train row and the last eval row, merged. */
  final: Record<string, number | string>;
}

/** A run folder's config.json or done.json is unreadable or does not hold what it should. */
export class RunFileError extends Error {
  override name = "RunFileError";
  /** @param problem what is wrong, naming the file   @param remedy what to do about it */
  constructor(
    readonly problem: string,
    readonly remedy: string,
  ) {
    super(`${problem}; ${remedy}`);
  }
}

/** What to do about a damaged file of a run folder (kept next to the error so the advice is the same everywhere). */
function remedyFor(file: string): string {
  if (path.basename(file) === "config.json") {
    return `it only records the run's config and is written again from it: delete it (rm ${file}) and run again; the checkpoints are kept, and each is checked against the config's full hash when loaded`;
  }
  return `it only marks the run finished: delete it (rm ${file}) and run again; training resumes from the newest intact checkpoint and finishes the run again (train() does this by itself, with a warning)`;
}

/** Parses a JSON object file of a run folder; a damaged one is a RunFileError naming the file and the way out. */
function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new RunFileError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, remedyFor(file));
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RunFileError(`${file} is damaged: not valid JSON (${(e as Error).message})`, remedyFor(file));
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new RunFileError(`${file} is damaged: holds ${JSON.stringify(v)?.slice(0, 40)}, expected a JSON object`, remedyFor(file));
  return v as Record<string, unknown>;
}

/** Where a run stands: not finished, finished with an intact final checkpoint, or marked finished but unusable. */
export type FinishedState =
  | { state: "unfinished" }
  | { state: "finished"; done: DoneRecord; checkpoint: string }
  | { state: "broken"; done: DoneRecord | null; problem: string };

/** Reads metrics.jsonl; a torn last line (a write killed midway) is ignored, a bad line elsewhere is an error. */
export function readMetrics(file: string): MetricsRow[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const rows: MetricsRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      const last = lines.slice(i + 1).every((l) => l.trim() === "");
      if (last) break;
      throw new Error(`${file}:${i + 1}: not a JSON line: ${line.slice(0, 80)}`);
    }
  }
  return rows;
}

export class Run {
  readonly dir: string;
  readonly hash: string;

  private constructor(
    readonly kind: string,
    readonly config: Record<string, unknown>,
    runsDir: string,
  ) {
    this.hash = configHash(config);
    this.dir = path.join(runsDir, runId(kind, config));
  }

  get configPath(): string {
    return path.join(this.dir, "config.json");
  }
  get metricsPath(): string {
    return path.join(this.dir, "metrics.jsonl");
  }
  get checkpointsDir(): string {
    return path.join(this.dir, "checkpoints");
  }
  get samplesDir(): string {
    return path.join(this.dir, "samples");
  }
  get donePath(): string {
    return path.join(this.dir, "done.json");
  }

  /** The run folder for (kind, config), without creating anything. */
  static locate(kind: string, config: Record<string, unknown>, runsDir = defaultRunsDir()): Run {
    return new Run(kind, config, runsDir);
  }

  /**
   * Creates (or reopens) the run folder. An existing config.json must hold the same config (a 12-digit hash
   * collision or a hand-edited file is an error, never silently mixed runs).
   */
  static open(kind: string, config: Record<string, unknown>, runsDir = defaultRunsDir()): Run {
    const run = new Run(kind, config, runsDir);
    ensureRunsDir(runsDir, run.dir);
    try {
      fs.mkdirSync(run.checkpointsDir, { recursive: true });
      fs.mkdirSync(run.samplesDir, { recursive: true });
      if (fs.existsSync(run.configPath)) run.checkConfigFile();
      else writeFileAtomic(run.configPath, JSON.stringify({ kind, configHash: run.hash, config }, null, 2) + "\n");
    } catch (e) {
      throw explainStorageError(e, run.dir, "creating it");
    }
    return run;
  }

  /** config.json's contents; a damaged file is a RunFileError naming it (delete it: it is written again). */
  readConfigFile(): { kind?: string; configHash?: string; config?: unknown } {
    const stored = readJsonObject(this.configPath);
    if (!("config" in stored) || typeof stored.kind !== "string") {
      throw new RunFileError(`${this.configPath} is damaged: expected { kind, configHash, config }, found keys ${JSON.stringify(Object.keys(stored))}`, remedyFor(this.configPath));
    }
    return stored as { kind?: string; configHash?: string; config?: unknown };
  }

  private checkConfigFile(): void {
    const stored = this.readConfigFile();
    if (stored.kind !== this.kind || canonicalJson(stored.config) !== canonicalJson(this.config)) {
      throw new Error(`${this.configPath} holds a different config (kind ${stored.kind}, hash ${String(stored.configHash).slice(0, 12)}) than this run (kind ${this.kind}, hash ${this.hash.slice(0, 12)})`);
    }
  }

  /**
   * Records how this session trains the run (worker count, engine) in config.json's `execution`, beside the hashed
   * config: it changes no result. Rewritten atomically by every session that trains the run.
   */
  recordExecution(execution: Record<string, unknown>): void {
    const stored = this.readConfigFile();
    writeFileAtomic(this.configPath, JSON.stringify({ ...stored, execution: { ...execution, at: new Date().toISOString() } }, null, 2) + "\n");
  }

  appendMetrics(row: MetricsRow): void {
    fs.appendFileSync(this.metricsPath, JSON.stringify(row) + "\n");
  }

  readMetrics(): MetricsRow[] {
    return readMetrics(this.metricsPath);
  }

  /** Keeps only rows with step ≤ `step` (after a resume from the checkpoint at `step`); rewrites atomically. */
  truncateMetrics(step: number): MetricsRow[] {
    const rows = this.readMetrics().filter((r) => r.step <= step);
    writeFileAtomic(this.metricsPath, rows.map((r) => JSON.stringify(r) + "\n").join(""));
    return rows;
  }

  get lockPath(): string {
    return lockPathOf(this.dir);
  }

  /** Claims the folder for one training process and returns the release function (lock.ts: takeLock). */
  lock(): () => void {
    return takeLock(this.dir);
  }

  isDone(): boolean {
    return fs.existsSync(this.donePath);
  }

  /** done.json, or null when the run has not finished; a damaged file is a RunFileError naming it. */
  readDone(): DoneRecord | null {
    if (!fs.existsSync(this.donePath)) return null;
    const d = readJsonObject(this.donePath);
    if (!Number.isInteger(d.step) || (d.step as number) < 0 || typeof d.time !== "number" || typeof d.final !== "object" || d.final === null) {
      throw new RunFileError(`${this.donePath} is damaged: expected { step: integer ≥ 0, time, finishedAt, final: {…} }, found ${JSON.stringify(d).slice(0, 120)}`, remedyFor(this.donePath));
    }
    return d as unknown as DoneRecord;
  }

  /**
   * Whether the run has finished: done.json is valid, names the config's step count (when the config has `steps`)
   * and its final checkpoint `step-<done.step>` is there, intact (checksums) and written for this kind and config.
   */
  finishedState(): FinishedState {
    let done: DoneRecord | null;
    try {
      done = this.readDone();
    } catch (e) {
      return { state: "broken", done: null, problem: (e as Error).message };
    }
    if (!done) return { state: "unfinished" };
    const steps = this.config.steps;
    if (typeof steps === "number" && done.step !== steps) {
      return { state: "broken", done, problem: `${this.donePath} says the run finished at step ${done.step}, but the config has steps=${steps}` };
    }
    const file = path.join(this.checkpointsDir, checkpointFileName(done.step));
    if (!fs.existsSync(file)) return { state: "broken", done, problem: `${this.donePath} marks the run finished at step ${done.step}, but its final checkpoint ${file} is missing` };
    try {
      loadCheckpoint(file, { kind: this.kind, configHash: this.hash });
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      return { state: "broken", done, problem: `${this.donePath} marks the run finished at step ${done.step}, but its final checkpoint is unusable: ${e.message}` };
    }
    return { state: "finished", done, checkpoint: file };
  }

  markDone(rec: DoneRecord): void {
    writeFileAtomic(this.donePath, JSON.stringify(rec, null, 2) + "\n");
  }

  clearDone(): void {
    fs.rmSync(this.donePath, { force: true });
  }

  /** Removes metrics, checkpoints, samples and done.json (a fresh start in the same folder). */
  reset(): void {
    fs.rmSync(this.donePath, { force: true });
    fs.rmSync(this.metricsPath, { force: true });
    fs.rmSync(this.checkpointsDir, { recursive: true, force: true });
    fs.rmSync(this.samplesDir, { recursive: true, force: true });
    fs.mkdirSync(this.checkpointsDir, { recursive: true });
    fs.mkdirSync(this.samplesDir, { recursive: true });
  }
}

export interface FinishedRun {
  dir: string;
  kind: string;
  config: Record<string, unknown>;
  configHash: string;
  metrics: MetricsRow[];
  done: DoneRecord;
  /** The final checkpoint (load weights with `loadRunWeights`). */
  checkpoint: string;
}

/**
 * The finished run for (kind, config) if one exists in `runsDir`, else null (then train it). A run marked finished
 * whose done.json is damaged or whose final checkpoint is missing or damaged is not finished: null, and train()
 * warns and finishes it again from its newest intact checkpoint. A damaged config.json is a RunFileError.
 */
export function findFinishedRun(kind: string, config: Record<string, unknown>, opts: { runsDir?: string } = {}): FinishedRun | null {
  const run = Run.locate(kind, config, opts.runsDir ?? defaultRunsDir());
  if (!fs.existsSync(run.donePath) || !fs.existsSync(run.configPath)) return null;
  const stored = run.readConfigFile();
  if (stored.kind !== kind || canonicalJson(stored.config) !== canonicalJson(config)) return null;
  const st = run.finishedState();
  if (st.state !== "finished") return null;
  return { dir: run.dir, kind, config, configHash: run.hash, metrics: run.readMetrics(), done: st.done, checkpoint: st.checkpoint };
}
