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
 * The AR model's do: its output projections cost T·D·Σ_g L per sequence (factorized, one sub-token per channel), so
 * each AR run gets steps_L = round(steps_ref · F_ref / F_L), F = training FLOPs per step (`llamaGenFlops`), ref = the
 * preset's largest L (`arReferenceLevel`, fixed so that adding an L in the notebook leaves the other AR runs as they
 * are); all AR runs then have the same training FLOPs within half a step.
 */
import type { DeepPartial, PresetName } from "../../train/config";
import { resolveConfig } from "../../train/config";
import { llamaGenFlops } from "../../models/llamagen";
import { FASHION_MNIST_CLASSES } from "../../data/fashion-mnist";
import { checkLevel, type Bound } from "../../quant/bounds";
import { arConfig, llamaGenArch, type ArConfig } from "../ar/config";
import type { DiTConfig } from "../dit/config";
import type { TokenizerConfig } from "../tokenizer/config";
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

/** Training FLOPs per step of the AR run of level L at a preset (factorized tokens, one sub-token per channel). */
export function arFlopsPerStep(spec: BitsGridSpec, preset: PresetName, L: number): number {
  const cfg = resolveConfig(arConfig, { preset, overrides: { ...spec.ar, tokenizer: bitsTokenizerOverrides(spec, L, "ifsq", spec.generatorSeed) } });
  if (cfg.tokens !== "factorized" || cfg.channelsPerGroup !== 1) {
    throw new Error(`bits grid: the AR runs must use factorized tokens with channelsPerGroup=1 (got tokens=${cfg.tokens}, channelsPerGroup=${cfg.channelsPerGroup})`);
  }
  const arch = llamaGenArch(cfg, { groupSizes: cfg.tokenizer.levels }, latentGrid(cfg.tokenizer.channels), FASHION_MNIST_CLASSES.length);
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
  return spec;
}

/** Every run of the grid as sweep entries: tokenizers (by L, bound, seed), then one AR and one DiT per L. */
export function bitsSweepRuns(spec: BitsGridSpec, preset: PresetName): StudyRun[] {
  checkBitsGrid(spec, preset);
  const runs: StudyRun[] = [];
  for (const L of spec.levels) {
    const bounds: BitsBound[] = spec.tanhLevels.includes(L) ? ["tanh", "ifsq"] : ["ifsq"];
    for (const bound of bounds) {
      for (const seed of spec.seeds) runs.push({ label: `tokenizer L=${L} bound=${bound} seed=${seed}`, kind: "tokenizer", overrides: bitsTokenizerOverrides(spec, L, bound, seed) });
    }
  }
  const arSteps = arStepsByLevel(spec, preset);
  for (const L of spec.levels) {
    const tokenizer = bitsTokenizerOverrides(spec, L, "ifsq", spec.generatorSeed);
    runs.push({ label: `ar L=${L}`, kind: "ar", overrides: { ...spec.ar, steps: arSteps.get(L)!, tokenizer } });
  }
  for (const L of spec.levels) {
    const tokenizer = bitsTokenizerOverrides(spec, L, "ifsq", spec.generatorSeed);
    runs.push({ label: `dit L=${L}`, kind: "dit", overrides: { ...spec.dit, tokenizer } });
  }
  return runs;
}

