/**
 * Notebook 05's runs: every run of the setup's bits grid (grid.ts, the `bits` study) trained through the one plan
 * runner (../train-plan.ts; only the missing runs train), then evaluated:
 *   - each tokenizer on the first `testImages` test images: PSNR, SSIM, rFID (the frozen feature network), per-channel
 *     entropy / utilisation, end-code mass, joint-code perplexity, and a few reconstructions;
 *   - the budget check's half-budget tokenizers (grid `halfBudgetLevels`) the same way, kept apart (`halfBudget`);
 *   - each generator (AR, DiT on the seed-0 iFSQ tokenizer of its L, at every generator seed): gFID, precision / recall (k = 3) and the gFIDs of
 *     the two halves of the samples (their gap = the sampling noise), without CFG and with CFG at one fixed scale.
 *
 *   const setup = bitsSetup({ preset: "quick" });        // grid.ts: the knobs (levels, bounds, seeds, evaluation)
 *   const res = await runBits(runEnv(), setup);          // plain numbers: res.tokenizers, res.generators
 *
 * The results hold no tensors (the models are freed after their evaluation), so the report (report.ts) is pure.
 */
import type { MetricsRow } from "../../train/run";
import type { SummarizedRun } from "../run-summary";
import { runTotals } from "../run-summary";
import { planStudy } from "../plan";
import { trainPlan } from "../train-plan";
import type { RunEnv } from "../env";
import { extractorOf, loadFeatureNet } from "../featurenet/task";
import { trainTokenizer } from "../tokenizer/task";
import type { TokenizerConfig } from "../tokenizer/config";
import { evaluateTokenizer, type TokenizerRow } from "../tokenizer/evaluate";
import { trainAr } from "../ar/task";
import { evaluateAr } from "../ar/evaluate";
import { trainDiT } from "../dit/task";
import { evaluateDiT } from "../dit/evaluate";
import type { SamplerEvaluation } from "../generator";
import { bitsOf, bitsStudy, halfBudgetLabel, type BitsBound, type BitsSetup } from "./grid";
import type { FidManifest } from "../../eval/fid-manifest";

/** A trained run as the report needs it (the run-summary fields). */
export interface BitsRun extends SummarizedRun {
  label: string;
  /** Training FLOPs of the whole run. */
  flops: number;
}

export interface BitsTokenizerResult {
  L: number;
  bits: number;
  bound: BitsBound;
  seed: number;
  run: BitsRun;
  row: TokenizerRow;
  /** How row.rfid was measured (lib/eval/fid-manifest.ts). */
  rfidManifest?: FidManifest;
  /** Per channel: code entropy (bits) and end-code mass. */
  entropyPerChannel: number[];
  endBinMassPerChannel: number[];
  usedCodes: number;
  codebookSize: number;
  /** The first `examples` reconstructions, [n, 32, 32, 1] row-major, values about [−1, 1]. */
  reconstructions: Float32Array;
}

/** One gFID evaluation of a generator. */
export interface BitsGenEval {
  cfgScale: number;
  gfid: number;
  precision: number;
  recall: number;
  /** gFIDs of the two halves of the samples. */
  halves: [number, number];
  samplesPerSec: number;
  n: number;
  /** How the gFID was measured (lib/eval/fid-manifest.ts). */
  manifest?: FidManifest;
}

export type GeneratorKind = "ar" | "dit";

export interface BitsGeneratorResult {
  kind: GeneratorKind;
  L: number;
  /** The generator's training seed. */
  seed: number;
  bits: number;
  run: BitsRun;
  tokenizerRun: string;
  /** Sub-token vocabularies (AR) or latent channels (DiT), for the tables. */
  detail: string;
  unguided: BitsGenEval;
  guided: BitsGenEval;
}

export interface BitsResults {
  setup: BitsSetup;
  tokenizers: BitsTokenizerResult[];
  /** The budget check: iFSQ tokenizers at half the steps (grid `halfBudgetLevels`), evaluated as the others. */
  halfBudget: BitsTokenizerResult[];
  generators: BitsGeneratorResult[];
  /** Run id of the feature network behind rFID and gFID. */
  featureNet: string;
  /** The first `examples` test images and their shape [n, h, w, c]. */
  originals: Float32Array;
  exampleShape: [number, number, number, number];
  /** Runs trained by this call (0 when everything was reused). */
  trained: number;
}

function bitsRun(label: string, r: { runDir: string; reused: boolean; metrics: MetricsRow[]; config: { steps: number; batchSize: number } }): BitsRun {
  const run = { runDir: r.runDir, reused: r.reused, metrics: r.metrics, config: { steps: r.config.steps, batchSize: r.config.batchSize } };
  return { ...run, label, flops: runTotals(run).flops };
}

function genEval(e: SamplerEvaluation, cfgScale: number): BitsGenEval {
  if (!e.gfidHalves) throw new Error("bits: the gFID evaluation returned no half-sample gFIDs (halves: true expected)");
  return { cfgScale, gfid: e.gfid, precision: e.precision, recall: e.recall, halves: e.gfidHalves, samplesPerSec: e.samplesPerSec, n: e.n, manifest: e.manifest };
}

