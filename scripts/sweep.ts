/**
 * Train a study's runs (its grid at a preset's knobs: lib/experiments/studies.ts), locally or as a Slurm job array:
 *
 *   npm run sweep -- <name> [--preset P] [--shard i/n] [--set key=value …] [--runs-dir DIR] [--dry-run] [--status]
 *   npm run sweep -- <name> [--preset P] [--shards N] --slurm [sbatch options …]    submit one array task per shard
 *   npm run sweep -- --list
 *
 * Runs are trained or reused through trainOrReuse, so any number of processes (shards, unsharded copies, notebooks)
 * can share one runs folder: a run locked by another process is skipped and revisited until it is finished. Inside a
 * Slurm array task the shard is SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT. Everything after --slurm goes to sbatch
 * (e.g. --partition=cpu --time=8:00:00 --cpus-per-task=2, or --gres=gpu:1 with IFSQ_BACKEND=tensorflow-gpu).
 */
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { initBackend } from "../lib/backend";
import { defaultPreset, parsePresetName } from "../lib/train/config";
import { defaultRunsDir } from "../lib/train/run";
import {
  countStates,
  eventLine,
  fmtSeconds,
  parseShard,
  readSubmissions,
  runStatus,
  runSweep,
  sbatchArgs,
  shardOf,
  squeueTasks,
  submitSweep,
  type PlannedRun,
  type RunStatus,
} from "../lib/experiments/sweeps/index";
import { STUDIES, getStudy } from "../lib/experiments/studies";
import { runEnv } from "../lib/experiments/kinds";

const USAGE = `usage: npm run sweep -- <name> [--preset tiny|quick|paper-cpu] [--shard i/n] [--set key=value …] [--runs-dir DIR]
                          [--log-dir DIR] [--dry-run] [--status] [--backend B] [--quiet] [--poll SECONDS]
       npm run sweep -- <name> [--preset P] [--shards N] --slurm [sbatch options …]
       npm run sweep -- --list`;

function statusLine(s: RunStatus): string {
  const where = s.state === "done" ? `${s.step}/${s.steps} steps, trained in ${fmtSeconds(s.seconds ?? null)}` : `${s.step}/${s.steps} steps on disk`;
  const lock = s.holder ? `, locked by ${s.holder}${s.state === "stale" ? " (not running: the next trainer takes it over)" : ""}` : "";
  return `  ${s.state.padEnd(8)} ${s.run.id}  ${s.run.label.padEnd(24)} ${where}${lock}`;
}

/** The shard from --shard, else from a Slurm array task's environment, else the whole sweep. */
function chooseShard(flag: string | undefined): { index: number; count: number } | null {
  if (flag !== undefined) return parseShard(flag);
  const id = process.env.SLURM_ARRAY_TASK_ID;
  if (id === undefined || id === "") return null;
  const count = Number(process.env.SLURM_ARRAY_TASK_COUNT);
  const index = Number(id) - Number(process.env.SLURM_ARRAY_TASK_MIN ?? 0);
  return parseShard(`${index}/${count}`);
}

