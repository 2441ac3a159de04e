/**
 * Notebook 07's grid (paper E8, spec §7): LlamaGen-REPA over alignment depth ℓ × weight λ plus runs without REPA,
 * and DiT with and without REPA (λ = 0.5, ℓ ≈ depth/3). Every REPA run has its baseline's training FLOPs: the
 * projector's cost is paid by fewer steps (`repaSteps`, checked against experiments/repa/equal-flops.ts in the test).
 *
 *   tiny       2-block models, ℓ ∈ {1, 2} at λ = 2, DiT ±REPA; one seed (CI smoke run, seconds).
 *   quick      8-block, D = 64 models on 10 000 training images, 100 AR / 200 DiT steps (equal FLOPs for the two
 *              generators): ℓ ∈ {2, 3, 4, 5} (≈ ¼, ⅓, ½, ⅔ of 8) at λ = 2, then λ ∈ {0.5, 1, 4} at ℓ = 3 (the paper's
 *              ⅓ depth); two seeds of the no-REPA baseline and of ℓ = 3, λ = 2; DiT ±REPA (ℓ = 3, λ = 0.5), two seeds
 *              each. 16 runs; sized for ≤ 30 min on an idle 2-core machine with the tokenizer and feature net reused.
 *              The DiT samples with 10 Euler steps, as notebook 06's in-run evaluations (notebook 04 at quick: within
 *              5 % of the gFID at 50 steps; 25 steps made evaluation a third of each DiT run).
 *   paper-cpu  12-block, D = 128 models: the full grid ℓ ∈ {3, 4, 6, 8} × λ ∈ {0.5, 1, 2, 4}, three seeds of the
 *              baseline and of ℓ = 4, λ = 2; DiT ±REPA (ℓ = 4, λ = 0.5), three seeds each (hours: shard it or use Slurm).
 */
import type { PresetName } from "../../train/config";
import { defineSweep, type SweepRun } from "./sweep";

/** The model scale of the grid at each preset (overrides of the kind's preset of the same name). */
export const REPA_SCALE: Record<PresetName, { ar: Record<string, unknown>; dit: Record<string, unknown> }> = {
  tiny: {
    ar: { steps: 10, trainLimit: 512, evalSamples: 130, evalEvery: 0 },
    dit: { steps: 20, trainLimit: 512, evalSamples: 130, evalEvery: 0, evalSteps: 5 },
  },
  quick: {
    ar: { dim: 64, depth: 8, heads: 2, steps: 100, warmupSteps: 10, emaDecay: 0.95, trainLimit: 10000, evalSamples: 250, evalEvery: 50, ckptEvery: 50 },
    dit: { dim: 64, depth: 8, heads: 2, steps: 200, warmupSteps: 20, emaDecay: 0.97, trainLimit: 10000, evalSamples: 250, evalEvery: 100, ckptEvery: 100, evalSteps: 10 },
  },
  "paper-cpu": {
    ar: { dim: 128, depth: 12, heads: 4, steps: 1500, evalEvery: 250, ckptEvery: 250 },
    dit: { dim: 128, depth: 12, heads: 4, steps: 3000, evalEvery: 500, ckptEvery: 500 },
  },
};

/** Steps of a REPA run with the baseline's training FLOPs (test: = equalFlopSteps of the resolved configs). */
export const REPA_STEPS: Record<PresetName, { ar: number; dit: number }> = {
  tiny: { ar: 9, dit: 16 },
  quick: { ar: 96, dit: 188 },
  "paper-cpu": { ar: 1462, dit: 2872 },
};

/** The headline settings at each preset (the paper's: ℓ ≈ depth/3, λ = 2 for AR and 0.5 for DiT). */
export const REPA_MAIN: Record<PresetName, { ar: { layer: number; weight: number }; dit: { layer: number; weight: number } }> = {
  tiny: { ar: { layer: 1, weight: 2 }, dit: { layer: 1, weight: 0.5 } },
  quick: { ar: { layer: 3, weight: 2 }, dit: { layer: 3, weight: 0.5 } },
  "paper-cpu": { ar: { layer: 4, weight: 2 }, dit: { layer: 4, weight: 0.5 } },
};

/** One run of the grid: kind, alignment depth ℓ and weight λ (null = no REPA), seed. */
export interface RepaPoint {
  kind: "ar" | "dit";
  layer: number | null;
  weight: number | null;
  seed: number;
}

/** The label of a grid point, e.g. "ar l=3 w=2 seed=0" or "dit base seed=1". */
export function repaLabel(p: RepaPoint): string {
  return `${p.kind} ${p.layer === null ? "base" : `l=${p.layer} w=${p.weight}`} seed=${p.seed}`;
}

/** The grid points at each preset (see the file comment). */
export const REPA_POINTS: Record<PresetName, readonly RepaPoint[]> = {
  tiny: [
    { kind: "ar", layer: null, weight: null, seed: 0 },
    { kind: "ar", layer: 1, weight: 2, seed: 0 },
    { kind: "ar", layer: 2, weight: 2, seed: 0 },
    { kind: "dit", layer: null, weight: null, seed: 0 },
    { kind: "dit", layer: 1, weight: 0.5, seed: 0 },
  ],
  // the headline comparison first (AR and DiT, without and with REPA, seed 0 then seed 1), then the rest of the
  // AR grid: a sweep cut short still answers "does REPA help, against the seed spread?"
  quick: [
    ...[0, 1].flatMap((seed) => [
      { kind: "ar" as const, layer: null, weight: null, seed },
      { kind: "ar" as const, layer: 3, weight: 2, seed },
      { kind: "dit" as const, layer: null, weight: null, seed },
      { kind: "dit" as const, layer: 3, weight: 0.5, seed },
    ]),
    ...[2, 4, 5].map((layer) => ({ kind: "ar" as const, layer, weight: 2, seed: 0 })),
    ...[0.5, 1, 4].map((weight) => ({ kind: "ar" as const, layer: 3, weight, seed: 0 })),
  ],
  "paper-cpu": [
    ...[0, 1, 2].map((seed) => ({ kind: "ar" as const, layer: null, weight: null, seed })),
    ...[3, 4, 6, 8].flatMap((layer) => [0.5, 1, 2, 4].map((weight) => ({ kind: "ar" as const, layer, weight, seed: 0 }))),
    ...[1, 2].map((seed) => ({ kind: "ar" as const, layer: 4, weight: 2, seed })),
    ...[0, 1, 2].flatMap((seed) => [
      { kind: "dit" as const, layer: null, weight: null, seed },
      { kind: "dit" as const, layer: 4, weight: 0.5, seed },
    ]),
  ],
};

/** The overrides of a grid point at a preset (teacher of the same preset). */
export function repaOverrides(preset: PresetName, p: RepaPoint): Record<string, unknown> {
  const base = { ...REPA_SCALE[preset][p.kind], seed: p.seed };
  if (p.layer === null) return base;
  return { ...base, steps: REPA_STEPS[preset][p.kind], repa: { depth: p.layer, weight: p.weight, teacher: preset } };
}

function runs(preset: PresetName): SweepRun[] {
  return REPA_POINTS[preset].map((p) => ({ label: repaLabel(p), kind: p.kind, overrides: repaOverrides(preset, p) }));
}

export const repaSweep = defineSweep({
  name: "repa",
  description: "notebook 07: LlamaGen-REPA depth × weight and DiT ±REPA at equal training FLOPs",
  presets: { tiny: runs("tiny"), quick: runs("quick"), "paper-cpu": runs("paper-cpu") },
});
