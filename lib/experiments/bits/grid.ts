/**
 * The bits-per-dimension grid (paper-spec §9 E3, §10 claim 4) as data: tokenizers at levels L per channel (d = 4,
 * log₂ L bits per dimension) for the iFSQ bound at every L and the tanh bound at some, several seeds each, and one AR
 * model and one DiT on the seed-0 iFSQ tokenizer of every L: the `bits` study. Its knobs (`BitsSetup`: levels, tanh
 * levels, seeds, and the evaluation's sizes) are notebook 05's parameter cell, with `BITS_GRID[preset]` as defaults;
 * `npm run sweep -- bits` trains the preset's runs.
 *
 *   const setup = bitsSetup({ preset: "quick", levels: [3, 5, 9, 17, 65] });   // the knobs; grid = BITS_GRID.quick with these levels
 *   bitsStudy.runs(setup)                         // StudyRun[]: tokenizers, then AR, then DiT, in L order
 *
 * Equal budgets across L. Every tokenizer has the same architecture, steps and batch (its FLOPs do not depend on L:
 * d = 4 at every L). The DiT's FLOPs do not depend on L either (4 latent channels), so every DiT gets the same steps.
 * The AR model's do: its output projections cost T·D·Σ_g V_g per sequence (V_g = a sub-token's vocabulary), so
 * each AR run gets steps_L = round(steps_ref · F_ref / F_L), F = training FLOPs per step (`llamaGenFlops`), ref = the
 * preset's largest L (`arReferenceLevel`, fixed so that adding an L in the notebook leaves the other AR runs as they
 * are); all AR runs then have the same training FLOPs within half a step.
 *
 * AR token layout: two sub-tokens per position of two channels each (`channelsPerGroup: 2`, the official f2×2
 * layout), so a sub-token's vocabulary is L² (9 … 1 089) and grows with the bits as in the paper's argument for the
 * knee ("more bits means the AR vocab explodes"); one sub-token per channel (vocabulary L) removed that growth.
 * Decided by measurement (issue 27; 2-core Intel Xeon model 167, native engine, beside other work): the quick AR
 * (D = 64, 2 blocks, batch 32, trainLimit 10 000, equal training FLOPs 3.81–3.84e11 for both layouts at every L, on
 * the seed-0 quick iFSQ tokenizer) with 1 vs 2 channels per sub-token; gFID of 300 samples without CFG (feature network
 * "full"), noise = the larger of the seed range and the half-sample gap; NLL = the training loss Σ_g CE_g (nats per
 * position, the same joint likelihood in both layouts) over the run's last full 10-step logging window.
 *
 *   L   channels/sub-token  vocab  steps  head share  gFID per seed (mean)               seed range  max half gap  NLL mean (range)
 *   3   1                   3      92     64 %        422.6, 433.9 (428.3)                11.3        29.8        2.274 (0.042)
 *   3   2                   9      135    47 %        368.3, 390.6 (379.4)                22.4        35.5        2.105 (0.008)
 *   17  1                   17     91     64 %        409.6, 440.4, 463.1, 434.5 (436.9)  53.5        17.5        7.497 (0.240)
 *   17  2                   289    117    54 %        405.1, 510.2, 545.9, 439.7 (475.2)  140.8       50.3        7.830 (0.260)
 *   33  1                   33     90     65 %        417.3, 514.5 (465.9)                97.2        61.2        10.155 (0.017)
 *   33  2                   1 089  84     67 %        659.5, 651.0 (655.2)                8.5         40.1        11.779 (0.074)
 *
 * Rule (the issue's, decided at L = 17, the paper's optimum): adopt 2 channels per sub-token unless its mean gFID
 * there is worse than one channel's by more than the one-channel layout's noise (53.5). It is worse by 38.3: within
 * the noise, so it is adopted. The layout matters, and more with L: at L = 3 the pairs fit better (gFID −49, beyond
 * both noises; NLL −0.17 nats) on 47 % more steps; at L = 17 the 289-way softmax fits worse (NLL +0.33 nats, beyond
 * both seed ranges); at L = 33 the 1 089-way one far worse (gFID +189, twice the noise; NLL +1.62 nats). That is the
 * vocabulary growth the paper's knee argument rests on, which one sub-token per channel hid; at this budget it is
 * large, so the AR curve's drop from L = 17 to 33 is mostly the layout's (a budget effect as much as a bits one).
 * Wall time: the L² softmax is slower than its FLOPs (equal-FLOPs runs took ≈ 1.4× as long at L = 17, ≈ 2× at
 * L = 33, under contention), ≈ +2–3 min on the quick grid's 10 AR runs. The grid's budget is set at L = 33 (90 steps),
 * so its AR runs have 7 % more FLOPs with pairs (4.08e11 per run; 144 … 90 steps from L = 3 to 33).
 */