/**
 * The grid at each preset, sized by measured speed (wasm, 2-core project machine; CPU seconds per step, which is the
 * idle machine's wall time for the single-threaded wasm backend):
 *
 * quick (≤ 25 min for notebook 05 on an idle machine, feature network already trained, e.g. by notebook 02):
 *   16 tokenizers = 5 L (iFSQ) + 3 L (tanh: 5, 17, 33), 2 seeds each. Channels [8,16,16], no res block per encoder
 *     level (decoder: one), one middle block: 14.2 MFLOP forward per image, 0.37 s per step at batch 32; 90 steps
 *     → 33 s per run, 16 × 33 = 530 s. hflip on (as the official training); latentInitGain 5 at every L (z starts
 *     near N(0, 1); with the default init L = 3 starts with all-zero codes and never trains, see ../tokenizer/config.ts).
 *   5 AR (D = 64, 2 blocks, 2 heads, head depth 1, batch 32): 4.2 GFLOP per step, 0.68 s; 90 steps at L = 33
 *     (the others equal FLOPs) → 5 × 61 = 305 s.
 *   5 DiT (D = 64, 2 blocks, 2 heads, batch 32): 1.4 GFLOP per step, 0.22 s; 150 steps → 5 × 33 = 165 s.
 *   Both generators train on the first 10 000 training images (token cache: 5 × ≈ 5 s) and run no in-run
 *   evaluation. Evaluation in the notebook (bits/run.ts): 1 000 test images per tokenizer with rFID (≈ 5 s each,
 *   80 s), 300 samples per generator with and without CFG (AR ≈ 20 s, DiT with 10 Euler steps ≈ 15 s per run,
 *   175 s). With ≈ 100 s of kernel overhead: ≈ 1 360 s ≈ 23 min.
 * tiny (CI, seconds): L ∈ {3, 5}, tanh at 5, 2 seeds (6 tokenizers of 8 steps), 2 AR and 2 DiT of a few steps at
 *   D = 32 with one block; the numbers mean nothing.
 * paper-cpu (hours; through `npm run sweep -- bits`, sharded or on Slurm): every L with both bounds, 3 seeds, the
 *   paper-cpu tokenizer preset (+ hflip), AR and DiT at their paper-cpu presets (AR: 1 500 steps at L = 33, equal
 *   FLOPs at the others).
 */
export const BITS_GRID: Record<PresetName, BitsGridSpec> = {
  tiny: {
    levels: [3, 5],
    tanhLevels: [5],
    arReferenceLevel: 5,
    channels: 4,
    seeds: [0, 1],
    generatorSeed: 0,
    alpha: 1.6,
    tokenizer: { channels: [8, 16, 16], resBlocks: 0, midBlocks: 1, latentInitGain: 5, steps: 8, batchSize: 16, warmupSteps: 2, logEvery: 4, evalLimit: 128, hflip: true },
    ar: { dim: 32, depth: 1, heads: 2, steps: 6, warmupSteps: 2, trainLimit: 512, logEvery: 3 },
    dit: { dim: 32, depth: 1, heads: 2, steps: 8, warmupSteps: 2, trainLimit: 512, logEvery: 4, evalSteps: 5 },
  },
  quick: {
    levels: [3, 5, 9, 17, 33],
    tanhLevels: [5, 17, 33],
    arReferenceLevel: 33,
    channels: 4,
    seeds: [0, 1],
    generatorSeed: 0,
    alpha: 1.6,
    tokenizer: { channels: [8, 16, 16], resBlocks: 0, midBlocks: 1, latentInitGain: 5, steps: 90, batchSize: 32, lr: 3e-3, warmupSteps: 10, schedule: "cosine", emaDecay: 0, logEvery: 10, ckptEvery: 0, evalLimit: 200, hflip: true },
    ar: { dim: 64, depth: 2, heads: 2, headDepth: 1, steps: 90, batchSize: 32, lr: 2e-3, warmupSteps: 10, emaDecay: 0, trainLimit: 10000, evalSamples: 0, evalEvery: 0, ckptEvery: 0, logEvery: 10 },
    dit: { dim: 64, depth: 2, heads: 2, steps: 150, batchSize: 32, lr: 2e-3, warmupSteps: 15, emaDecay: 0, trainLimit: 10000, evalSamples: 0, evalEvery: 0, ckptEvery: 0, logEvery: 10, evalSteps: 10 },
  },
  "paper-cpu": {
    levels: [3, 5, 9, 17, 33],
    tanhLevels: [3, 5, 9, 17, 33],
    arReferenceLevel: 33,
    channels: 4,
    seeds: [0, 1, 2],
    generatorSeed: 0,
    alpha: 1.6,
    tokenizer: { hflip: true, latentInitGain: 5 },
    ar: { steps: 1500 },
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
    testImages: p === "tiny" ? 256 : p === "quick" ? 1000 : 10000,
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
