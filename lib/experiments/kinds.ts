/**
 * The explicit registry of every kind of run, and the run environment entry points pass down:
 *
 *   const env = runEnv();                      // or runEnv({ runsDir, log, progress })
 *   await trainOrReuse(env.kinds, "ar", config, { runsDir: env.runsDir });   // CLI, sweeps
 *   const ar = await trainAr(env, { preset: "quick" });                     // notebooks
 *
 * Nothing registers itself on import: a kind exists for a caller because it is in this list. The generator kinds are
 * bound to the environment's runs folder, so the tokenizer run a generator needs is trained or found next to it.
 * A data-parallel worker gets the same registry by requiring this file and calling `makeKinds({ runsDir })`.
 */
import type { KindRegistry, TrainKind } from "../train/registry";
import { defaultRunsDir } from "../train/run";
import { toyKind } from "../train/toy";
import type { ProgressSink } from "../view/progress";
import type { RunEnv } from "./env";
import { tokenizerKind } from "./tokenizer/task";
import { arConfig, type ArConfig } from "./ar/config";
import { makeArTask } from "./ar/task";
import { ditConfig, type DiTConfig } from "./dit/config";
import { makeDiTTask } from "./dit/task";
import { featureNetKind } from "./featurenet/task";
import { teacherKind } from "./teacher/task";

export interface RunEnvOptions {
  /** Folder of the run folders (default `<repo>/data/runs`). */
  runsDir?: string;
  /** Lines about training, resuming and caches (default console.log). */
  log?: (line: string) => void;
  /** Progress display of runs trained on the way (default: lib/view's progress sink). */
  progress?: ProgressSink | boolean;
}

/** The kind names of `runEnv().kinds`, in listing order. */
export const KIND_NAMES = ["tokenizer", "ar", "dit", "featurenet", "teacher", "toy"] as const;

/** A run environment: the registry of every kind, bound to one runs folder. */
export function runEnv(opts: RunEnvOptions = {}): RunEnv {
  const kinds = new Map<string, TrainKind>();
  const env: RunEnv = { kinds, runsDir: opts.runsDir ?? defaultRunsDir(), log: opts.log ?? ((l: string) => console.log(l)), progress: opts.progress, kindsModule: __filename };
  // the generators get the environment: their task trains or finds its tokenizer run in env.runsDir
  const ar = { description: "LlamaGen (class-conditional AR transformer, factorized FSQ tokens) on a tokenizer run's tokens", configDef: arConfig, makeTask: (cfg: ArConfig) => makeArTask(cfg, env) };
  const dit = { description: "DiT (adaLN-Zero, RMSNorm, QK-norm, SwiGLU, 2-D RoPE) with flow matching on a tokenizer run's quantized latents", configDef: ditConfig, makeTask: (cfg: DiTConfig) => makeDiTTask(cfg, env) };
  const all: Record<(typeof KIND_NAMES)[number], unknown> = { tokenizer: tokenizerKind, ar, dit, featurenet: featureNetKind, teacher: teacherKind, toy: toyKind };
  for (const name of KIND_NAMES) kinds.set(name, all[name] as TrainKind);
  return env;
}

/** The registry of every kind for a runs folder (the export a data-parallel worker's `kindsModule` must have). */
export function makeKinds(opts: { runsDir?: string } = {}): KindRegistry {
  return runEnv({ ...opts, log: () => {}, progress: false }).kinds;
}
