/**
 * Notebook 02's grid: FSQ (tanh) and iFSQ tokenizers that differ only in the bound, each at several seeds, trained or
 * reused (the same runs as `npm run sweep -- tokenizers`), then evaluated on the test split (code statistics, PSNR,
 * SSIM, rFID with the feature network).
 *
 *   const setup = tokenizerComparisonSetup({ preset: "quick" });     // seeds from the tokenizers sweep
 *   const cmp = await compareTokenizers(runEnv(), setup);            // cmp.runs.tanh[i], cmp.runs.ifsq[i]: one per seed
 *
 * Same seed ⇒ same initial weights and batches for both bounds; different seeds measure the run-to-run spread that
 * the verdict (tokenizer/verdict.ts) compares every difference with.
 */
import type { PresetName } from "../../train/config";
import { runId, type MetricsRow } from "../../train/run";
import { extractorOf, loadFeatureNet, type FeatureNetName } from "../featurenet/index";
import { tokenizersSweep } from "../sweeps/tokenizers";
import type { RunEnv } from "../env";
import { trainTokenizer } from "./task";
import { evaluateTokenizer, type TokenizerEvaluation } from "./evaluate";
import { resolveTokenizerConfig, type TokenizerConfig } from "./config";
import { withSideBySide } from "../sweeps/side-by-side";

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

/** Seeds of the tokenizers sweep at a preset, so the notebook reads exactly the runs the sweep trains. */
export function sweepSeeds(preset: PresetName): number[] {
  const runs = tokenizersSweep.presets[preset];
  if (!runs) throw new Error(`sweepSeeds: the tokenizers sweep has no preset ${JSON.stringify(preset)}`);
  return [...new Set(runs.map((r) => Number(r.overrides.seed)))].sort((a, b) => a - b);
}

/** The sweep's fixed values (levels, α) at a preset. */
function sweepFixed(preset: PresetName): { levels: number[]; alpha: number } {
  const o = tokenizersSweep.presets[preset][0].overrides;
  return { levels: o.levels as number[], alpha: o.alpha as number };
}

/** Defaults of every field for a preset (the sweep's grid, tiny = 256 test images and the tiny feature net). */
export function tokenizerComparisonSetup(partial: Partial<TokenizerComparisonSetup> & { preset: PresetName }): TokenizerComparisonSetup {
  const tiny = partial.preset === "tiny";
  const s: TokenizerComparisonSetup = {
    ...sweepFixed(partial.preset),
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

/** The overrides of one run, with the same keys and values as the tokenizers sweep's entry (hence the same run folder). */
export function comparisonOverrides(s: TokenizerComparisonSetup, bound: ComparedBound, seed: number): Record<string, unknown> {
  return { levels: s.levels, alpha: s.alpha, bound, seed };
}

/** One trained and evaluated run. */
export interface ComparedRun {
  bound: ComparedBound;
  seed: number;
  runDir: string;
  reused: boolean;
  metrics: MetricsRow[];
  config: TokenizerConfig;
  params: number;
  evaluation: TokenizerEvaluation;
}

export interface TokenizerComparison {
  setup: TokenizerComparisonSetup;
  /** Per bound, one run per seed in `setup.seeds` order. */
  runs: Record<ComparedBound, ComparedRun[]>;
  /** Run id of the feature network behind rFID. */
  featureNet: string;
}

/** Trains or reuses every run of the grid and evaluates it; the tokenizers are freed after their evaluation. */
export async function compareTokenizers(env: RunEnv, s: TokenizerComparisonSetup): Promise<TokenizerComparison> {
  const planned = s.seeds.flatMap((seed) =>
    COMPARED_BOUNDS.map((bound) => {
      const config = resolveTokenizerConfig({ preset: s.preset, overrides: comparisonOverrides(s, bound, seed) }) as unknown as Record<string, unknown>;
      return { id: runId("tokenizer", config), kind: "tokenizer", config };
    }),
  );
  // a helper process trains the tokenizers while this one trains the feature network and evaluates
  return withSideBySide(env, "tokenizers", s.preset, planned, async () => {
    const net = await loadFeatureNet(env, s.featureNet);
    const metricNet = { extractor: extractorOf(net), cacheDir: net.dir };
    const runs = { tanh: [], ifsq: [] } as Record<ComparedBound, ComparedRun[]>;
    for (const seed of s.seeds) {
      for (const bound of COMPARED_BOUNDS) {
        const tk = await trainTokenizer(env, { preset: s.preset, overrides: comparisonOverrides(s, bound, seed) });
        try {
          const evaluation = await evaluateTokenizer(tk.tokenizer, { limit: s.testImages, bins: s.bins, examples: s.examples, metricNet });
          runs[bound].push({ bound, seed, runDir: tk.runDir, reused: tk.reused, metrics: tk.metrics, config: tk.config, params: tk.tokenizer.params.count(), evaluation });
        } finally {
          tk.dispose();
        }
      }
    }
    return { setup: s, runs, featureNet: net.runId };
  });
}
