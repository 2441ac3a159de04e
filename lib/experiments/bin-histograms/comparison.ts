/**
 * Notebook 02's grid: FSQ (tanh) and iFSQ tokenizers that differ only in the bound, each at several seeds, trained or
 * reused (the `tokenizers` study of grid.ts, the same runs as `npm run sweep -- tokenizers`), then evaluated on the test split (code statistics, PSNR,
 * SSIM, rFID with the feature network).
 *
 *   const setup = tokenizerComparisonSetup({ preset: "quick" });     // the preset's knobs (grid.ts)
 *   const cmp = await compareTokenizers(runEnv(), setup);            // cmp.runs.tanh[i], cmp.runs.ifsq[i]: one per seed
 *
 * Same seed ⇒ same initial weights and batches for both bounds; different seeds measure the run-to-run spread that
 * the verdict (bin-histograms/verdict.ts) compares every difference with.
 */
import type { MetricsRow } from "../../train/run";
import { extractorOf, loadFeatureNet } from "../featurenet/index";
import type { RunEnv } from "../env";
import { trainTokenizer } from "../tokenizer/task";
import { evaluateTokenizer, type TokenizerEvaluation } from "../tokenizer/evaluate";
import type { TokenizerConfig } from "../tokenizer/config";
import { planStudy, runsOfKind } from "../plan";
import { trainPlan } from "../train-plan";
import { COMPARED_BOUNDS, tokenizersStudy, type ComparedBound, type TokenizerComparisonSetup } from "./grid";

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

/** Trains what is missing of the setup's runs (trainPlan), then evaluates each; the tokenizers are freed after their evaluation. */
export async function compareTokenizers(env: RunEnv, s: TokenizerComparisonSetup): Promise<TokenizerComparison> {
  const planned = runsOfKind(planStudy(tokenizersStudy, s), "tokenizer");
  await trainPlan(env, planned, { name: `tokenizers @ ${s.preset}` });
  const net = await loadFeatureNet(env, s.featureNet);
  const metricNet = { extractor: extractorOf(net), cacheDir: net.dir };
  const runs: Record<ComparedBound, ComparedRun[]> = { tanh: [], ifsq: [] };
  for (const p of planned) {
    const bound = p.config.bound;
    if (bound !== "tanh" && bound !== "ifsq") throw new Error(`tokenizers study: run ${p.label} has bound=${bound}; expected tanh or ifsq`);
    const tk = await trainTokenizer(env, { config: p.config });
    try {
      const evaluation = await evaluateTokenizer(tk.tokenizer, { limit: s.testImages, bins: s.bins, examples: s.examples, metricNet });
      runs[bound].push({ bound, seed: p.config.seed, runDir: tk.runDir, reused: tk.reused, metrics: tk.metrics, config: tk.config, params: tk.tokenizer.params.count(), evaluation });
    } finally {
      tk.dispose();
    }
  }
  return { setup: s, runs, featureNet: net.runId };
}
