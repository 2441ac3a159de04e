/**
 * Notebook 07's runs (the `repa` study) (paper E8, spec §7), in two parts:
 *
 *   curves    REPA vs no REPA as gFID-against-training-FLOPs curves, LlamaGen (AR) and DiT, at every seed of notebook
 *             06's setup (`convergenceSetup(preset)`): the runs without REPA ARE 06's runs (the same overrides, so the
 *             same run folders: a reproduce trains them once); each REPA run is its baseline's overrides with `repa`
 *             added, the steps of equal training FLOPs (../equal-flops.ts `equalFlopSteps`: the projector is paid in
 *             steps) and the in-run evaluations at the steps of equal FLOPs to the baseline's log-spaced points
 *             (`equalFlopEvalSteps`; same sample count, Euler steps, EMA, warm-up, lr). A change of 06's budget, points
 *             or seeds carries over.
 *   ablation  LlamaGen-REPA over alignment depth ℓ × weight λ at its own, deeper model scale (a depth ablation needs
 *             more than 06's 3 blocks), final gFID per setting; null where the preset has none.
 *
 * The REPA setting of the curves is the paper's: ℓ ≈ ⅓ of the depth (06's models have 3 blocks → ℓ = 1, the hidden
 * state after the first block, leaving two blocks after the aligned layer), λ = 2 for AR and 0.5 for DiT.
 *
 *   tiny       curves on 06's tiny setup (2-block models, ℓ = 1); ablation: 2-block models, 10 steps, ℓ ∈ {1, 2} at
 *              λ = 2, one seed (CI smoke run, seconds).
 *   quick      curves on 06's quick setup (D = 64, depth 3; AR 400 / DiT 930 baseline steps, 8 log-spaced points of
 *              200 samples, 10 Euler steps, seeds 0 and 1): 4 REPA runs beside 06's 4; no ablation (it moved to
 *              paper-cpu: its 14 runs of 3 200 samples showed nothing beyond the seed spread, issue 27).
 *   paper-cpu  curves on 06's paper-cpu setup (3 seeds); ablation on 12-block, D = 128 models: ℓ ∈ {3, 4, 6, 8} ×
 *              λ ∈ {0.5, 1, 2, 4}, three seeds of the baseline and of ℓ = 4, λ = 2 (hours: shard it or use Slurm).
 *
 * `repaSetup(preset)` gives the preset's knobs (notebook 07's parameter cell), `repaStudy.runs(setup)` the runs
 * (`npm run sweep -- repa` trains the same folders).
 */
import type { DeepPartial, PresetName } from "../../train/config";
import { resolveArConfig, type ArConfig } from "../ar/config";
import { resolveDiTConfig, type DiTConfig } from "../dit/config";
import { equalFlopSteps, generatorTrainFlopsPerSample } from "../equal-flops";
import { defineStudy, type StudyRun } from "../plan";
import { convergenceRuns, convergenceSetup, type ConvergenceSetup } from "../convergence/grid";

/** Where REPA aligns and how strongly: the hidden state after block `depth` (ℓ), loss weight `weight` (λ). */
export interface RepaSetting {
  depth: number;
  weight: number;
}

/** LlamaGen-REPA's depth × λ ablation: its model scale (overrides of the AR preset), grid and seeds. */
export interface RepaAblation {
  scale: DeepPartial<ArConfig>;
  /** Alignment depths ℓ. */
  depths: number[];
  /** Loss weights λ. */
  weights: number[];
  /** true: every depth × weight; false: the depths at the headline λ and the weights at the headline ℓ. */
  cross: boolean;
  /** The headline setting, trained with the baseline at every seed (the other settings at the first). */
  main: RepaSetting;
  seeds: number[];
}

/** The knobs of notebook 07 (its parameter cell). */
export interface RepaSetup {
  preset: PresetName;
  /** Notebook 06's setup: its runs are the curves' baselines; its seeds, budget and evaluation schedule are the REPA runs'. */
  convergence: ConvergenceSetup;
  /** The curves' REPA setting per generator (the paper's: ℓ ≈ depth/3, λ = 2 for AR and 0.5 for DiT). */
  main: { ar: RepaSetting; dit: RepaSetting };
  /** Preset of the self-supervised teacher the runs align to. */
  teacher: PresetName;
  /** LlamaGen-REPA's depth × λ grid, or null (the curves only). */
  ablation: RepaAblation | null;
}

/** The ablation's model scale at the presets that have one. */
const ABLATION_SCALE: Partial<Record<PresetName, DeepPartial<ArConfig>>> = {
  tiny: { steps: 10, trainLimit: 512, evalSamples: 130, evalEvery: 0 },
  "paper-cpu": { dim: 128, depth: 12, heads: 4, steps: 1500, emaWarmup: true, evalEvery: 250, ckptEvery: 250 },
};

