/**
 * Run folders: one per (kind, resolved config), so the same config always lands in the same folder and a finished
 * run is found again instead of retrained.
 *
 *   <runsDir>/<kind>-<configHash[0:12]>/
 *     config.json      { kind, configHash, config } (the resolved config; written once, atomically)
 *     metrics.jsonl    one JSON object per line: { type: "train", step, time, loss, …parts, lr, gradNorm, flops }
 *                      or { type: "eval", step, time, …values }; `time` is training wall time in seconds
 *     checkpoints/     step-0000100.safetensors … (see checkpoint.ts), the newest K kept
 *     samples/         images or other artefacts a task writes
 *     done.json        { step, time, finishedAt, final } once the run has finished
 *
 * `runsDir` defaults to `data/runs` under the repository root, found from this file's location (not from
 * process.cwd(), which is `notebooks/` inside a notebook kernel).
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../atomic";
import { configHash, canonicalJson } from "./config";
import { newestCheckpoint } from "./checkpoint";

/** The folder holding package.json above lib/train (symlinks resolved). */
function projectRoot(): string {
  let dir = fs.realpathSync(__dirname);
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}; pass runsDir explicitly`);
    dir = up;
  }
}

/** `<repo>/data/runs`. */
export function defaultRunsDir(): string {
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

  private checkConfigFile(): void {
    let stored: { kind?: string; configHash?: string; config?: unknown };
    try {
      stored = JSON.parse(fs.readFileSync(this.configPath, "utf8"));
    } catch (e) {
      throw new Error(`${this.configPath}: unreadable (${(e as Error).message}); delete the run folder to start over`);
    }
    if (stored.kind !== this.kind || canonicalJson(stored.config) !== canonicalJson(this.config)) {
      throw new Error(`${this.configPath} holds a different config (kind ${stored.kind}, hash ${String(stored.configHash).slice(0, 12)}) than this run (kind ${this.kind}, hash ${this.hash.slice(0, 12)})`);
    }
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
   * Claims the folder for one training process (two writers would interleave metrics and checkpoints). A lock left
   * by a process that no longer exists (killed) is taken over. Returns the release function.
   */
  lock(): () => void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(this.lockPath, "wx");
        fs.writeSync(fd, `${process.pid}\n`);
        fs.closeSync(fd);
        return () => {
          try {
            if (fs.readFileSync(this.lockPath, "utf8").trim() === String(process.pid)) fs.rmSync(this.lockPath, { force: true });
          } catch {
            // already gone
          }
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const pid = Number(fs.readFileSync(this.lockPath, "utf8").trim());
        if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
          throw new Error(`${this.dir} is being trained by process ${pid} (${this.lockPath}); wait for it or stop it first`);
        }
        fs.rmSync(this.lockPath, { force: true }); // stale: its process is gone
      }
    }
    throw new Error(`${this.lockPath}: could not take the lock`);
  }

  isDone(): boolean {
    return fs.existsSync(this.donePath);
  }

  readDone(): DoneRecord | null {
    return fs.existsSync(this.donePath) ? (JSON.parse(fs.readFileSync(this.donePath, "utf8")) as DoneRecord) : null;
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

/** The finished run for (kind, config) if one exists in `runsDir`, else null (then train it). */
export function findFinishedRun(kind: string, config: Record<string, unknown>, opts: { runsDir?: string } = {}): FinishedRun | null {
  const run = Run.locate(kind, config, opts.runsDir ?? defaultRunsDir());
  const done = run.readDone();
  if (!done || !fs.existsSync(run.configPath)) return null;
  const stored = JSON.parse(fs.readFileSync(run.configPath, "utf8")) as { kind?: string; config?: unknown };
  if (stored.kind !== kind || canonicalJson(stored.config) !== canonicalJson(config)) return null;
  const ck = newestCheckpoint(run.checkpointsDir);
  if (!ck || ck.step !== done.step) return null;
  return { dir: run.dir, kind, config, configHash: run.hash, metrics: run.readMetrics(), done, checkpoint: ck.file };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
