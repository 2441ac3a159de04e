/**
 * Notebook 07's runs: the `repa` study's runs of a setup (grid.ts), trained through the one plan runner (../train-plan.ts,
 * what `npm run sweep -- repa` calls too), then loaded through the AR / DiT kinds. At the preset's knobs these are the
 * sweep's runs, so `npm run sweep -- repa --preset P` beforehand makes the notebook train nothing; the curves'
 * baselines are notebook 06's runs (the same folders: whichever notebook comes first trains them); with other knobs
 * (another λ) only the runs that are new are trained.
 *
 *   const runs = await trainRepaGrid(env, repaSetup("quick"), { keep: (p) => p.part === "curve" });   // models kept for CKNNA
 *
 * Each run's evaluation points are notebook 06's (convergence/runs.ts `evalPoints`): step, FLOPs = step · FLOPs/step, gFID.
 */
import type { FidManifest } from "../../eval/fid-manifest";
import { runFidManifests } from "../fid-manifests";
import { findFinishedRun, type MetricsRow } from "../../train/run";
import type { RunEnv } from "../env";
import { evalRows } from "../run-summary";
import { trainAr, type TrainedAr } from "../ar/task";
import { trainDiT, type TrainedDiT } from "../dit/task";
import { generatorTrainFlopsPerSample } from "../equal-flops";
import { evalPoints, type EvalPoint } from "../convergence/runs";
import { planStudy, type PlannedOf } from "../plan";
import { trainPlan } from "../train-plan";
import { repaPoints, repaStudy, type RepaPoint, type RepaSetup } from "./grid";

/** One finished run of the study. */
export interface RepaRun {
  point: RepaPoint;
  label: string;
  runDir: string;
  /** Finished before `trainRepaGrid` was called (not trained by it). */
  reused: boolean;
  metrics: MetricsRow[];
  config: { steps: number; batchSize: number; depth: number; dim: number };
  /** Training FLOPs per step (the projector's included). */
  flopsPerStep: number;
  /** gFID of the last in-run evaluation (EMA weights). */
  finalGfid: number;
  /** The in-run evaluations at their cumulative training FLOPs, in step order. */
  points: EvalPoint[];
  /** How its in-run gFIDs were measured, by metrics key ("gfid", …; lib/eval/fid-manifest.ts). */
  fidManifests: Record<string, FidManifest>;
  /** The loaded model when `keep` asked for it (the caller disposes it), else null. */
  ar: TrainedAr | null;
  dit: TrainedDiT | null;
}

/** The study's points with their planned runs, in training order. */
function plannedPoints(setup: RepaSetup): { point: RepaPoint; run: PlannedOf<"ar"> | PlannedOf<"dit"> }[] {
  const points = repaPoints(setup);
  return planStudy(repaStudy, setup).map((run, i) => {
    if (run.kind !== "ar" && run.kind !== "dit") throw new Error(`repa study: run ${run.label} is a ${run.kind}; expected ar or dit`);
    return { point: points[i], run };
  });
}

/** Labels of the setup's runs that have not finished in env.runsDir (nothing is trained). */
export function unfinishedRepaRuns(env: RunEnv, setup: RepaSetup): string[] {
  return plannedPoints(setup)
    .filter(({ run }) => !findFinishedRun(run.kind, run.config, { runsDir: env.runsDir }))
    .map(({ run }) => run.label);
}

/**
 * Trains what is missing of the setup's runs, then loads every run in the study's order; models of `keep` points stay
 * loaded. `onlyFinished`: reuse the finished runs and skip the others (a partial grid, e.g. while the sweep still runs).
 */
export async function trainRepaGrid(env: RunEnv, setup: RepaSetup, opts: { keep?: (p: RepaPoint) => boolean; onlyFinished?: boolean } = {}): Promise<RepaRun[]> {
  const planned = plannedPoints(setup);
  const summary = opts.onlyFinished ? null : await trainPlan(env, planned.map((p) => p.run), { name: `repa @ ${setup.preset}` });
  const trainedNow = new Set((summary?.trained ?? []).map((r) => r.id));
  const out: RepaRun[] = [];
  for (const { point: p, run } of planned) {
    if (opts.onlyFinished && !findFinishedRun(run.kind, run.config, { runsDir: env.runsDir })) continue;
    const keep = opts.keep?.(p) ?? false;
    const ar = run.kind === "ar" ? await trainAr(env, { config: run.config }) : null;
    const dit = run.kind === "dit" ? await trainDiT(env, { config: run.config }) : null;
    const loaded: TrainedAr | TrainedDiT = ar ?? dit!;
    const cfg = run.config;
    const evals = evalRows(loaded);
    const flopsPerStep = generatorTrainFlopsPerSample(run.kind, cfg) * cfg.batchSize;
    out.push({
      point: p,
      label: run.label,
      runDir: loaded.runDir,
      reused: loaded.reused && !trainedNow.has(run.id), // finished before this call (trainPlan trains first, then every run loads as finished)
      metrics: loaded.metrics,
      config: { steps: cfg.steps, batchSize: cfg.batchSize, depth: cfg.depth, dim: cfg.dim },
      flopsPerStep,
      finalGfid: evals.length ? Number(evals[evals.length - 1].gfid) : NaN,
      points: evalPoints(loaded.metrics, flopsPerStep, cfg.steps),
      fidManifests: runFidManifests(run.kind, cfg, loaded.runDir),
      ar: keep ? ar : null,
      dit: keep ? dit : null,
    });
    if (!keep) loaded.dispose();
  }
  return out;
}