/** The knobs at each preset (see the file comment). */
export function repaSetup(preset: PresetName): RepaSetup {
  const convergence = convergenceSetup(preset);
  const third = Math.max(1, Math.round(convergence.shared.depth / 3)); // the paper's ≈ ⅓ depth
  const main = { ar: { depth: third, weight: 2 }, dit: { depth: third, weight: 0.5 } };
  switch (preset) {
    case "tiny":
      return { preset, convergence, main, teacher: preset, ablation: { scale: ABLATION_SCALE.tiny!, depths: [1, 2], weights: [2], cross: false, main: { depth: 1, weight: 2 }, seeds: [0] } };
    case "quick":
      return { preset, convergence, main, teacher: preset, ablation: null };
    case "paper-cpu":
      return { preset, convergence, main, teacher: preset, ablation: { scale: ABLATION_SCALE["paper-cpu"]!, depths: [3, 4, 6, 8], weights: [0.5, 1, 2, 4], cross: true, main: { depth: 4, weight: 2 }, seeds: [0, 1, 2] } };
  }
}

/** One run of the study: which part, kind, REPA setting (null = no REPA), seed. */
export interface RepaPoint {
  part: "curve" | "ablation";
  kind: "ar" | "dit";
  repa: RepaSetting | null;
  seed: number;
}

/** The label of a point, e.g. "ar l=1 w=2 seed=0", "dit base seed=1", "ablation ar l=3 w=2 seed=0". */
export function repaLabel(p: RepaPoint): string {
  return `${p.part === "ablation" ? "ablation " : ""}${p.kind} ${p.repa === null ? "base" : `l=${p.repa.depth} w=${p.repa.weight}`} seed=${p.seed}`;
}

function checkSetting(s: RepaSetting, blocks: number, where: string): void {
  if (!(Number.isInteger(s.depth) && s.depth >= 1 && s.depth <= blocks)) throw new Error(`${where}: depth ℓ=${s.depth}; expected an integer in [1, ${blocks}] (the model's blocks)`);
  if (!(s.weight > 0)) throw new Error(`${where}: weight λ=${s.weight}; expected λ > 0 (no REPA is the baseline run)`);
}

function checkSeeds(seeds: readonly number[], where: string): void {
  if (seeds.length === 0 || new Set(seeds).size !== seeds.length) throw new Error(`${where}: seeds=[${seeds}]; expected distinct seeds, at least one`);
}

/** Checks the knobs: settings within the models' blocks, λ > 0, distinct non-empty seeds. */
export function checkRepaSetup(s: RepaSetup): RepaSetup {
  const where = `repa setup (${s.preset})`;
  if (s.convergence.preset !== s.preset) throw new Error(`${where}: convergence setup of preset ${s.convergence.preset}; expected ${s.preset} (06's runs at the same preset are the baselines)`);
  checkSetting(s.main.ar, s.convergence.shared.depth, `${where}, curves (ar)`);
  checkSetting(s.main.dit, s.convergence.shared.depth, `${where}, curves (dit)`);
  checkSeeds(s.convergence.seeds, `${where}, curves`);
  const a = s.ablation;
  if (a) {
    const blocks = resolveArConfig({ preset: s.preset, overrides: a.scale }).depth;
    for (const depth of [...a.depths, a.main.depth]) for (const weight of [...a.weights, a.main.weight]) checkSetting({ depth, weight }, blocks, `${where}, ablation`);
    checkSeeds(a.seeds, `${where}, ablation`);
  }
  return s;
}

/** The ablation's REPA settings: the full cross, or the depths at the headline λ and the weights at the headline ℓ. */
function ablationSettings(a: RepaAblation): RepaSetting[] {
  const all = a.cross
    ? a.depths.flatMap((depth) => a.weights.map((weight) => ({ depth, weight })))
    : [...a.depths.map((depth) => ({ depth, weight: a.main.weight })), ...a.weights.map((weight) => ({ depth: a.main.depth, weight }))];
  const seen = new Set<string>();
  return all.filter((r) => !seen.has(`${r.depth}|${r.weight}`) && !!seen.add(`${r.depth}|${r.weight}`));
}

/** The study's points in training order: the curves by seed (a cut-short study still answers "does REPA help?"), then the ablation. */
export function repaPoints(s: RepaSetup): RepaPoint[] {
  checkRepaSetup(s);
  const points: RepaPoint[] = s.convergence.seeds.flatMap((seed) => [
    { part: "curve" as const, kind: "ar" as const, repa: null, seed },
    { part: "curve" as const, kind: "ar" as const, repa: s.main.ar, seed },
    { part: "curve" as const, kind: "dit" as const, repa: null, seed },
    { part: "curve" as const, kind: "dit" as const, repa: s.main.dit, seed },
  ]);
  const a = s.ablation;
  if (!a) return points;
  const seen = new Set<string>();
  const add = (p: RepaPoint) => {
    if (!seen.has(repaLabel(p))) points.push(p);
    seen.add(repaLabel(p));
  };
  for (const seed of a.seeds) {
    add({ part: "ablation", kind: "ar", repa: null, seed });
    add({ part: "ablation", kind: "ar", repa: a.main, seed });
  }
  for (const repa of ablationSettings(a)) add({ part: "ablation", kind: "ar", repa, seed: a.seeds[0] });
  return points;
}

