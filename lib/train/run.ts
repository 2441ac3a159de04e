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
 *     train.lock       "<pid>\n<host>\n<startedAt>\n" while a process trains the folder (created whole, see Run.lock)
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
import * as os from "os";
import * as path from "path";
import { writeFileAtomic, fsyncDir } from "../atomic";
import { runsDirSetting } from "../backend";
import { projectRoot } from "../project-root";
import { configHash, canonicalJson } from "./config";
import { checkpointFileName, loadCheckpoint, CheckpointError } from "./checkpoint";

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
    fs.mkdirSync(run.checkpointsDir, { recursive: true });
    fs.mkdirSync(run.samplesDir, { recursive: true });
    if (fs.existsSync(run.configPath)) run.checkConfigFile();
    else writeFileAtomic(run.configPath, JSON.stringify({ kind, configHash: run.hash, config }, null, 2) + "\n");
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
    return path.join(this.dir, "train.lock");
  }

  /**
   * Claims the folder for one training process (two writers would interleave metrics and checkpoints) and returns
   * the release function. The lock is created whole: its lines pid, host, startedAt go to a temp file that is then
   * hard-linked to train.lock, and link(2) fails when train.lock exists, so no process ever sees a lock without its
   * owner. A lock whose process is gone (same host, PID not running) is taken over; so is an ownerless lock (written
   * by an older version, or damaged) once it is older than LOCK_GRACE_MS. Any other lock is an error naming its owner.
   */
  lock(): () => void {
    const me = `${process.pid}\n${os.hostname()}\n${new Date().toISOString()}\n`;
    removeDeadLockTemps(this.dir);
    const tmp = path.join(this.dir, `.train.lock.${process.pid}.${lockCounter++}.tmp`);
    const fd = fs.openSync(tmp, "wx");
    try {
      fs.writeSync(fd, me);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      for (let attempt = 0; attempt < 200; attempt++) {
        try {
          createLockFile(tmp, this.lockPath, me);
          fsyncDir(this.dir);
          return () => {
            try {
              if (fs.readFileSync(this.lockPath, "utf8") === me) fs.rmSync(this.lockPath, { force: true });
            } catch {
              // already gone
            }
          };
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        const held = readLock(this.lockPath);
        if (held !== null) {
          this.assertStale(held);
          this.breakStaleLock(held.raw, tmp, me);
        }
        sleepMs(5);
      }
      throw new Error(`${this.lockPath}: could not take the lock in 200 attempts (other processes keep taking it); retry`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Throws unless the lock `held` belongs to nobody any more. */
  private assertStale(held: { raw: string; owner: LockOwner | null; ageMs: number }): void {
    const o = held.owner;
    if (o === null) {
      if (held.ageMs >= LOCK_GRACE_MS) return;
      throw new Error(
        `${this.lockPath} exists but names no owner (${JSON.stringify(held.raw.slice(0, 60))}); a process of an older version may be creating it: ` +
          `retry in a minute (it is then taken over), or delete it now if no process trains ${this.dir}`,
      );
    }
    const since = o.startedAt ? ` since ${o.startedAt}` : "";
    if (o.host !== undefined && o.host !== os.hostname()) {
      throw new Error(
        `${this.dir} is being trained by process ${o.pid} on host ${o.host}${since} (${this.lockPath}); this host cannot check that process: ` +
          `wait for it, or delete the lock file if it no longer runs`,
      );
    }
    if (processAlive(o.pid)) throw new Error(`${this.dir} is being trained by process ${o.pid}${since} (${this.lockPath}); wait for it or stop it first`);
  }

  /**
   * Removes the stale lock whose content is `raw`, unless it changed meanwhile. Racing processes take turns through
   * `train.lock.break` (created by the same link trick), so none of them can remove a lock another has just taken.
   */
  private breakStaleLock(raw: string, tmp: string, me: string): void {
    const breaker = `${this.lockPath}.break`;
    try {
      createLockFile(tmp, breaker, me);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      // another process is breaking it right now; a breaker this old was left by a process killed while breaking
      const b = readLock(breaker);
      if (b !== null && b.ageMs >= BREAK_GRACE_MS) fs.rmSync(breaker, { force: true });
      return;
    }
    try {
      const now = readLock(this.lockPath);
      if (now !== null && now.raw === raw) fs.rmSync(this.lockPath, { force: true });
    } finally {
      fs.rmSync(breaker, { force: true });
    }
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

/** The content of train.lock: lines `<pid>`, `<host>`, `<startedAt ISO>` (the pid first, so readers of the first
 *  line such as reuse.ts's lockHolder see the pid). Older versions wrote just `<pid>\n`. */
interface LockOwner {
  pid: number;
  host?: string;
  startedAt?: string;
}

/** An ownerless lock younger than this is taken to be in creation by an older version (it wrote the PID after creating the file). */
export const LOCK_GRACE_MS = 60_000;
const BREAK_GRACE_MS = 10_000;
let lockCounter = 0;

/** A lock file's text, its parsed owner (null when it names none) and its age; null when the file is gone. */
function readLock(file: string): { raw: string; owner: LockOwner | null; ageMs: number } | null {
  let raw: string;
  let mtime: number;
  try {
    raw = fs.readFileSync(file, "utf8");
    mtime = fs.statSync(file).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  return { raw, owner: parseLockOwner(raw), ageMs: Date.now() - mtime };
}

function parseLockOwner(raw: string): LockOwner | null {
  const [pid, host, startedAt] = raw.split("\n").map((l) => l.trim());
  if (!/^\d+$/.test(pid) || Number(pid) <= 0) return null;
  return { pid: Number(pid), host: host || undefined, startedAt: startedAt || undefined };
}

/**
 * Who holds a run's train.lock, read without taking it: `holder` is the owner as one line ("<pid> <host> <startedAt>",
 * or the raw text when it names no owner), `gone` whether that owner is known to have stopped (a dead pid on this
 * host), null when it cannot be told (another host, or no owner written yet). null when there is no lock.
 */
export function lockStatus(run: Run): { holder: string; pid: number | null; gone: boolean | null } | null {
  const lock = readLock(run.lockPath);
  if (!lock) return null;
  const o = lock.owner;
  if (!o) return { holder: lock.raw.trim() || "(empty lock file)", pid: null, gone: null };
  const holder = [String(o.pid), o.host, o.startedAt].filter(Boolean).join(" ");
  const alive = ownerAlive(o);
  return { holder, pid: o.pid, gone: alive === null ? null : !alive };
}

/** Whether a lock's owner is running: null when it cannot be told from here (another host). */
function ownerAlive(o: LockOwner): boolean | null {
  if (o.host !== undefined && o.host !== os.hostname()) return null;
  return processAlive(o.pid);
}

/**
 * Other processes training in `runsDir` now: the distinct live PIDs on this host, other than this process, that hold
 * a run's train.lock (a run waiting on another's lock holds none). Used to leave a core to each of them.
 */
export function otherTrainers(runsDir: string): number[] {
  if (!fs.existsSync(runsDir)) return [];
  const pids = new Set<number>();
  for (const d of fs.readdirSync(runsDir)) {
    const lock = readLock(path.join(runsDir, d, "train.lock"));
    const o = lock?.owner;
    if (o && o.pid !== process.pid && ownerAlive(o) === true) pids.add(o.pid);
  }
  return [...pids].sort((a, b) => a - b);
}

/**
 * Creates `lock` holding `text` unless it exists (EEXIST): a hard link of the finished temp file. Where the file
 * system has no hard links, an exclusive create followed by the write (the ownerless grace period covers the gap).
 */
function createLockFile(tmp: string, lock: string, text: string): void {
  try {
    fs.linkSync(tmp, lock);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
    fs.writeFileSync(lock, text, { flag: "wx" });
  }
}

/** Removes lock temp files of processes that no longer exist (killed between writing the temp and removing it). */
function removeDeadLockTemps(dir: string): void {
  for (const f of fs.readdirSync(dir)) {
    const m = /^\.train\.lock\.(\d+)\.\d+\.tmp$/.exec(f);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) fs.rmSync(path.join(dir, f), { force: true });
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
