/**
 * The `convergence` study: the runs of notebook 06 (AR vs diffusion convergence, the paper's teaser figure, spec §9 E1): LlamaGen and DiT on
 * the tokenizer preset of the same name (the frozen iFSQ tokenizer at L = 17, d = 4 that notebooks 03 and 04 use),
 * at the same width, depth, batch and learning rate, with the same training FLOPs, each at ≥ 2 seeds, evaluated
 * in-run at log-spaced compute from ~1 % to 100 % of the budget.
 *
 *   budget: the AR run's steps (`budget`, a knob of notebook 06); the DiT gets the fewest steps with at least that
 *           compute, ⌈budget · FLOPs/step(AR) / FLOPs/step(DiT)⌉ (../equal-flops.ts; equal within 0.1 %)
 *   evaluations: logSpacedSteps(steps, points, 0.01) (convergence/schedule.ts), EMA weights, gFID on a fixed sample
 *                count without CFG, class-balanced, the same noise at every point, in evalSamples / sampleBatch
 *                batches (drawn on the run's data-parallel workers at once when it has them); every run keeps its
 *                first samples of each class at each point (sample-snapshots.ts). With CFG at `guidedScale`: once,
 *                at the end, on every run, after training (convergence/cfg-end.ts), not in-run.
 *
 * Why these values (wasm, 1 core per process, measured as process CPU time per step at D = 64, depth 3, batch 32):
 * AR 0.94 s/step (4.96 GFLOP), DiT 0.41 s/step (2.14 GFLOP), i.e. ≈ 5.2 GFLOP/s for both. One in-run evaluation
 * (200 samples, one core) takes AR ≈ 4 s, DiT ≈ 6 s (10 Euler steps); sampling an AR image costs about as much as
 * training on one and the DiT's 8 points × 200 samples × 10 Euler steps are ≈ 18 % of its training FLOPs at this
 * budget, so the evaluation share is set by the cadence and the budget, not by the cores (two workers halve the
 * evaluations as they halve the steps). At 320/744 steps it was 14–19 % of a run's wall time without CFG and
 * 23–29 % with a guided point at the last 4 points; at 400/930 steps, with the CFG check after training, it is
 * AR 12.0–12.1 % and DiT 13.2–13.6 % (a quick reproduce, one core per run beside the others; issue 16 asks ≤ 15 %).
 * A guided gFID costs twice an unguided one ([cond; null] batch): the check takes ≈ 5 s (AR) and 14 s (DiT) per run.
 * `paper-cpu`: the same models with 4.8× the quick budget (1920 / 4461 steps), 10 points of 1000 samples, 25 Euler steps and 3 seeds: ≈ 30 min
 * of training and 5–35 min of evaluations per run, ≈ 4.5 h in all (one run per Slurm task: ≈ 1 h each).
 * Smaller than the generators' own presets (D = 128, depth 4) so that the same minutes buy 2.3× more steps.
 * Schedule: warm-up, then a constant lr (each point is a snapshot of one long run, as the paper's curves; a cosine
 * decay tied to the budget would bend every curve flat at its end); EMA with warm-up (nn/ema.ts `emaDecayAt`:
 * min(d, (1+t)/(10+t)), so the first points do not evaluate the initial weights), its decay set per generator so that
 * its averaging window is the same share of the budget (d_AR = d_DiT^(S_DiT/S_AR)). At quick the warm-up term stays
 * below d for the whole run, i.e. the EMA averages over roughly the last tenth of the steps taken, for both.
 */
import type { DeepPartial, PresetName } from "../../train/config";
import { resolveArConfig, type ArConfig } from "../ar/config";
import { resolveDiTConfig, type DiTConfig } from "../dit/config";
import { generatorTrainFlopsPerSample } from "../equal-flops";
import { defineStudy, type StudyRun } from "../plan";
import { logSpacedSteps } from "./schedule";

/** The knobs of notebook 06 (its parameter cell), with each preset's values from `convergenceSetup`. */
export interface ConvergenceSetup {
  preset: PresetName;
  /** The compute budget: steps of the AR run (the DiT's are computed for the same training FLOPs). */
  budget: number;
  /** Evaluation points per run (log-spaced in compute from firstFraction to 1). */
  points: number;
  firstFraction: number;
  seeds: number[];
  /** Shape, batch and lr shared by both generators. */
  shared: { dim: number; depth: number; heads: number; batchSize: number; lr: number; schedule: "constant" | "cosine" };
  /** Warm-up steps and EMA decay per generator (the same share of each run; see the file comment). */
  warmup: { ar: number; dit: number };
  emaDecay: { ar: number; dit: number };
  evalSamples: number;
  /** CFG scale of the end-of-budget check (convergence/cfg-end.ts: every run, after training). */
  guidedScale: number;
  /** Samples drawn together: the in-run samples come in evalSamples / sampleBatch batches (one per worker at once). */
  sampleBatch: number;
  gridPerClass: number;
  /** Euler steps of the DiT's in-run samples. */
  ditEulerSteps: number;
}