import type { DeepPartial, PresetName } from "../../train/config";
import { resolveConfig } from "../../train/config";
import { llamaGenFlops } from "../../models/llamagen";
import { FASHION_MNIST_CLASSES } from "../../data/fashion-mnist";
import { checkLevel, type Bound } from "../../quant/bounds";
import { arConfig, llamaGenArch, type ArConfig } from "../ar/config";
import type { DiTConfig } from "../dit/config";
import { tokenizerConfig, type TokenizerConfig } from "../tokenizer/config";
import type { FeatureNetName } from "../featurenet/config";
import { defineStudy, type StudyRun } from "../plan";

export type BitsBound = Bound["kind"];

/** The grid of one preset. */
export interface BitsGridSpec {
  /** Levels per channel L (odd: the iFSQ bound needs odd levels), ascending. */
  levels: number[];
  /** Levels that also get a tanh (original FSQ) tokenizer. */
  tanhLevels: number[];
  /** Latent channels d (levels = [L, …, L], d times). */
  channels: number;
  /** Tokenizer seeds (≥ 2 for a measured seed spread). */
  seeds: number[];
  /** The tokenizer seed both generators train on. */
  generatorSeed: number;
  /** Training seeds of the generators (each trains on the same tokenizer; ≥ 2 for a training-seed spread of gFID). */
  generatorSeeds: number[];
  /**
   * Levels whose iFSQ tokenizer (seed `generatorSeed`) is also trained at half the steps: the budget check, how much
   * the reconstruction still moves over the last doubling of steps against the seed spread.
   */
  halfBudgetLevels: number[];
  /** iFSQ slope α. */
  alpha: number;
  /** Tokenizer overrides shared by every L, bound and seed (architecture and budget), over the tokenizer preset. */
  tokenizer: DeepPartial<TokenizerConfig>;
  /** The L whose AR run gets `ar.steps` (the others get its training FLOPs): the preset's largest, kept when L are added. */
  arReferenceLevel: number;
  /** AR overrides over the AR preset; `steps` is the budget of the reference L (the others get equal FLOPs). */
  ar: DeepPartial<ArConfig> & { steps: number };
  /** DiT overrides over the DiT preset (same steps at every L = same FLOPs). */
  dit: DeepPartial<DiTConfig> & { steps: number };
}

/** bits per dimension of L levels: log₂ L. */
export function bitsOf(levels: number): number {
  return Math.log2(levels);
}

/** The tokenizer overrides of one grid point (the same object a generator's `tokenizer` key gets). */
export function bitsTokenizerOverrides(spec: BitsGridSpec, L: number, bound: BitsBound, seed: number): DeepPartial<TokenizerConfig> {
  return { ...spec.tokenizer, levels: new Array<number>(spec.channels).fill(L), bound, alpha: spec.alpha, seed };
}

/** Grid side of the tokenizer's latents: 32 / 2^(len(channels) − 1). */
function latentGrid(tokenizerChannels: number[]): number {
  return 32 / 2 ** (tokenizerChannels.length - 1);
}

/**
 * Sub-token vocabularies of factorized tokens: the latent channels in consecutive groups of `channelsPerGroup`, each
 * sub-token indexing the product of its channels' levels (d = 4, L per channel: [L, L, L, L] at 1, [L², L²] at 2).
 */
export function arGroupSizes(levels: number[], channelsPerGroup: number): number[] {
  if (!Number.isInteger(channelsPerGroup) || channelsPerGroup < 1 || levels.length % channelsPerGroup !== 0) {
    throw new Error(`bits grid: channelsPerGroup=${channelsPerGroup}; expected a positive divisor of the latent dim d=${levels.length}`);
  }
  const sizes: number[] = [];
  for (let g = 0; g < levels.length; g += channelsPerGroup) sizes.push(levels.slice(g, g + channelsPerGroup).reduce((a, b) => a * b, 1));
  return sizes;
}

