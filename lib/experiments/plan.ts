/**
 * A study's runs as typed values, and the one way to resolve them: a `StudyRun` is a kind and typed overrides of that
 * kind's preset; `planRuns` resolves each to its full config (schema defaults ← preset ← overrides ← `--set`) and run
 * folder `<kind>-<configHash12>`, so `npm run sweep`, a Slurm array task and a notebook planning the same values land
 * in the same folders, and `runSweep` (sweeps/run-sweep.ts) trains exactly that list for all three.
 *
 *   const runs: StudyRun[] = [studyRun("ar", "ar base seed=0", { seed: 0, steps: 100 })];
 *   const planned = planRuns(runs, { preset: "quick" });   // PlannedStudyRun[]: planned[0].config is an ArConfig
 *
 * This file sits above the kinds (it names their configs) and below the studies; the sweep engine (sweeps/) sees the
 * planned runs only as `{ kind: string, config }`.
 */
import { parsePresetName, resolveConfig, type DeepPartial, type PresetName } from "../train/config";
import { runId } from "../train/run";
import { toyConfig, type ToyConfig } from "../train/toy";
import { tokenizerConfig, type TokenizerConfig } from "./tokenizer/config";
import { arConfig, type ArConfig } from "./ar/config";
import { ditConfig, type DiTConfig } from "./dit/config";
import { featureNetConfig, type FeatureNetConfig } from "./featurenet/config";
import { teacherConfig, type TeacherConfig } from "./teacher/config";

/** Kind name → the kind's resolved config (the kinds of lib/experiments/kinds.ts). */
export interface KindConfigs {
  tokenizer: TokenizerConfig;
  ar: ArConfig;
  dit: DiTConfig;
  featurenet: FeatureNetConfig;
  teacher: TeacherConfig;
  toy: ToyConfig;
}
export type KindName = keyof KindConfigs;

/** One run a study declares: a kind and the values that differ from the kind's preset (checked against its type). */
export type StudyRun = { [K in KindName]: { label: string; kind: K; overrides: DeepPartial<KindConfigs[K]> } }[KindName];

/** A study run resolved: its full, validated config and run folder name `<kind>-<configHash12>`. */
export type PlannedStudyRun = { [K in KindName]: { index: number; label: string; kind: K; config: KindConfigs[K]; id: string } }[KindName];

/** The planned run of kind K. */
export type PlannedOf<K extends KindName> = Extract<PlannedStudyRun, { kind: K }>;

export interface PlanRunsOptions {
  preset: PresetName | string;
  /** CLI `key=value` strings applied to every run (after the overrides); a key unknown to a run's kind is an error. */
  set?: readonly string[];
  /** Names the plan in errors (the study). */
  name?: string;
}

/** One study run resolved (one typed branch per kind). */
function resolveRun(r: StudyRun, index: number, preset: PresetName, set: readonly string[]): PlannedStudyRun {
  const at = { preset, overrides: r.overrides, set };
  const { label } = r;
  switch (r.kind) {
    case "tokenizer": {
      const config = resolveConfig(tokenizerConfig, at);
      return { index, label, kind: r.kind, config, id: runId(r.kind, config) };
    }
    case "ar": {
      const config = resolveConfig(arConfig, at);
      return { index, label, kind: r.kind, config, id: runId(r.kind, config) };
    }
    case "dit": {
      const config = resolveConfig(ditConfig, at);
      return { index, label, kind: r.kind, config, id: runId(r.kind, config) };
    }
    case "featurenet": {
      const config = resolveConfig(featureNetConfig, at);
      return { index, label, kind: r.kind, config, id: runId(r.kind, config) };
    }
    case "teacher": {
      const config = resolveConfig(teacherConfig, at);
      return { index, label, kind: r.kind, config, id: runId(r.kind, config) };
    }
    case "toy": {
      const config = resolveConfig(toyConfig, at);
      return { index, label, kind: r.kind, config, id: runId(r.kind, config) };
    }
  }
}

/** Every run of a study at a preset with its resolved config, in declared order; two runs of one config are an error. */
export function planRuns(runs: readonly StudyRun[], opts: PlanRunsOptions): PlannedStudyRun[] {
  const preset = parsePresetName(String(opts.preset));
  const where = opts.name ? `study "${opts.name}"` : "plan";
  const byId = new Map<string, string>();
  return runs.map((r, index) => {
    let p: PlannedStudyRun;
    try {
      p = resolveRun(r, index, preset, opts.set ?? []);
    } catch (e) {
      throw new Error(`${where}, run "${r.label}" (${r.kind}): ${(e as Error).message}`);
    }
    const twin = byId.get(p.id);
    if (twin !== undefined) throw new Error(`${where}: runs "${twin}" and "${r.label}" resolve to the same config (${p.id}) at preset ${preset}`);
    byId.set(p.id, r.label);
    return p;
  });
}

/** The planned runs of kind `kind`, typed. */
export function runsOfKind<K extends KindName>(planned: readonly PlannedStudyRun[], kind: K): PlannedOf<K>[] {
  return planned.filter((p): p is PlannedOf<K> => p.kind === kind);
}

/**
 * A study: what a notebook studies. Its setup holds the knobs a researcher changes (a notebook's parameter cell shows
 * them, with the preset's values as defaults); its runs follow from the setup. `npm run sweep -- <name>` plans the
 * runs of the preset's setup, so a notebook at its defaults and the sweep train the same folders.
 */
export interface StudyDef<S extends { preset: PresetName }> {
  /** The name `npm run sweep -- <name>` takes (letters, digits, "-"). */
  name: string;
  /** One line: which figure or table the grid feeds. */
  description: string;
  /** Every knob at the preset's value. */
  setup(preset: PresetName): S;
  /** The runs of a setup, in training order. */
  runs(setup: S): StudyRun[];
}

/** Checks a study's name. */
export function defineStudy<S extends { preset: PresetName }>(def: StudyDef<S>): StudyDef<S> {
  if (!/^[A-Za-z0-9-]+$/.test(def.name)) throw new Error(`study name ${JSON.stringify(def.name)} must contain only letters, digits and "-"`);
  return def;
}

/** The planned runs of a study's setup (`set`: CLI `key=value` strings applied to every run). */
export function planStudy<S extends { preset: PresetName }>(def: StudyDef<S>, setup: S, set: readonly string[] = []): PlannedStudyRun[] {
  return planRuns(def.runs(setup), { preset: setup.preset, set, name: def.name });
}

/** A study with its setup type erased: what the catalog (studies.ts) and `npm run sweep` hold. */
export interface CatalogStudy {
  name: string;
  description: string;
  /** The runs of the preset's setup. */
  plan(preset: PresetName, set?: readonly string[]): PlannedStudyRun[];
}

export function catalogStudy<S extends { preset: PresetName }>(def: StudyDef<S>): CatalogStudy {
  return { name: def.name, description: def.description, plan: (preset, set) => planStudy(def, def.setup(preset), set) };
}
