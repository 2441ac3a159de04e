/**
 * The convergence study's runs of a setup (grid.ts), trained through the one plan runner (../train-plan.ts) and then
 * read in declared order, each with its evaluation points: the eval rows of its metrics placed at their cumulative training FLOPs and wall time.
 *
 *   const runs = await loadConvergenceRuns(runEnv(), convergenceSetup("quick"));   // trains what is missing
 *
 * Per eval row at completed step s (the trainer writes it after step s, before evaluating):
 *   flops    = s · FLOPs/step                       (FLOPs/step from the train rows, nn/flops.ts convention)
 *   fraction = flops / budget                        (budget = steps · FLOPs/step, the run's whole training)
 *   wall     = row.time                               (training + the evaluations before s)
 *   train    = row.time − Σ evalSeconds of earlier rows (training only)
 * The run's wall time is done.json's time (every evaluation and checkpoint included); eval share = Σ evalSeconds / it.
 */
import type { MetricsRow } from "../../train/run";
import type { PresetName } from "../../train/config";
import { reuseRun, type RunEnv } from "../env";
import { planStudy, type PlannedOf } from "../plan";
import { trainPlan } from "../train-plan";
import { convergenceStudy, type ConvergenceSetup } from "./grid";
import { readSampleSnapshots, type SampleSnapshot } from "../sample-snapshots";
import type { CfgEnd } from "./cfg-end";
import type { FidManifest } from "../../eval/fid-manifest";
import { runFidManifests } from "../fid-manifests";

export interface EvalPoint {
  step: number;
  flops: number;
  /** flops / budget. */
  fraction: number;
  /** gFID without guidance. */
  gfid: number;
  /** Wall seconds when the weights of this point were reached, earlier evaluations included. */
  wallSeconds: number;
  /** Wall seconds of training alone up to this point. */
  trainSeconds: number;
  /** Wall seconds of this point's evaluation. */
  evalSeconds: number;
}

export interface ConvergenceRun {
  label: string;
  kind: "ar" | "dit";
  seed: number;
  runDir: string;
  reused: boolean;
  config: { steps: number; batchSize: number; evalSamples: number; seed: number };
  /** The planned run (its full typed config: what cfg-end.ts loads). */
  planned: PlannedOf<"ar"> | PlannedOf<"dit">;
  metrics: MetricsRow[];
  flopsPerStep: number;
  /** Training FLOPs of the whole run. */
  budget: number;
  points: EvalPoint[];
  /** Wall seconds of the whole run (done.json), evaluations and checkpoints included. */
  totalSeconds: number;
  /** Σ evalSeconds over the run's evaluations. */
  evalSeconds: number;
  samples: SampleSnapshot[];
  /** gFID with CFG at the end of the budget (cfg-end.ts `addCfgEnd`), once checked. */
  cfgEnd?: CfgEnd;
  /** How its in-run gFIDs were measured, by metric key ("gfid", …; fid-manifests.ts runFidManifests). */
  fidManifests: Record<string, FidManifest>;
}

/** FLOPs per step of a run from its train rows (each carries flops = step · FLOPs/step). */
export function flopsPerStepOf(metrics: readonly MetricsRow[], what: string): number {
  const last = [...metrics].reverse().find((r) => r.type === "train" && Number(r.flops) > 0);
  if (!last) throw new Error(`${what}: no train row with flops in its metrics`);
  return Number(last.flops) / last.step;
}

/** The evaluation points of a run's metrics (see the file comment), in step order. */
export function evalPoints(metrics: readonly MetricsRow[], flopsPerStep: number, steps: number): EvalPoint[] {
  const budget = steps * flopsPerStep;
  let evalBefore = 0;
  return metrics
    .filter((r) => r.type === "eval")
    .map((r) => {
      const evalSeconds = Number(r.evalSeconds ?? 0);
      const p: EvalPoint = {
        step: r.step,
        flops: r.step * flopsPerStep,
        fraction: (r.step * flopsPerStep) / budget,
        gfid: Number(r.gfid),
        wallSeconds: Number(r.time),
        trainSeconds: Number(r.time) - evalBefore,
        evalSeconds,
      };
      evalBefore += evalSeconds;
      return p;
    });
}

/** Every run of the convergence study's setup: the missing ones trained first (trainPlan), then each read in declared order. */
export async function loadConvergenceRuns(env: RunEnv, setup: ConvergenceSetup): Promise<ConvergenceRun[]> {
  const planned = planStudy(convergenceStudy, setup);
  await trainPlan(env, planned, { name: `convergence @ ${setup.preset}` });
  const out: ConvergenceRun[] = [];
  for (const p of planned) {
    if (p.kind !== "ar" && p.kind !== "dit") throw new Error(`convergence study: run ${p.label} is a ${p.kind}; expected ar or dit`);
    const { run, reused } = await reuseRun(env, p.kind, p.config);
    const config = p.config;
    const flopsPerStep = flopsPerStepOf(run.metrics, p.id);
    const points = evalPoints(run.metrics, flopsPerStep, config.steps);
    if (points.length === 0) throw new Error(`${p.id}: no evaluations in its metrics; the convergence runs evaluate in-run (evalSamples > 0)`);
    const evalSeconds = points.reduce((s, q) => s + q.evalSeconds, 0);
    out.push({
      label: p.label,
      kind: p.kind,
      seed: config.seed,
      runDir: run.dir,
      reused,
      config,
      planned: p,
      metrics: run.metrics,
      flopsPerStep,
      budget: config.steps * flopsPerStep,
      points,
      totalSeconds: Number(run.done.time),
      evalSeconds,
      samples: readSampleSnapshots(run.dir),
      fidManifests: runFidManifests(p.kind, config, run.dir),
    });
  }
  return out;
}
