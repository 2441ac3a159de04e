/**
 * How a notebook trains its study's planned runs: the sweep runner (sweeps/run-sweep.ts `runSweep`, the same function
 * `npm run sweep` and every Slurm array task call) over exactly the planned list, with the environment's runs folder,
 * progress display and workers. Finished runs are reused, missing ones trained (resuming a checkpoint), a run another
 * process trains is revisited until it is finished; a line per trained run gives the progress and the ETA.
 *
 *   await trainPlan(env, planned);          // then load each run: it is finished, so loading trains nothing
 */
import type { RunEnv } from "./env";
import { eventLine, fmtSeconds, runSweep, type SweepSummary } from "./sweeps/run-sweep";
import type { PlannedRun } from "./sweeps/sweep";

/** Trains what is missing among `planned` (see the file comment); one run's failure is an error naming every failed run. */
export async function trainPlan(env: RunEnv, planned: readonly PlannedRun[], opts: { name?: string } = {}): Promise<SweepSummary> {
  const s = await runSweep(env.kinds, planned, {
    runsDir: env.runsDir,
    log: env.log,
    train: { progress: env.progress },
    kindsModule: env.kindsModule,
    workers: env.workers,
    pollMs: 2000,
    onEvent: (e) => {
      if (e.outcome !== "reused") env.log(eventLine(e));
    },
  });
  env.log(`${opts.name ?? "plan"}: ${s.trained.length} of ${planned.length} runs trained now, ${s.reused.length} reused${s.failed.length ? `, ${s.failed.length} failed` : ""} (${fmtSeconds(s.seconds)})`);
  if (s.failed.length) throw new Error(`${opts.name ?? "plan"}: ${s.failed.map((f) => `${f.run.id} (${f.run.label}) failed: ${f.error}`).join("; ")}`);
  return s;
}