/**
 * The in-run evaluation steps of a REPA run at equal training FLOPs to its baseline's: baseline point s (FLOPs s·F_base
 * per sample) → round(s · F_base / F_repa), the last = the REPA run's steps (⌊S · F_base / F_repa⌋, never more compute
 * than the baseline); each at least its predecessor + 1 and at most its successor − 1. So point k of both runs sits
 * at the same training FLOPs within half a step (the last within one step).
 */
export function equalFlopEvalSteps(baseEvalAt: readonly number[], baseSteps: number, repaSteps: number, ratio: number): number[] {
  if (!(ratio > 0 && ratio <= 1)) throw new Error(`equalFlopEvalSteps: ratio=${ratio}; expected F_base / F_repa in (0, 1] (REPA adds the projector)`);
  if (baseEvalAt.length > repaSteps) throw new Error(`equalFlopEvalSteps: ${baseEvalAt.length} points for ${repaSteps} steps; expected at most one point per step`);
  const out = baseEvalAt.map((s) => (s === baseSteps ? repaSteps : Math.min(repaSteps, Math.max(1, Math.round(s * ratio)))));
  for (let k = 1; k < out.length; k++) out[k] = Math.max(out[k], out[k - 1] + 1);
  for (let k = out.length - 1; k >= 0; k--) out[k] = Math.min(out[k], repaSteps - (out.length - 1 - k));
  return out;
}

/** A REPA run from its baseline's overrides: `repa` added, steps and evaluation steps of equal training FLOPs. */
function withRepa<C extends ArConfig | DiTConfig>(kind: "ar" | "dit", base: DeepPartial<C>, repa: { depth: number; weight: number; teacher: PresetName }, resolve: (o: DeepPartial<C>) => C): DeepPartial<C> {
  const withIt = { ...base, repa } as DeepPartial<C>;
  const b = resolve(base);
  const r = resolve(withIt);
  const steps = equalFlopSteps(kind, b, r);
  const out = { ...withIt, steps } as DeepPartial<C> & { evalAt?: number[] };
  if (b.evalAt?.length) out.evalAt = equalFlopEvalSteps(b.evalAt, b.steps, steps, generatorTrainFlopsPerSample(kind, b) / generatorTrainFlopsPerSample(kind, r));
  return out;
}

/** The curves' runs: 06's runs as the baselines, each followed by its REPA run. */
function curveRuns(s: RepaSetup): StudyRun[] {
  const preset = s.preset;
  const base = convergenceRuns(s.convergence);
  const teacher = s.teacher;
  const out: StudyRun[] = [];
  for (const seed of s.convergence.seeds) {
    for (const kind of ["ar", "dit"] as const) {
      const b = base.find((r) => r.kind === kind && r.overrides.seed === seed);
      if (!b) throw new Error(`repa setup (${preset}): notebook 06's setup has no ${kind} run at seed ${seed}`);
      const m = s.main[kind];
      const repa = { depth: m.depth, weight: m.weight, teacher };
      const on: RepaPoint = { part: "curve", kind, repa: m, seed };
      out.push({ label: repaLabel({ ...on, repa: null }), kind, overrides: b.overrides } as StudyRun);
      if (b.kind === "ar") out.push({ label: repaLabel(on), kind: "ar", overrides: withRepa<ArConfig>("ar", b.overrides, repa, (o) => resolveArConfig({ preset, overrides: o })) });
      else if (b.kind === "dit") out.push({ label: repaLabel(on), kind: "dit", overrides: withRepa<DiTConfig>("dit", b.overrides, repa, (o) => resolveDiTConfig({ preset, overrides: o })) });
    }
  }
  return out;
}

/** The run of an ablation point: the scale's overrides and the seed; with REPA, the setting, the teacher and the steps of equal FLOPs. */
function ablationRun(s: RepaSetup, p: RepaPoint): StudyRun {
  const base = { ...s.ablation!.scale, seed: p.seed };
  const label = repaLabel(p);
  if (p.repa === null) return { label, kind: "ar", overrides: base };
  return { label, kind: "ar", overrides: withRepa<ArConfig>("ar", base, { depth: p.repa.depth, weight: p.repa.weight, teacher: s.teacher }, (o) => resolveArConfig({ preset: s.preset, overrides: o })) };
}

/** Every run of a setup, in the order of `repaPoints`. */
export function repaRuns(s: RepaSetup): StudyRun[] {
  const points = repaPoints(s);
  const curves = curveRuns(s);
  const byLabel = new Map(curves.map((r) => [r.label, r]));
  return points.map((p) => (p.part === "curve" ? byLabel.get(repaLabel(p))! : ablationRun(s, p)));
}

export const repaStudy = defineStudy({
  name: "repa",
  description: "notebook 07: gFID vs training FLOPs with and without REPA (AR, DiT; 06's runs are the baselines), LlamaGen-REPA depth × λ where the preset has it",
  setup: repaSetup,
  runs: repaRuns,
});
