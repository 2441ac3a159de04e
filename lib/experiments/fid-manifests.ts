/**
 * The FID manifests (lib/eval/fid-manifest.ts) of this project's measurements, built from what fixes them:
 *   - a generator's in-run gFID (generator.ts `inRunEvaluation`, the CFG end check): a pure function of the run's
 *     config, written to the run folder when training starts and rebuilt from the config for runs recorded before;
 *   - an evaluation of a sampler (evaluateAr / evaluateDiT / the DiT sampling study): `samplerManifest`;
 *   - a tokenizer's rFID: `rfidManifest`.
 * The reference of every gFID is the Fashion-MNIST test split (lib/eval/features `testSetEmbedding`); the feature
 * network is named by its run id (`featurenet-<hash12>` of its config).
 */
import { fidManifest, readRunFidManifests, type FidManifest } from "../eval/fid-manifest";
import { runId } from "../train/run";
import { featureNetConfigOf, type FeatureNetName } from "./featurenet/config";

/** The reference statistics of every gFID. */
export const GFID_REFERENCE = "fashion-mnist test split";

/** Run id of a named feature network (what loadFeatureNet loads), without loading it. */
export function featureNetRunId(name: FeatureNetName): string {
  return runId("featurenet", featureNetConfigOf(name));
}

/** A generator's sampling settings in one word: "ar (temperature 1, top-k 0, top-p 1)", "dit (euler)". */
export function generatorLabel(kind: "ar" | "dit", s: { temperature?: number; topK?: number; topP?: number; requantize?: boolean } = {}): string {
  if (kind === "ar") return `ar (temperature ${s.temperature ?? 1}, top-k ${s.topK ?? 0}, top-p ${s.topP ?? 1})`;
  return `dit (euler${s.requantize ? ", re-quantized" : ""})`;
}

/** The config keys an in-run gFID depends on (AR and DiT configs both have them; evalSteps only DiT). */
export interface InRunManifestConfig {
  evalSamples: number;
  seed: number;
  featureNet: FeatureNetName;
  evalCfgScale: number;
  evalGuidedScale?: number;
  evalGridPerClass?: number;
  emaDecay: number;
  evalSteps?: number;
  evalTemperature?: number;
  evalTopK?: number;
  evalTopP?: number;
}

/**
 * The manifest of a generator run's in-run gFID at CFG scale `guidanceScale` (default the config's evalCfgScale):
 * cfg.evalSamples samples, classes uniform (or the grid's i mod C), EMA weights when the run has EMA (the trainer
 * evaluates them), DiT's evalSteps Euler steps.
 */
export function inRunFidManifest(kind: "ar" | "dit", cfg: InRunManifestConfig, opts: { guidanceScale?: number; numClasses?: number } = {}): FidManifest {
  const C = opts.numClasses ?? 10;
  return fidManifest({
    metric: "gFID",
    samples: cfg.evalSamples,
    classes: cfg.evalGridPerClass !== undefined ? `class i mod ${C} for sample i` : `uniform over ${C} classes`,
    generator: kind === "ar" ? generatorLabel("ar", { temperature: cfg.evalTemperature, topK: cfg.evalTopK, topP: cfg.evalTopP }) : generatorLabel("dit"),
    guidanceScale: opts.guidanceScale ?? cfg.evalCfgScale,
    samplingSteps: kind === "dit" ? cfg.evalSteps ?? null : null,
    ema: cfg.emaDecay > 0,
    featureNet: featureNetRunId(cfg.featureNet),
    reference: GFID_REFERENCE,
    seed: cfg.seed,
  });
}

/**
 * The manifests of a run's in-run metrics: "gfid", and "gfidGuided" when the config has evalGuidedScale; none when
 * the run does not evaluate in-run (evalSamples 0).
 */
export function inRunFidManifests(kind: "ar" | "dit", cfg: InRunManifestConfig, numClasses = 10): Record<string, FidManifest> {
  if (!(cfg.evalSamples > 0)) return {};
  const out: Record<string, FidManifest> = { gfid: inRunFidManifest(kind, cfg, { numClasses }) };
  if (cfg.evalGuidedScale !== undefined) out.gfidGuided = inRunFidManifest(kind, cfg, { guidanceScale: cfg.evalGuidedScale, numClasses });
  return out;
}

/** A run's recorded manifests (its folder's fid-manifest.json), else the ones its config implies. */
export function runFidManifests(kind: "ar" | "dit", cfg: InRunManifestConfig, runDir: string): Record<string, FidManifest> {
  return { ...inRunFidManifests(kind, cfg), ...(readRunFidManifests(runDir) ?? {}) };
}

/** The manifest of an evaluation of a sampler (generator.ts `evaluateSampler` and the DiT sampling study). */
export function samplerManifest(m: { samples: number; numClasses: number; generator: string; guidanceScale: number; samplingSteps: number | null; ema: boolean | null; featureNet: string; seed: number }): FidManifest {
  return fidManifest({
    metric: "gFID",
    samples: m.samples,
    classes: `uniform over ${m.numClasses} classes`,
    generator: m.generator,
    guidanceScale: m.guidanceScale,
    samplingSteps: m.samplingSteps,
    ema: m.ema,
    featureNet: m.featureNet,
    reference: GFID_REFERENCE,
    seed: m.seed,
  });
}

/** The manifest of a tokenizer's rFID over the first `images` test images (the originals are the reference). */
export function rfidManifest(images: number, featureNet: string): FidManifest {
  return fidManifest({
    metric: "rFID",
    samples: images,
    classes: "the first test images",
    generator: "tokenizer reconstruction",
    guidanceScale: null,
    samplingSteps: null,
    ema: null,
    featureNet,
    reference: `the ${images} original test images`,
    seed: null,
  });
}
