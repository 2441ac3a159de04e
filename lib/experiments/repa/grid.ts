/**
 * Notebook 07's grid (the `repa` study) (paper E8, spec §7): LlamaGen-REPA over alignment depth ℓ × weight λ plus runs without REPA,
 * and DiT with and without REPA (λ = 0.5, ℓ ≈ depth/3). Every REPA run has its baseline's training FLOPs: the
 * projector's cost is paid by fewer steps, computed from the resolved configs (../equal-flops.ts `equalFlopSteps`).
 * The knobs (`RepaSetup`: depths ℓ, weights λ, the headline setting per generator, seeds, teacher) are notebook 07's
 * parameter cell; `repaSetup(preset)` gives the preset's values, `repaStudy.runs(setup)` the runs.
 *
 *   tiny       2-block models, ℓ ∈ {1, 2} at λ = 2, DiT ±REPA; one seed (CI smoke run, seconds).
 *   quick      8-block, D = 64 models on 10 000 training images, 100 AR / 200 DiT steps (not equal FLOPs across the
 *              two generators, ≈ 8.7e11 vs 1.13e12: REPA is judged within a generator; EMA with warm-up, nn/ema.ts
 *              `emaDecayAt`, so the first evaluation does not average in the initial weights): ℓ ∈ {2, 3, 4, 5} (≈ ¼, ⅓, ½, ⅔ of 8) at λ = 2, then λ ∈ {0.5, 1, 4} at ℓ = 3 (the paper's
 *              ⅓ depth); two seeds of the no-REPA baseline and of ℓ = 3, λ = 2; DiT ±REPA (ℓ = 3, λ = 0.5), two seeds
 *              each. 14 runs; sized for ≤ 30 min on an idle 2-core machine with the tokenizer and feature net reused.
 *              The DiT samples with 10 Euler steps, as notebook 06's in-run evaluations (notebook 04 at quick: within
 *              5 % of the gFID at 50 steps; 25 steps made evaluation a third of each DiT run).
 *   paper-cpu  12-block, D = 128 models: the full grid ℓ ∈ {3, 4, 6, 8} × λ ∈ {0.5, 1, 2, 4}, three seeds of the
 *              baseline and of ℓ = 4, λ = 2; DiT ±REPA (ℓ = 4, λ = 0.5), three seeds each (hours: shard it or use Slurm).
 */
import type { DeepPartial, PresetName } from "../../train/config";
import { resolveArConfig, type ArConfig } from "../ar/config";
import { resolveDiTConfig, type DiTConfig } from "../dit/config";
import { equalFlopSteps } from "../equal-flops";
import { defineStudy, type StudyRun } from "../plan";

/** The model scale of the grid at each preset (overrides of the kind's preset of the same name). */
export const REPA_SCALE: Record<PresetName, { ar: DeepPartial<ArConfig>; dit: DeepPartial<DiTConfig> }> = {
  tiny: {
    ar: { steps: 10, trainLimit: 512, evalSamples: 130, evalEvery: 0 },
    dit: { steps: 20, trainLimit: 512, evalSamples: 130, evalEvery: 0, evalSteps: 5 },
  },
  quick: {
    ar: { dim: 64, depth: 8, heads: 2, steps: 100, warmupSteps: 10, emaDecay: 0.95, emaWarmup: true, trainLimit: 10000, evalSamples: 250, evalEvery: 50, ckptEvery: 50 },
    dit: { dim: 64, depth: 8, heads: 2, steps: 200, warmupSteps: 20, emaDecay: 0.97, emaWarmup: true, trainLimit: 10000, evalSamples: 250, evalEvery: 100, ckptEvery: 100, evalSteps: 10 },
  },
  "paper-cpu": {
    ar: { dim: 128, depth: 12, heads: 4, steps: 1500, emaWarmup: true, evalEvery: 250, ckptEvery: 250 },
    dit: { dim: 128, depth: 12, heads: 4, steps: 3000, emaWarmup: true, evalEvery: 500, ckptEvery: 500 },
  },
};

/** Where REPA aligns and how strongly: the hidden state after block `depth` (ℓ), loss weight `weight` (λ). */
export interface RepaSetting {
  depth: number;
  weight: number;
}

/** The knobs of notebook 07 (its parameter cell). */
export interface RepaSetup {
  preset: PresetName;
  /** Alignment depths ℓ of LlamaGen-REPA's grid. */
  depths: number[];
  /** Loss weights λ of LlamaGen-REPA's grid. */
  weights: number[];
  /** true: every depth × weight; false: the depths at the headline λ and the weights at the headline ℓ. */
  cross: boolean;
  /** The headline setting per generator (the paper's: ℓ ≈ depth/3, λ = 2 for AR and 0.5 for DiT), at every seed. */
  main: { ar: RepaSetting; dit: RepaSetting };
  /** Training seeds of the no-REPA baselines and the headline settings (the grid's other points use the first). */
  seeds: number[];
  /** Preset of the self-supervised teacher the runs align to. */
  teacher: PresetName;
}

