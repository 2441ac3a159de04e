/**
 * What experiment code passes down: the kind registry, the runs folder, and how runs trained on the way report.
 * An entry point makes one with `runEnv()` (lib/experiments/kinds.ts), which builds the registry of every kind bound
 * to the same runs folder, so a generator that needs its tokenizer trains or finds it where the generator's own run
 * lives. Every train-or-reuse of a kind goes through `reuseRun` → lib/train/reuse.ts's `trainOrReuse`.
 */
import type { z } from "zod";
import type { ParamStore } from "../nn/params";
import { resolveConfig, type AnyObjectSchema, type ConfigDef, type ResolveOptions } from "../train/config";
import type { KindRegistry } from "../train/registry";
import { trainOrReuse, type TrainOrReuseOptions } from "../train/reuse";
import type { FinishedRun, MetricsRow } from "../train/run";
import { loadRunWeights } from "../train/trainer";
import { isRepaParam } from "../nn/repa";
import type { ProgressSink } from "../view/progress";

export interface RunEnv {
  /** Every kind by name; generators train their tokenizer through it. */
  kinds: KindRegistry;
  /** Folder of the run folders (`<kind>-<hash12>/`). */
  runsDir: string;
  /** Lines about training, resuming and caches (e.g. `() => {}` for silence). */
  log: (line: string) => void;
  /** Progress display of runs trained on the way (a generator's tokenizer, the feature network). */
  progress?: ProgressSink | boolean;
  /** The module data-parallel workers rebuild this registry from (`makeKinds`); absent: every run trains in-process. */
  kindsModule?: string;
  /** Data-parallel workers of runs trained through this environment (absent: lib/train/workers's default). */
  workers?: number;
}

/** Trainer options of one train-or-reuse call (progress sink, onStep, weights, …). */
export type RunTrainOptions = NonNullable<TrainOrReuseOptions["train"]>;

/**
 * The finished run of (kind, config): found in env.runsDir, or trained now (resuming a checkpoint) under the run's
 * lock, or waited for while another process trains it (`reused`: nothing was trained by this call). `train`
 * defaults to env.progress.
 */
export async function reuseRun(env: RunEnv, kind: string, config: Record<string, unknown>, train?: RunTrainOptions): Promise<{ run: FinishedRun; reused: boolean }> {
  const r = await trainOrReuse(env.kinds, kind, config, { runsDir: env.runsDir, log: env.log, train: train ?? { progress: env.progress }, kindsModule: env.kindsModule, workers: env.workers });
  if (!r.finished) throw new Error(`${kind}: ${r.dir} is busy (${r.outcome}); expected a finished run`);
  return { run: r.finished, reused: r.outcome === "reused" };
}

/** Options of a kind's train-or-reuse call: a config (or preset/overrides/set to resolve one) and trainer options. */
export interface ReuseOptions<S extends AnyObjectSchema> extends ResolveOptions<S> {
  /** A resolved config (skips preset/overrides/set). */
  config?: z.output<S>;
  /** Trainer options of this run when it is trained now (progress sink, onStep, …; default env.progress). */
  train?: RunTrainOptions;
}

/** Where a loaded model's weights came from. */
export interface ReusedRun {
  runDir: string;
  /** Every metrics row of the run (train rows carry `flops`; eval rows the kind's metrics). */
  metrics: MetricsRow[];
  /** Whether the finished run was found (or finished by another process) rather than trained by this call. */
  reused: boolean;
}

/**
 * A kind's model with its finished run's final weights (EMA when the run had EMA): the run is reused or trained now
 * (`reuseRun`), then `build` makes the model from the config and the run's weights are loaded into `params(model)`
 * after `check(run, model)` (training-only parameters in the checkpoint, REPA's projector, are not loaded: the
 * inference model has none). The model is disposed again if loading fails.
 */
export async function reuseAndLoad<S extends AnyObjectSchema, M extends { dispose(): void }>(
  env: RunEnv,
  kind: string,
  def: ConfigDef<S>,
  opts: ReuseOptions<S>,
  build: (config: z.output<S>) => M | Promise<M>,
  params: (model: M) => ParamStore,
  check?: (run: FinishedRun, model: M) => void,
): Promise<M & ReusedRun> {
  const config = opts.config ?? resolveConfig(def, opts);
  const { run, reused } = await reuseRun(env, kind, config, opts.train);
  const model = await build(config);
  try {
    check?.(run, model);
    loadRunWeights(run, params(model), { trainingOnly: isRepaParam });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { ...model, runDir: run.dir, metrics: run.metrics, reused };
}
