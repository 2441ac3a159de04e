/**
 * Notebook 07's runs: exactly the `repa` sweep's grid at a preset (sweeps/repa.ts), each trained or reused through
 * the AR / DiT kinds, so `npm run sweep -- repa --preset P` beforehand makes the notebook train nothing.
 *
 *   const grid = await trainRepaGrid(env, "quick", { keep: (p) => p.seed === 0 && … });   // models kept for CKNNA
 */
import type { PresetName } from "../../train/config";
import { findFinishedRun, runId, type MetricsRow } from "../../train/run";
import type { RunEnv } from "../env";
import { evalRows } from "../run-summary";
import { trainAr, type TrainedAr } from "../ar/task";
import { resolveArConfig } from "../ar/config";
import { trainDiT, type TrainedDiT } from "../dit/task";
import { resolveDiTConfig } from "../dit/config";
import { REPA_POINTS, repaLabel, repaOverrides, type RepaPoint } from "../sweeps/repa";
import { generatorTrainFlopsPerSample } from "./equal-flops";
import { withSideBySide } from "../sweeps/side-by-side";

/** One finished run of the grid. */
export interface RepaRun {
  point: RepaPoint;
  label: string;
  runDir: string;
  reused: boolean;
  metrics: MetricsRow[];
  config: { steps: number; batchSize: number; depth: number; dim: number };
  /** Training FLOPs per step (the projector's included). */
  flopsPerStep: number;
  /** gFID of the last in-run evaluation (EMA weights). */
  finalGfid: number;
  /** The loaded model when `keep` asked for it (the caller disposes it), else null. */
  ar: TrainedAr | null;
  dit: TrainedDiT | null;
}

/** The grid points of a preset. */
export function repaPoints(preset: PresetName): readonly RepaPoint[] {
  return REPA_POINTS[preset];
}

function configOf(preset: PresetName, p: RepaPoint) {
  const overrides = repaOverrides(preset, p);
  return p.kind === "ar" ? resolveArConfig({ preset, overrides }) : resolveDiTConfig({ preset, overrides });
}

/** Labels of the grid's runs at `preset` that have not finished in env.runsDir (nothing is trained). */
export function unfinishedRepaRuns(env: RunEnv, preset: PresetName): string[] {
  return repaPoints(preset)
    .filter((p) => !findFinishedRun(p.kind, configOf(preset, p) as unknown as Record<string, unknown>, { runsDir: env.runsDir }))
    .map(repaLabel);
}

/**
 * Trains or reuses every run of the grid at `preset`, in the sweep's order; models of `keep` points stay loaded.
 * `onlyFinished`: reuse the finished runs and skip the others (a partial grid, e.g. while the sweep still runs).
 */
export async function trainRepaGrid(env: RunEnv, preset: PresetName, opts: { keep?: (p: RepaPoint) => boolean; onlyFinished?: boolean } = {}): Promise<RepaRun[]> {
  const out: RepaRun[] = [];
  const planned = repaPoints(preset).map((p) => {
    const config = configOf(preset, p) as unknown as Record<string, unknown>;
    return { id: runId(p.kind, config), kind: p.kind, config };
  });
  await withSideBySide(env, "repa", preset, opts.onlyFinished ? [] : planned, async () => {
    for (const p of repaPoints(preset)) {
      const cfg = configOf(preset, p);
      if (opts.onlyFinished && !findFinishedRun(p.kind, cfg as unknown as Record<string, unknown>, { runsDir: env.runsDir })) continue;
      const loaded: TrainedAr | TrainedDiT = p.kind === "ar" ? await trainAr(env, { config: cfg as ReturnType<typeof resolveArConfig> }) : await trainDiT(env, { config: cfg as ReturnType<typeof resolveDiTConfig> });
      const evals = evalRows(loaded);
      const keep = opts.keep?.(p) ?? false;
      out.push({
        point: p,
        label: repaLabel(p),
        runDir: loaded.runDir,
        reused: loaded.reused,
        metrics: loaded.metrics,
        config: { steps: cfg.steps, batchSize: cfg.batchSize, depth: cfg.depth, dim: cfg.dim },
        flopsPerStep: generatorTrainFlopsPerSample(p.kind, cfg) * cfg.batchSize,
        finalGfid: evals.length ? Number(evals[evals.length - 1].gfid) : NaN,
        ar: keep && p.kind === "ar" ? (loaded as TrainedAr) : null,
        dit: keep && p.kind === "dit" ? (loaded as TrainedDiT) : null,
      });
      if (!keep) loaded.dispose();
    }
  }, { trainFirst: true }); // the notebook only loads the runs: it trains beside the helper instead of waiting on it
  return out;
}