/** A trained generator's result: gFID without CFG and with `setup.cfgScale`; the model is freed afterwards. */
async function generatorResult(
  kind: GeneratorKind,
  label: string,
  cfg: { tokenizer: TokenizerConfig; tokenizerRun: string; seed: number },
  model: Parameters<typeof bitsRun>[1] & { dispose(): void },
  detail: string,
  guidedScale: number,
  evaluate: (cfgScale: number) => Promise<SamplerEvaluation>,
): Promise<BitsGeneratorResult> {
  try {
    const unguided = genEval(await evaluate(1), 1);
    const guided = genEval(await evaluate(guidedScale), guidedScale);
    const L = cfg.tokenizer.levels[0];
    return { kind, L, seed: cfg.seed, bits: bitsOf(L), run: bitsRun(label, model), tokenizerRun: cfg.tokenizerRun, detail, unguided, guided };
  } finally {
    model.dispose();
  }
}

/** Trains what is missing of the setup's runs, then evaluates every run (tokenizers first, in the study's order). */
export async function runBits(env: RunEnv, setup: BitsSetup): Promise<BitsResults> {
  const planned = planStudy(bitsStudy, setup);
  const trained = (await trainPlan(env, planned, { name: `bits @ ${setup.preset}` })).trained.length;
  const tokenizers: BitsTokenizerResult[] = [];
  const halfBudget: BitsTokenizerResult[] = [];
  const generators: BitsGeneratorResult[] = [];
  let originals = new Float32Array(0);
  let exampleShape: [number, number, number, number] = [0, 32, 32, 1];
  const evalOpts = { n: setup.evalSamples, seed: setup.sampleSeed, precisionRecall: true, halves: true, featureNet: setup.featureNet };
  const net = await loadFeatureNet(env, setup.featureNet);
  // evaluation takes minutes at quick (every tokenizer on the test split, every generator twice): one line per run
  const evaluations = planned.length;
  let done = 0;
  const t0 = Date.now();
  const progress = (label: string, what: string) => {
    done++;
    env.log(`bits: evaluated ${done}/${evaluations} ${label}: ${what} (${((Date.now() - t0) / 1000).toFixed(0)} s of evaluation so far)`);
  };
  {
    const metricNet = { extractor: extractorOf(net), cacheDir: net.dir };
    for (const p of planned) {
      if (p.kind === "tokenizer") {
        const cfg = p.config;
        const tk = await trainTokenizer(env, { config: cfg });
        try {
          const ev = await evaluateTokenizer(tk.tokenizer, { limit: setup.testImages, examples: setup.examples, metricNet });
          if (originals.length === 0) {
            originals = ev.examples.originals;
            exampleShape = ev.examples.shape;
          }
          const half = setup.grid.halfBudgetLevels.some((L) => p.label === halfBudgetLabel(L, setup.grid.generatorSeed));
          progress(p.label, `PSNR ${ev.row.psnr.toFixed(2)} dB, rFID ${ev.row.rfid.toFixed(2)}`);
          (half ? halfBudget : tokenizers).push({
            L: cfg.levels[0], bits: bitsOf(cfg.levels[0]), bound: cfg.bound, seed: cfg.seed, run: bitsRun(p.label, tk), row: ev.row, rfidManifest: ev.rfidManifest,
            entropyPerChannel: ev.stats.entropy, endBinMassPerChannel: ev.stats.endBinMass, usedCodes: ev.stats.usedCodes, codebookSize: ev.stats.codebookSize,
            reconstructions: ev.examples.reconstructions,
          });
        } finally {
          tk.dispose();
        }
      } else if (p.kind === "ar") {
        const cfg = p.config;
        const ar = await trainAr(env, { config: cfg });
        const detail = `${ar.model.numGroups} × ${ar.layout.groupSizes[0]}`;
        generators.push(await generatorResult("ar", p.label, cfg, ar, detail, setup.cfgScale, (cfgScale) => evaluateAr(ar, { ...evalOpts, cfgScale, temperature: 1 })));
        progress(p.label, `gFID ${generators[generators.length - 1].unguided.gfid.toFixed(1)}, with CFG ${generators[generators.length - 1].guided.gfid.toFixed(1)}`);
      } else if (p.kind === "dit") {
        const cfg = p.config;
        const dit = await trainDiT(env, { config: cfg });
        const detail = `${dit.model.arch.channels} ch`;
        generators.push(await generatorResult("dit", p.label, cfg, dit, detail, setup.cfgScale, (cfgScale) => evaluateDiT(dit, { ...evalOpts, steps: setup.eulerSteps, cfgScale })));
        progress(p.label, `gFID ${generators[generators.length - 1].unguided.gfid.toFixed(1)}, with CFG ${generators[generators.length - 1].guided.gfid.toFixed(1)}`);
      } else {
        throw new Error(`bits: run "${p.label}" has kind ${p.kind}; expected tokenizer, ar or dit`);
      }
    }
  }
  return { setup, tokenizers, halfBudget, generators, featureNet: net.runId, originals, exampleShape, trained };
}