/** Training FLOPs per step of the AR run of level L at a preset (factorized tokens, the grid's channelsPerGroup). */
export function arFlopsPerStep(spec: BitsGridSpec, preset: PresetName, L: number): number {
  const cfg = resolveConfig(arConfig, { preset, overrides: { ...spec.ar, tokenizer: bitsTokenizerOverrides(spec, L, "ifsq", spec.generatorSeed) } });
  if (cfg.tokens !== "factorized") {
    throw new Error(`bits grid: the AR runs must use factorized tokens (got tokens=${cfg.tokens}); a single index of L^d values does not fit at L = 33`);
  }
  const arch = llamaGenArch(cfg, { groupSizes: arGroupSizes(cfg.tokenizer.levels, cfg.channelsPerGroup) }, latentGrid(cfg.tokenizer.channels), FASHION_MNIST_CLASSES.length);
  return llamaGenFlops(arch).trainPerSample * cfg.batchSize;
}

/** AR steps per L for equal training FLOPs: round(steps_ref · F(L_ref) / F(L)). */
export function arStepsByLevel(spec: BitsGridSpec, preset: PresetName): Map<number, number> {
  const ref = spec.arReferenceLevel;
  const fRef = arFlopsPerStep(spec, preset, ref);
  return new Map(spec.levels.map((L) => [L, Math.max(1, Math.round((spec.ar.steps * fRef) / arFlopsPerStep(spec, preset, L)))]));
}

/** Checks a grid: odd ascending levels ≥ 3, tanh levels among them, seeds distinct and including the generator seed. */
export function checkBitsGrid(spec: BitsGridSpec, preset: string): BitsGridSpec {
  const where = `bits grid (${preset})`;
  if (spec.levels.length === 0) throw new Error(`${where}: levels=[]; expected at least one level`);
  spec.levels.forEach((L, i) => {
    checkLevel(L, "ifsq", `${where}: levels[${i}]`);
    if (L < 3) throw new Error(`${where}: levels[${i}]=${L}; expected at least 3 levels`);
    if (i > 0 && L <= spec.levels[i - 1]) throw new Error(`${where}: levels=[${spec.levels}] must be strictly ascending`);
  });
  checkLevel(spec.arReferenceLevel, "ifsq", `${where}: arReferenceLevel`);
  for (const L of spec.tanhLevels) if (!spec.levels.includes(L)) throw new Error(`${where}: tanhLevels has ${L}, which is not in levels=[${spec.levels}]`);
  if (new Set(spec.seeds).size !== spec.seeds.length || spec.seeds.length === 0) throw new Error(`${where}: seeds=[${spec.seeds}] must be distinct and non-empty`);
  if (!spec.seeds.includes(spec.generatorSeed)) throw new Error(`${where}: generatorSeed=${spec.generatorSeed} is not among the tokenizer seeds [${spec.seeds}]`);
  if (new Set(spec.generatorSeeds).size !== spec.generatorSeeds.length || spec.generatorSeeds.length === 0) throw new Error(`${where}: generatorSeeds=[${spec.generatorSeeds}] must be distinct and non-empty`);
  for (const L of spec.halfBudgetLevels) if (!spec.levels.includes(L)) throw new Error(`${where}: halfBudgetLevels has ${L}, which is not in levels=[${spec.levels}]`);
  return spec;
}

/** The label of a half-budget tokenizer run (the budget check). */
export function halfBudgetLabel(L: number, seed: number): string {
  return `tokenizer L=${L} bound=ifsq seed=${seed} half-budget`;
}

/** Steps of the tokenizers at a preset (the grid's override, else the tokenizer preset's). */
export function tokenizerSteps(spec: BitsGridSpec, preset: PresetName): number {
  return resolveConfig(tokenizerConfig, { preset, overrides: bitsTokenizerOverrides(spec, spec.levels[0], "ifsq", spec.generatorSeed) }).steps;
}

/**
 * Every run of the grid as sweep entries: tokenizers (by L, bound, seed), the half-budget tokenizers, then AR and
 * DiT per L and generator seed.
 */
export function bitsSweepRuns(spec: BitsGridSpec, preset: PresetName): StudyRun[] {
  checkBitsGrid(spec, preset);
  const runs: StudyRun[] = [];
  for (const L of spec.levels) {
    const bounds: BitsBound[] = spec.tanhLevels.includes(L) ? ["tanh", "ifsq"] : ["ifsq"];
    for (const bound of bounds) {
      for (const seed of spec.seeds) runs.push({ label: `tokenizer L=${L} bound=${bound} seed=${seed}`, kind: "tokenizer", overrides: bitsTokenizerOverrides(spec, L, bound, seed) });
    }
  }
  const half = Math.max(1, Math.round(tokenizerSteps(spec, preset) / 2));
  for (const L of spec.halfBudgetLevels) {
    runs.push({ label: halfBudgetLabel(L, spec.generatorSeed), kind: "tokenizer", overrides: { ...bitsTokenizerOverrides(spec, L, "ifsq", spec.generatorSeed), steps: half } });
  }
  const arSteps = arStepsByLevel(spec, preset);
  for (const seed of spec.generatorSeeds) {
    for (const L of spec.levels) {
      const tokenizer = bitsTokenizerOverrides(spec, L, "ifsq", spec.generatorSeed);
      runs.push({ label: `ar L=${L} seed=${seed}`, kind: "ar", overrides: { ...spec.ar, seed, steps: arSteps.get(L)!, tokenizer } });
    }
  }
  for (const seed of spec.generatorSeeds) {
    for (const L of spec.levels) {
      const tokenizer = bitsTokenizerOverrides(spec, L, "ifsq", spec.generatorSeed);
      runs.push({ label: `dit L=${L} seed=${seed}`, kind: "dit", overrides: { ...spec.dit, seed, tokenizer } });
    }
  }
  return runs;
}