/** The knobs at each preset (see the file comment). */
export function repaSetup(preset: PresetName): RepaSetup {
  switch (preset) {
    case "tiny":
      return { preset, depths: [1, 2], weights: [2], cross: false, main: { ar: { depth: 1, weight: 2 }, dit: { depth: 1, weight: 0.5 } }, seeds: [0], teacher: preset };
    case "quick":
      return { preset, depths: [2, 3, 4, 5], weights: [0.5, 1, 2, 4], cross: false, main: { ar: { depth: 3, weight: 2 }, dit: { depth: 3, weight: 0.5 } }, seeds: [0, 1], teacher: preset };
    case "paper-cpu":
      return { preset, depths: [3, 4, 6, 8], weights: [0.5, 1, 2, 4], cross: true, main: { ar: { depth: 4, weight: 2 }, dit: { depth: 4, weight: 0.5 } }, seeds: [0, 1, 2], teacher: preset };
  }
}

/** One run of the grid: kind, REPA setting (null = no REPA), seed. */
export interface RepaPoint {
  kind: "ar" | "dit";
  repa: RepaSetting | null;
  seed: number;
}

/** The label of a grid point, e.g. "ar l=3 w=2 seed=0" or "dit base seed=1". */
export function repaLabel(p: RepaPoint): string {
  return `${p.kind} ${p.repa === null ? "base" : `l=${p.repa.depth} w=${p.repa.weight}`} seed=${p.seed}`;
}

/** Checks the knobs: integer depths ≥ 1, positive weights, distinct non-empty seeds, the headline setting in the grid. */
export function checkRepaSetup(s: RepaSetup): RepaSetup {
  const where = `repa setup (${s.preset})`;
  const arDepth = resolveArConfig({ preset: s.preset, overrides: REPA_SCALE[s.preset].ar }).depth;
  for (const d of [...s.depths, s.main.ar.depth, s.main.dit.depth]) {
    if (!(Number.isInteger(d) && d >= 1 && d <= arDepth)) throw new Error(`${where}: depth ℓ=${d}; expected an integer in [1, ${arDepth}] (the models' blocks)`);
  }
  for (const w of [...s.weights, s.main.ar.weight, s.main.dit.weight]) if (!(w > 0)) throw new Error(`${where}: weight λ=${w}; expected λ > 0 (no REPA is the baseline run)`);
  if (s.seeds.length === 0 || new Set(s.seeds).size !== s.seeds.length) throw new Error(`${where}: seeds=[${s.seeds}]; expected distinct seeds, at least one`);
  return s;
}

/** The grid's points in training order: the headline comparison by seed first (a cut-short grid still answers "does REPA help?"), then the rest of the AR grid at the first seed. */
export function repaPoints(s: RepaSetup): RepaPoint[] {
  checkRepaSetup(s);
  const points: RepaPoint[] = s.seeds.flatMap((seed) => [
    { kind: "ar" as const, repa: null, seed },
    { kind: "ar" as const, repa: s.main.ar, seed },
    { kind: "dit" as const, repa: null, seed },
    { kind: "dit" as const, repa: s.main.dit, seed },
  ]);
  const settings: RepaSetting[] = s.cross
    ? s.depths.flatMap((depth) => s.weights.map((weight) => ({ depth, weight })))
    : [...s.depths.map((depth) => ({ depth, weight: s.main.ar.weight })), ...s.weights.map((weight) => ({ depth: s.main.ar.depth, weight }))];
  const seen = new Set(points.map(repaLabel));
  for (const repa of settings) {
    const p: RepaPoint = { kind: "ar", repa, seed: s.seeds[0] };
    if (!seen.has(repaLabel(p))) points.push(p);
    seen.add(repaLabel(p));
  }
  return points;
}

/**
 * The run of a grid point: the scale's overrides and the seed; with REPA, the setting, the teacher and the steps
 * that give the baseline's training FLOPs (`equalFlopSteps` of the resolved configs).
 */
export function repaRun(s: RepaSetup, p: RepaPoint): StudyRun {
  const label = repaLabel(p);
  const repa = p.repa === null ? null : { depth: p.repa.depth, weight: p.repa.weight, teacher: s.teacher };
  const preset = s.preset;
  if (p.kind === "ar") {
    const base = { ...REPA_SCALE[preset].ar, seed: p.seed };
    if (repa === null) return { label, kind: "ar", overrides: base };
    const steps = equalFlopSteps("ar", resolveArConfig({ preset, overrides: base }), resolveArConfig({ preset, overrides: { ...base, repa } }));
    return { label, kind: "ar", overrides: { ...base, repa, steps } };
  }
  const base = { ...REPA_SCALE[preset].dit, seed: p.seed };
  if (repa === null) return { label, kind: "dit", overrides: base };
  const steps = equalFlopSteps("dit", resolveDiTConfig({ preset, overrides: base }), resolveDiTConfig({ preset, overrides: { ...base, repa } }));
  return { label, kind: "dit", overrides: { ...base, repa, steps } };
}

export const repaStudy = defineStudy({
  name: "repa",
  description: "notebook 07: LlamaGen-REPA depth × weight and DiT ±REPA at equal training FLOPs",
  setup: repaSetup,
  runs: (s: RepaSetup) => repaPoints(s).map((p) => repaRun(s, p)),
});
