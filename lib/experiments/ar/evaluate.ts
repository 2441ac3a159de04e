/**
 * gFID of an AR model: n samples of uniformly drawn classes (generator.ts), embedded by the feature network the
 * config names, Fréchet distance to the test split's features; plus the Inception-style score and sampling speed.
 *
 *   const ev = await evaluateAr(ar, { n: 1000, cfgScale: 2 });   // { gfid, samplesPerSec, … }
 *
 *   FID = |μ_g − μ_r|² + tr(Σ_g + Σ_r − 2·(Σ_g Σ_r)^½)   over the 128-d penultimate features
 */
import type { SamplingOptions } from "../../models/sampling";
import type { FeatureNetName } from "../featurenet/config";
import { evaluateSampler, type ExtraGenerationMetrics, type SamplerEvaluation } from "../generator";
import { evalSampling, sampleImages, type ArModel } from "./sample";
import { generatorLabel } from "../fid-manifests";

export interface ArEvaluation extends SamplerEvaluation {
  sampling: Required<SamplingOptions>;
}

function pickSampling(o: SamplingOptions): SamplingOptions {
  const out: SamplingOptions = {};
  if (o.cfgScale !== undefined) out.cfgScale = o.cfgScale;
  if (o.temperature !== undefined) out.temperature = o.temperature;
  if (o.topK !== undefined) out.topK = o.topK;
  if (o.topP !== undefined) out.topP = o.topP;
  return out;
}

/** gFID (vs the Fashion-MNIST test split) and sampling speed of an AR model; sampling defaults from its config. */
export async function evaluateAr(ar: ArModel, opts: SamplingOptions & ExtraGenerationMetrics & { n?: number; seed?: number; featureNet?: FeatureNetName } = {}): Promise<ArEvaluation> {
  const cfg = ar.config;
  const s = { ...evalSampling(cfg), ...pickSampling(opts) };
  const sampling = { cfgScale: s.cfgScale ?? 1, temperature: s.temperature ?? 1, topK: s.topK ?? 0, topP: s.topP ?? 1 };
  const ev = await evaluateSampler(ar.env, (classes, seed) => sampleImages(ar, classes, { ...sampling, seed, batchSize: cfg.sampleBatch }), {
    n: opts.n ?? cfg.evalSamples,
    numClasses: ar.classNames.length,
    seed: opts.seed ?? 0,
    batchSize: cfg.sampleBatch,
    featureNet: opts.featureNet ?? cfg.featureNet,
    precisionRecall: opts.precisionRecall,
    halves: opts.halves,
    what: "evaluateAr",
    measured: { generator: generatorLabel("ar", sampling), guidanceScale: sampling.cfgScale, samplingSteps: null, ema: cfg.emaDecay > 0 },
  });
  return { ...ev, sampling };
}