/**
 * The grid at each preset. One tokenizer family per preset: the tokenizers are the `tokenizer` kind's preset with
 * only levels, bound, α and seed set, so at L = 17 they ARE notebook 02's runs (iFSQ and tanh, seeds 0 and 1) and the
 * seed-0 iFSQ one is the tokenizer of notebooks 03, 04, 06 and 07 (a reproduce trains each once; test/study-plans).
 *
 * quick (measured on the 2-core Intel Xeon model 167, native engine, 2 data-parallel workers, beside other work):
 *   tokenizers: the quick preset (channels [8,16,32], one res block, 800 steps × 32 images, cosine lr 2e-3,
 *     latentInitGain 5), ≈ 150–200 s per run. L ∈ {3, 5, 9, 17, 33} with iFSQ, tanh at L = 17 only (02's comparison;
 *     tanh at other L is a paper-cpu question), 2 seeds each: 12 runs, 4 of them notebook 02's. Calibration (seed 0,
 *     first 2 000 test images): L = 3 gives 19.78 dB at 400 steps and 21.31 dB at 800, L = 17 19.82 / 21.92 dB; a
 *     90-step budget (this grid before) left every L at ≈ 14.5 dB. Still rising over the last doubling, so the budget
 *     check trains L = 3 and 17 at half the steps and the notebook reports that change against the seed spread.
 *   generators: 2 seeds each on the seed-0 tokenizer of every L (a training-seed spread of gFID, not only the
 *     half-sample noise). AR D = 64, 2 blocks, 2 channels per sub-token, 90 steps at L = 33 (equal FLOPs at the other L); DiT D = 64, 2 blocks,
 *     150 steps. Small budgets: their gFIDs are far from converged (notebook 06 measures how far at L = 17);
 *     sharing them with 06's runs would need 06's budget (400 / 930 steps at depth 3) at every L and seed, ≈ 10× this.
 *   Evaluation: the full test split (10 000 images) per tokenizer, 300 samples per generator with and without CFG.
 * tiny (CI, seconds): L ∈ {3, 5}, tanh at 5, 2 seeds of a smaller tokenizer of 8 steps, one generator seed; the
 *   numbers mean nothing.
 * paper-cpu (hours; `npm run sweep -- bits`, sharded or on Slurm): the paper-cpu tokenizer preset at every L with both
 *   bounds, 3 seeds; AR and DiT at their paper-cpu presets (AR 1 500 steps at L = 33, equal FLOPs at the others).
 */
export const BITS_GRID: Record<PresetName, BitsGridSpec> = {
  tiny: {
    levels: [3, 5],
    tanhLevels: [5],
    arReferenceLevel: 5,
    channels: 4,
    seeds: [0, 1],
    generatorSeed: 0,
    generatorSeeds: [0],
    halfBudgetLevels: [3],
    alpha: 1.6,
    tokenizer: { channels: [8, 16, 16], resBlocks: 0, midBlocks: 1, latentInitGain: 5, steps: 8, batchSize: 16, warmupSteps: 2, logEvery: 4, evalLimit: 128, hflip: true },
    ar: { dim: 32, depth: 1, heads: 2, channelsPerGroup: 2, steps: 6, warmupSteps: 2, trainLimit: 512, logEvery: 3 },
    dit: { dim: 32, depth: 1, heads: 2, steps: 8, warmupSteps: 2, trainLimit: 512, logEvery: 4, evalSteps: 5 },
  },
  quick: {
    levels: [3, 5, 9, 17, 33],
    tanhLevels: [17],
    arReferenceLevel: 33,
    channels: 4,
    seeds: [0, 1],
    generatorSeed: 0,
    generatorSeeds: [0, 1],
    halfBudgetLevels: [3, 17],
    alpha: 1.6,
    tokenizer: {},
    ar: { dim: 64, depth: 2, heads: 2, headDepth: 1, channelsPerGroup: 2, steps: 90, batchSize: 32, lr: 2e-3, warmupSteps: 10, emaDecay: 0, trainLimit: 10000, evalSamples: 0, evalEvery: 0, ckptEvery: 0, logEvery: 10 },
    dit: { dim: 64, depth: 2, heads: 2, steps: 150, batchSize: 32, lr: 2e-3, warmupSteps: 15, emaDecay: 0, trainLimit: 10000, evalSamples: 0, evalEvery: 0, ckptEvery: 0, logEvery: 10, evalSteps: 10 },
  },
  "paper-cpu": {
    levels: [3, 5, 9, 17, 33],
    tanhLevels: [3, 5, 9, 17, 33],
    arReferenceLevel: 33,
    channels: 4,
    seeds: [0, 1, 2],
    generatorSeed: 0,
    generatorSeeds: [0, 1],
    halfBudgetLevels: [3, 17],
    alpha: 1.6,
    tokenizer: {},
    ar: { channelsPerGroup: 2, steps: 1500 },
    dit: { steps: 3000 },
  },
};

