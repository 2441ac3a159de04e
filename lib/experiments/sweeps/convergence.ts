/**
 * The runs of notebook 06 (AR vs diffusion convergence, the paper's teaser figure, spec §9 E1): LlamaGen and DiT on
 * the tokenizer preset of the same name (the frozen iFSQ tokenizer at L = 17, d = 4 that notebooks 03 and 04 use),
 * at the same width, depth, batch and learning rate, with the same training FLOPs, each at ≥ 2 seeds, evaluated
 * in-run at log-spaced compute from ~1 % to 100 % of the budget.
 *
 *   budget: AR steps · FLOPs/step(AR) ≈ DiT steps · FLOPs/step(DiT)   (nn/flops.ts convention; equal within 0.1 %)
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
import type { PresetName } from "../../train/config";
import { logSpacedSteps } from "../convergence/schedule";
import { defineSweep, type SweepRun } from "./sweep";

/** What a preset's grid is made of. */
export interface ConvergencePlan {
  /** Shape, batch and lr shared by both generators. */
  shared: Record<string, unknown>;
  steps: { ar: number; dit: number };
  warmup: { ar: number; dit: number };
  emaDecay: { ar: number; dit: number };
  /** Evaluation points per run (log-spaced in compute from firstFraction to 1). */
  points: number;
  firstFraction: number;
  seeds: number[];
  evalSamples: number;
  /** CFG scale of the end-of-budget check (convergence/cfg-end.ts: every run, after training). */
  guidedScale: number;
  /** Samples drawn together: the in-run samples come in evalSamples / sampleBatch batches (one per worker at once). */
  sampleBatch: number;
  gridPerClass: number;
  /** Euler steps of the DiT's in-run samples. */
  ditEulerSteps: number;
}

export const CONVERGENCE_PLANS: Record<PresetName, ConvergencePlan> = {
  tiny: {
    shared: { dim: 32, depth: 2, heads: 2, batchSize: 16, lr: 3e-3, schedule: "constant" },
    steps: { ar: 20, dit: 66 },
    warmup: { ar: 2, dit: 7 },
    emaDecay: { ar: 0.9, dit: 0.9685 },
    points: 4,
    firstFraction: 0.05,
    seeds: [0, 1],
    evalSamples: 130,
    guidedScale: 2,
    sampleBatch: 65,
    gridPerClass: 1,
    ditEulerSteps: 4,
  },
  quick: {
    shared: { dim: 64, depth: 3, heads: 2, batchSize: 32, lr: 2e-3, schedule: "constant" },
    steps: { ar: 400, dit: 930 },
    warmup: { ar: 25, dit: 58 },
    emaDecay: { ar: 0.9815, dit: 0.992 },
    points: 8,
    firstFraction: 0.01,
    seeds: [0, 1],
    evalSamples: 200,
    guidedScale: 2,
    sampleBatch: 100,
    gridPerClass: 2,
    ditEulerSteps: 10,
  },
  "paper-cpu": {
    shared: { dim: 64, depth: 3, heads: 2, batchSize: 32, lr: 2e-3, schedule: "constant" },
    steps: { ar: 1920, dit: 4461 },
    warmup: { ar: 20, dit: 46 },
    emaDecay: { ar: 0.9954, dit: 0.998 },
    points: 10,
    firstFraction: 0.01,
    seeds: [0, 1, 2],
    evalSamples: 1000,
    guidedScale: 2,
    sampleBatch: 250,
    gridPerClass: 4,
    ditEulerSteps: 25,
  },
};

/** The runs of one preset: for each generator and seed, its overrides of the generator's preset. */
export function convergenceRuns(plan: ConvergencePlan): SweepRun[] {
  const runs: SweepRun[] = [];
  for (const kind of ["ar", "dit"] as const) {
    const steps = plan.steps[kind];
    const evalAt = logSpacedSteps(steps, plan.points, plan.firstFraction);
    for (const seed of plan.seeds) {
      runs.push({
        label: `${kind} seed=${seed}`,
        kind,
        overrides: {
          ...plan.shared,
          seed,
          steps,
          warmupSteps: plan.warmup[kind],
          emaDecay: plan.emaDecay[kind],
          emaWarmup: true,
          evalEvery: 0,
          evalAt,
          ckptEvery: Math.ceil(steps / 4),
          evalSamples: plan.evalSamples,
          sampleBatch: plan.sampleBatch,
          evalCfgScale: 1,
          evalGridPerClass: plan.gridPerClass,
          // the AR head has one block at every preset here (the FLOP counts above), and no residual dropout
          ...(kind === "dit" ? { evalSteps: plan.ditEulerSteps } : { headDepth: 1, residDropout: 0 }),
        },
      });
    }
  }
  return runs;
}

/**
 * One run of the sweep: the generator `kind` at `seed` (default: the first seed).
 * Notebooks 03 and 04 train the first seed's run as their model, so the three notebooks train it once:
 * `trainAr(env, { preset, overrides: convergenceRun("ar", preset).overrides })` lands in the sweep's run folder.
 */
export function convergenceRun(kind: "ar" | "dit", preset: PresetName, seed?: number): SweepRun {
  const plan = CONVERGENCE_PLANS[preset];
  if (!plan) throw new Error(`convergenceRun: preset=${JSON.stringify(preset)}; expected one of ${Object.keys(CONVERGENCE_PLANS).join(", ")}`);
  const s = seed ?? plan.seeds[0];
  const run = convergenceRuns(plan).find((r) => r.kind === kind && r.overrides.seed === s);
  if (!run) throw new Error(`convergenceRun: the ${preset} grid has no ${kind} run at seed ${s}; its seeds are ${plan.seeds.join(", ")}`);
  return run;
}

export const convergenceSweep = defineSweep({
  name: "convergence",
  description: "notebook 06: AR (LlamaGen) vs DiT at equal training FLOPs, gFID at log-spaced compute, by seed",
  presets: {
    tiny: convergenceRuns(CONVERGENCE_PLANS.tiny),
    quick: convergenceRuns(CONVERGENCE_PLANS.quick),
    "paper-cpu": convergenceRuns(CONVERGENCE_PLANS["paper-cpu"]),
  },
});
