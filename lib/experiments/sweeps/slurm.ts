/**
 * A sweep as a Slurm job array: one array task per shard, each running `scripts/sweep.sbatch` (which runs
 * `scripts/sweep.ts` with the sweep's arguments; the shard comes from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT),
 * with its output in `<logDir>/<job-name>-<jobid>_<task>.out`. Every task trains its shard into the one shared runs
 * folder, so the runs folder must be on storage every node sees. Submissions are recorded in `<logDir>/jobs.jsonl`,
 * which `--status` reads to show the jobs through squeue.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../../atomic";

export interface SlurmSubmission {
  /** sbatch's job id of the array. */
  jobId: string;
  sweep: string;
  preset: string;
  shards: number;
  runsDir: string;
  logDir: string;
  submittedAt: string;
  /** The full sbatch command line. */
  command: string[];
}

export interface SbatchPlan {
  /** The batch script (scripts/sweep.sbatch). */
  script: string;
  /** Array tasks = shards. */
  shards: number;
  jobName: string;
  logDir: string;
  /** Working directory of the tasks (the repository). */
  chdir: string;
  /** The user's own sbatch options (partition, account, time, --gres=gpu:1, …), placed last so they win. */
  sbatchOptions: readonly string[];
  /** Arguments for scripts/sweep.ts in every task (sweep name, --preset, --runs-dir, --set …). */
  sweepArgs: readonly string[];
}

/** The sbatch argument list for a sweep's job array. */
export function sbatchArgs(p: SbatchPlan): string[] {
  if (!Number.isInteger(p.shards) || p.shards < 1) throw new Error(`sbatch: shards=${p.shards} must be a positive integer`);
  return [
    "--parsable",
    `--array=0-${p.shards - 1}`,
    `--job-name=${p.jobName}`,
    `--output=${path.join(p.logDir, "%x-%A_%a.out")}`,
    `--chdir=${p.chdir}`,
    ...p.sbatchOptions,
    p.script,
    ...p.sweepArgs,
  ];
}

/** Runs sbatch and records the submission in `<logDir>/jobs.jsonl`; sbatch's own error is reported verbatim. */
export function submitSweep(p: SbatchPlan & { sweep: string; preset: string; runsDir: string }): SlurmSubmission {
  fs.mkdirSync(p.logDir, { recursive: true });
  const args = sbatchArgs(p);
  const r = spawnSync("sbatch", args, { encoding: "utf8" });
  if (r.error) throw new Error(`sbatch could not be started (${r.error.message}); is Slurm's client (slurm-client) installed and on PATH?`);
  if (r.status !== 0) throw new Error(`sbatch ${args.join(" ")} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  const jobId = r.stdout.trim().split(";")[0];
  if (!/^\d+$/.test(jobId)) throw new Error(`sbatch printed ${JSON.stringify(r.stdout.trim())}, expected a job id`);
  const sub: SlurmSubmission = { jobId, sweep: p.sweep, preset: p.preset, shards: p.shards, runsDir: p.runsDir, logDir: p.logDir, submittedAt: new Date().toISOString(), command: ["sbatch", ...args] };
  const file = path.join(p.logDir, "jobs.jsonl");
  const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  writeFileAtomic(file, before + JSON.stringify(sub) + "\n");
  return sub;
}

/** The submissions recorded in `<logDir>/jobs.jsonl` (none when the file is absent). */
export function readSubmissions(logDir: string): SlurmSubmission[] {
  const file = path.join(logDir, "jobs.jsonl");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as SlurmSubmission);
}

export interface QueuedTask {
  jobId: string;
  /** Array task id ("" for a plain job). */
  task: string;
  /** PENDING, RUNNING, COMPLETING, … */
  state: string;
  /** Elapsed time as squeue prints it. */
  time: string;
  /** Node list when running, the reason when pending. */
  where: string;
}

/**
 * The array tasks of these jobs still in Slurm's queue (squeue, one line per task); null when squeue is missing.
 * `env` is squeue's environment (e.g. with SLURM_CONF naming a private cluster); default this process's.
 */
export function squeueTasks(jobIds: readonly string[], env?: NodeJS.ProcessEnv): QueuedTask[] | null {
  const r = spawnSync("squeue", ["-h", "-r", "-o", "%F|%K|%T|%M|%R"], { encoding: "utf8", env });
  if (r.error) return null;
  if (r.status !== 0) throw new Error(`squeue failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  const want = new Set(jobIds);
  return r.stdout
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const [jobId, task, state, time, where] = l.split("|");
      return { jobId, task: task === "N/A" || task === "(null)" ? "" : task, state, time, where };
    })
    .filter((t) => want.has(t.jobId));
}