/** The grid knobs a notebook sets directly (each defaults to `BITS_GRID[preset]`'s). */
export interface BitsKnobs {
  /** Levels per channel L (odd, ascending). */
  levels?: number[];
  /** Levels that also get a tanh tokenizer. */
  tanhLevels?: number[];
  /** Tokenizer seeds. */
  seeds?: number[];
}

export interface BitsSetup {
  preset: PresetName;
  /** The grid: `BITS_GRID[preset]` with the knobs below applied. */
  grid: BitsGridSpec;
  /** Test images per tokenizer evaluation (> 128 for rFID; 10 000 = the full test split). */
  testImages: number;
  /** Reconstructions kept per tokenizer. */
  examples: number;
  /** Samples per gFID (≥ 258: each half needs more than the feature network's 128 dimensions). */
  evalSamples: number;
  /** The one CFG scale of the guided evaluation (AR on logits, DiT on velocities); 1 = the unguided one. */
  cfgScale: number;
  /** Euler steps of the DiT samples. */
  eulerSteps: number;
  /** Seed of the evaluation samples (the same classes and noise for every L). */
  sampleSeed: number;
  /** Feature network of rFID and gFID ("tiny" is a test-only stand-in). */
  featureNet: FeatureNetName;
}

/** Defaults per preset; see grid.ts for the sizing of the runs and the evaluations. */
export function bitsSetup(partial: Partial<BitsSetup> & BitsKnobs & { preset: PresetName }): BitsSetup {
  const { levels, tanhLevels, seeds, ...rest } = partial;
  const p = partial.preset;
  const base = partial.grid ?? BITS_GRID[p];
  const grid = checkBitsGrid({ ...base, levels: levels ?? base.levels, tanhLevels: tanhLevels ?? base.tanhLevels, seeds: seeds ?? base.seeds }, p);
  const s: BitsSetup = {
    testImages: p === "tiny" ? 256 : 10000,
    examples: 8,
    evalSamples: p === "tiny" ? 260 : p === "quick" ? 300 : 2000,
    cfgScale: 2,
    eulerSteps: p === "tiny" ? 5 : p === "quick" ? 10 : 50,
    sampleSeed: 0,
    featureNet: p === "tiny" ? "tiny" : "full",
    ...rest,
    grid,
  };
  if (!(Number.isInteger(s.evalSamples) && s.evalSamples >= 258)) throw new Error(`bitsSetup: evalSamples=${s.evalSamples}; expected an integer ≥ 258 (two halves of more than 128 samples each)`);
  if (!(Number.isInteger(s.testImages) && s.testImages > 128 && s.testImages <= 10000)) throw new Error(`bitsSetup: testImages=${s.testImages}; expected an integer in (128, 10 000] (rFID needs more images than the 128 feature dimensions)`);
  if (s.cfgScale === 1) throw new Error("bitsSetup: cfgScale=1 is the unguided evaluation already; expected another scale (the paper's final AR setting is 2)");
  return s;
}


export const bitsStudy = defineStudy({
  name: "bits",
  description: "notebook 05: tokenizers by levels L (iFSQ at every L, tanh at some) and seed, AR + DiT per iFSQ L at equal FLOPs",
  setup: (preset: PresetName) => bitsSetup({ preset }),
  runs: (s: BitsSetup) => bitsSweepRuns(s.grid, s.preset),
});
