/**
 * The `tokenizers` study of notebook 02: FSQ's tanh bound vs iFSQ's 2σ(1.6·z) − 1 at 4 bits per channel (levels
 * [17,17,17,17]), at the seeds a verdict needs for a measured spread: two at tiny and quick, three at paper-cpu. The
 * knobs (levels, α, seeds, and the evaluation's test images, bins, examples) are the notebook's parameter cell;
 * `npm run sweep -- tokenizers` trains the preset's runs, so notebook 02 at its defaults then trains nothing.
 */
import type { DeepPartial, PresetName } from "../../train/config";
import type { FeatureNetName } from "../featurenet/config";
import type { TokenizerConfig } from "../tokenizer/config";
import { defineStudy, type StudyRun } from "../plan";

export const COMPARED_BOUNDS = ["tanh", "ifsq"] as const;
export type ComparedBound = (typeof COMPARED_BOUNDS)[number];

export interface TokenizerComparisonSetup {
  preset: PresetName;
  /** Levels per channel (4 × 17 = the paper's 4-bit ifsq_f16_d4). */
  levels: number[];
  /** iFSQ slope α. */
  alpha: number;
  /** Training seeds of both bounds (≥ 2 for a measured spread). */
  seeds: number[];
  /** Test images evaluated per run. */
  testImages: number;
  /** Histogram bins on [−1, 1]. */
  bins: number;
  /** Reconstructions kept per run for the image grid. */
  examples: number;
  /** Feature network of rFID ("tiny" is the test-only stand-in). */
  featureNet: FeatureNetName;
}

/** Training seeds at a preset: two at tiny and quick, three at paper-cpu (a verdict needs a measured spread). */
export function sweepSeeds(preset: PresetName): number[] {
  return preset === "paper-cpu" ? [0, 1, 2] : [0, 1];
}

/** Defaults of every field for a preset (the sweep's grid, tiny = 256 test images and the tiny feature net). */
export function tokenizerComparisonSetup(partial: Partial<TokenizerComparisonSetup> & { preset: PresetName }): TokenizerComparisonSetup {
  const tiny = partial.preset === "tiny";
  const s: TokenizerComparisonSetup = {
    levels: [17, 17, 17, 17],
    alpha: 1.6,
    seeds: sweepSeeds(partial.preset),
    testImages: tiny ? 256 : 10000,
    bins: 64,
    examples: 8,
    featureNet: tiny ? "tiny" : "full",
    ...partial,
  };
  if (s.seeds.length === 0) throw new Error("tokenizerComparisonSetup: seeds=[]; expected at least one seed (two for a measured spread)");
  if (new Set(s.seeds).size !== s.seeds.length) throw new Error(`tokenizerComparisonSetup: seeds=[${s.seeds}] repeats a seed`);
  return s;
}

/** The overrides of one run. */
export function comparisonOverrides(s: TokenizerComparisonSetup, bound: ComparedBound, seed: number): DeepPartial<TokenizerConfig> {
  return { levels: s.levels, alpha: s.alpha, bound, seed };
}

/** The runs of a setup: for each seed, tanh then iFSQ (same seed ⇒ same initial weights and batches). */
export function tokenizersRuns(s: TokenizerComparisonSetup): StudyRun[] {
  return s.seeds.flatMap((seed) => COMPARED_BOUNDS.map((bound): StudyRun => ({ label: `bound=${bound} seed=${seed}`, kind: "tokenizer", overrides: comparisonOverrides(s, bound, seed) })));
}

export const tokenizersStudy = defineStudy({
  name: "tokenizers",
  description: "notebook 02: FSQ (tanh) vs iFSQ tokenizers at 4 bits, by seed",
  setup: (preset: PresetName) => tokenizerComparisonSetup({ preset }),
  runs: tokenizersRuns,
});