async function main(argv: string[]): Promise<number> {
  const slurmAt = argv.indexOf("--slurm");
  const sbatchOptions = slurmAt >= 0 ? argv.slice(slurmAt + 1) : [];
  const { values, positionals } = parseArgs({
    args: slurmAt >= 0 ? argv.slice(0, slurmAt) : argv,
    allowPositionals: true,
    options: {
      preset: { type: "string" },
      shard: { type: "string" },
      shards: { type: "string" },
      set: { type: "string", multiple: true },
      "runs-dir": { type: "string" },
      "log-dir": { type: "string" },
      "dry-run": { type: "boolean" },
      status: { type: "boolean" },
      backend: { type: "string" },
      quiet: { type: "boolean" },
      poll: { type: "string" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.list) {
    for (const s of STUDIES.values()) console.log(`${s.name}\t${s.description}`);
    return 0;
  }
  if (values.help || positionals.length !== 1) {
    console.log(`${USAGE}\nstudies: ${[...STUDIES.keys()].join(", ")}`);
    return values.help ? 0 : 2;
  }
  const def = getStudy(positionals[0]);
  const preset = values.preset !== undefined ? parsePresetName(values.preset, "--preset") : defaultPreset();
  const runsDir = path.resolve(values["runs-dir"] ?? defaultRunsDir());
  const logDir = path.resolve(values["log-dir"] ?? path.join(path.dirname(runsDir), "sweeps", `${def.name}-${preset}`));
  const set = values.set ?? [];
  const env = runEnv({ runsDir });
  const kinds = env.kinds; // every kind, generators bound to this runs folder
  const all = def.plan(preset, set);
  const shard = slurmAt >= 0 ? null : chooseShard(values.shard);
  const mine: PlannedRun[] = shard ? shardOf(all, shard.index, shard.count) : all;
  const scope = shard ? `shard ${shard.index}/${shard.count}: ${mine.length} of ${all.length} runs` : `${all.length} runs`;
  console.log(`sweep ${def.name} @ ${preset} (${scope}) in ${runsDir}`);

  if (values.status) {
    const statuses = mine.map((r) => runStatus(r, runsDir));
    for (const s of statuses) console.log(statusLine(s));
    const c = countStates(statuses);
    console.log(`${c.done} done, ${c.running} running, ${c.stale} stale lock, ${c.missing} missing`);
    const subs = readSubmissions(logDir);
    if (subs.length) {
      const queued = squeueTasks(subs.map((s) => s.jobId));
      console.log(`slurm jobs (${path.join(logDir, "jobs.jsonl")}):`);
      for (const sub of subs) {
        const tasks = queued?.filter((t) => t.jobId === sub.jobId) ?? [];
        const detail = queued === null ? "squeue not found" : tasks.length === 0 ? "no task left in the queue" : tasks.map((t) => `task ${t.task} ${t.state} ${t.time} ${t.where}`).join("; ");
        console.log(`  job ${sub.jobId} (${sub.shards} shards, submitted ${sub.submittedAt}): ${detail}`);
      }
    }
    return 0;
  }

  if (slurmAt >= 0) {
    const shards = values.shards !== undefined ? Number(values.shards) : all.length;
    if (!Number.isInteger(shards) || shards < 1) throw new Error(`--shards ${values.shards} must be a positive integer`);
    const root = path.resolve(__dirname, "..");
    const sweepArgs = [def.name, "--preset", preset, "--runs-dir", runsDir, "--log-dir", logDir, ...set.flatMap((s) => ["--set", s])];
    if (values.backend) sweepArgs.push("--backend", values.backend);
    if (values.poll) sweepArgs.push("--poll", values.poll);
    const plan = { script: path.join(root, "scripts", "sweep.sbatch"), shards, jobName: `sweep-${def.name}`, logDir, chdir: root, sbatchOptions, sweepArgs };
    if (values["dry-run"]) {
      console.log(["sbatch", ...sbatchArgs(plan)].join(" "));
      return 0;
    }
    const sub = submitSweep({ ...plan, sweep: def.name, preset, runsDir });
    console.log(`submitted job array ${sub.jobId}: ${shards} tasks, output in ${logDir}/sweep-${def.name}-${sub.jobId}_<task>.out`);
    const again = [def.name, "--preset", preset, "--runs-dir", runsDir, ...(values["log-dir"] ? ["--log-dir", logDir] : []), ...set.flatMap((s) => ["--set", s])];
    console.log(`follow it with: npm run sweep -- ${again.join(" ")} --status`);
    return 0;
  }

  if (values["dry-run"]) {
    for (const r of mine) console.log(statusLine(runStatus(r, runsDir)));
    return 0;
  }

  const backend = await initBackend(values.backend, { log: () => {} });
  console.log(`host ${os.hostname()}, pid ${process.pid}, backend ${backend.name}`);
  const pollMs = values.poll !== undefined ? Number(values.poll) * 1000 : 5000;
  if (!(pollMs > 0)) throw new Error(`--poll ${values.poll} must be a positive number of seconds`);
  const summary = await runSweep(kinds, mine, {
    runsDir,
    pollMs,
    kindsModule: env.kindsModule,
    train: values.quiet ? { progress: false } : undefined,
    log: values.quiet ? () => {} : undefined,
    onEvent: (e) => console.log(eventLine(e)),
  });
  console.log(`sweep ${def.name} @ ${preset}: ${summary.trained.length} trained, ${summary.reused.length} reused, ${summary.failed.length} failed in ${fmtSeconds(summary.seconds)}`);
  for (const f of summary.failed) console.log(`  failed ${f.run.id} (${f.run.label}): ${f.error}`);
  return summary.failed.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  },
);