const CONVERGENCE_SETUPS: Record<PresetName, Omit<ConvergenceSetup, "preset">> = {
  tiny: {
    budget: 20,
    points: 4,
    firstFraction: 0.05,
    seeds: [0, 1],
    shared: { dim: 32, depth: 2, heads: 2, batchSize: 16, lr: 3e-3, schedule: "constant" },
    warmup: { ar: 2, dit: 7 },
    emaDecay: { ar: 0.9, dit: 0.9685 },
    evalSamples: 130,
    guidedScale: 2,
    sampleBatch: 65,
    gridPerClass: 1,
    ditEulerSteps: 4,
  },
  quick: {
    budget: 400,
    points: 8,
    firstFraction: 0.01,
    seeds: [0, 1],
    shared: { dim: 64, depth: 3, heads: 2, batchSize: 32, lr: 2e-3, schedule: "constant" },
    warmup: { ar: 25, dit: 58 },
    emaDecay: { ar: 0.9815, dit: 0.992 },
    evalSamples: 200,
    guidedScale: 2,
    sampleBatch: 100,
    gridPerClass: 2,
    ditEulerSteps: 10,
  },
  "paper-cpu": {
    budget: 1920,
    points: 10,
    firstFraction: 0.01,
    seeds: [0, 1, 2],
    shared: { dim: 64, depth: 3, heads: 2, batchSize: 32, lr: 2e-3, schedule: "constant" },
    warmup: { ar: 20, dit: 46 },
    emaDecay: { ar: 0.9954, dit: 0.998 },
    evalSamples: 1000,
    guidedScale: 2,
    sampleBatch: 250,
    gridPerClass: 4,
    ditEulerSteps: 25,
  },
};

/** The knobs at a preset. */
export function convergenceSetup(preset: PresetName): ConvergenceSetup {
  const s = CONVERGENCE_SETUPS[preset];
  if (!s) throw new Error(`convergenceSetup: preset=${JSON.stringify(preset)}; expected one of ${Object.keys(CONVERGENCE_SETUPS).join(", ")}`);
  return { preset, ...s, seeds: [...s.seeds] };
}

/** The overrides of one generator's run before its step count (every key but `steps`). */
function runOverrides(s: ConvergenceSetup, kind: "ar" | "dit", seed: number, steps: number) {
  const common = {
    ...s.shared,
    seed,
    steps,
    warmupSteps: s.warmup[kind],
    emaDecay: s.emaDecay[kind],
    emaWarmup: true,
    evalEvery: 0,
    evalAt: logSpacedSteps(steps, s.points, s.firstFraction),
    ckptEvery: Math.ceil(steps / 4),
    evalSamples: s.evalSamples,
    sampleBatch: s.sampleBatch,
    evalCfgScale: 1,
    evalGridPerClass: s.gridPerClass,
  };
  return common;
}

/** Steps per generator: the budget for AR, the fewest DiT steps with at least the AR run's training FLOPs. */
export function convergenceSteps(s: ConvergenceSetup): { ar: number; dit: number } {
  if (!(Number.isInteger(s.budget) && s.budget >= s.points)) throw new Error(`convergence setup (${s.preset}): budget=${s.budget}; expected an integer number of AR steps ≥ points=${s.points}`);
  const ar = resolveArConfig({ preset: s.preset, overrides: arOverrides(s, s.seeds[0], s.budget) });
  const dit = resolveDiTConfig({ preset: s.preset, overrides: ditOverrides(s, s.seeds[0], s.budget) });
  if (ar.batchSize !== dit.batchSize) throw new Error(`convergence setup: batch ${ar.batchSize} (AR) vs ${dit.batchSize} (DiT); equal steps·batch are assumed`);
  const ratio = generatorTrainFlopsPerSample("ar", ar) / generatorTrainFlopsPerSample("dit", dit);
  return { ar: s.budget, dit: Math.ceil(s.budget * ratio - 1e-9) };
}

// the AR head has one block at every preset here (the FLOP counts above), and no residual dropout
function arOverrides(s: ConvergenceSetup, seed: number, steps: number): DeepPartial<ArConfig> {
  return { ...runOverrides(s, "ar", seed, steps), headDepth: 1, residDropout: 0 };
}

function ditOverrides(s: ConvergenceSetup, seed: number, steps: number): DeepPartial<DiTConfig> {
  return { ...runOverrides(s, "dit", seed, steps), evalSteps: s.ditEulerSteps };
}

/** The runs of a setup: for each generator and seed, its overrides of the generator's preset. */
export function convergenceRuns(s: ConvergenceSetup): StudyRun[] {
  if (s.seeds.length === 0 || new Set(s.seeds).size !== s.seeds.length) throw new Error(`convergence setup (${s.preset}): seeds=[${s.seeds}]; expected distinct seeds, at least one`);
  const steps = convergenceSteps(s);
  return [
    ...s.seeds.map((seed): StudyRun => ({ label: `ar seed=${seed}`, kind: "ar", overrides: arOverrides(s, seed, steps.ar) })),
    ...s.seeds.map((seed): StudyRun => ({ label: `dit seed=${seed}`, kind: "dit", overrides: ditOverrides(s, seed, steps.dit) })),
  ];
}

/**
 * One run of the preset's grid: the generator `kind` at `seed` (default: the first seed).
 * Notebooks 03 and 04 train the first seed's run as their model, so the three notebooks train it once:
 * `trainAr(env, { preset, overrides: convergenceRun("ar", preset).overrides })` lands in the study's run folder.
 */
export function convergenceRun<K extends "ar" | "dit">(kind: K, preset: PresetName, seed?: number): Extract<StudyRun, { kind: K }> {
  const s = convergenceSetup(preset);
  const seedOf = seed ?? s.seeds[0];
  const run = convergenceRuns(s).find((r): r is Extract<StudyRun, { kind: K }> => r.kind === kind && r.overrides.seed === seedOf);
  if (!run) throw new Error(`convergenceRun: the ${preset} grid has no ${kind} run at seed ${seedOf}; its seeds are ${s.seeds.join(", ")}`);
  return run;
}

export const convergenceStudy = defineStudy({
  name: "convergence",
  description: "notebook 06: AR (LlamaGen) vs DiT at equal training FLOPs, gFID at log-spaced compute, by seed",
  setup: convergenceSetup,
  runs: convergenceRuns,
});
