/**
 * The `featurenet` kind's config: the frozen Fashion-MNIST classifier behind every FID / IS / precision–recall
 * (lib/models/classifier.ts), trained by the one trainer like every other kind.
 *
 *   npm run train -- featurenet --preset paper-cpu
 *
 * Loss: mean softmax cross-entropy of the 10 classes. AdamW (β = 0.9, 0.999), weight decay 1e-4, linear warm-up then
 * cosine decay, no gradient clipping, no EMA; batches in the seeded epoch order of lib/data/batches.
 *
 * Presets (wasm, one core):
 *   tiny       3 000 images, one epoch (46 steps, seconds): a TEST-ONLY stand-in, clearly lower accuracy; its FIDs
 *              are not comparable with the others'.
 *   quick      60 000 images, one epoch (937 steps, about 2 CPU minutes).
 *   paper-cpu  60 000 images, three epochs (2 811 steps, about 6.5 CPU minutes, ≈ 90.7 % test accuracy): the network
 *              every reported gFID uses.
 * A generator config names its network with `featureNet: "tiny" | "full"` (a key older runs recorded, so it stays):
 * "tiny" is the tiny preset, "full" the paper-cpu preset (`FEATURE_NET_PRESET`).
 */
import { z } from "zod";
import { CLASSIFIER_VERSION, DEFAULT_CLASSIFIER_ARCH, type ClassifierArch } from "../../models/classifier";
import { TrainConfigSchema, defineConfig, presetConfig, type ConfigDef, type PresetName } from "../../train/config";

export const FeatureNetConfigSchema = TrainConfigSchema.extend({
  channels: z.tuple([z.int().positive(), z.int().positive(), z.int().positive()]).default([16, 32, 64]).describe("widths of the three conv layers"),
  featureDim: z.int().positive().default(128).describe("width of the penultimate (feature) layer: the FID space"),
  trainLimit: z.int().min(0).default(0).describe("use only the first N training images (0 = all 60 000)"),
  testLimit: z.int().min(0).default(0).describe("test images of the accuracy measured at the end (0 = all 10 000)"),
  classifierVersion: z.literal(CLASSIFIER_VERSION).default(CLASSIFIER_VERSION).describe("forward-pass version of lib/models/classifier.ts (a change retrains)"),
});
export type FeatureNetConfig = z.output<typeof FeatureNetConfigSchema>;

const common = { seed: 20240601, batchSize: 64, lr: 2e-3, weightDecay: 1e-4, schedule: "cosine", clip: 0 } as const;

export const featureNetConfig: ConfigDef<typeof FeatureNetConfigSchema> = defineConfig({
  name: "featurenet",
  schema: FeatureNetConfigSchema,
  presets: {
    tiny: { ...common, trainLimit: 3000, steps: 46, warmupSteps: 5, minLrRatio: 0.1, logEvery: 5 },
    quick: { ...common, steps: 937, warmupSteps: 50, minLrRatio: 0.05, logEvery: 25 },
    "paper-cpu": { ...common, steps: 2811, warmupSteps: 100, minLrRatio: 0.02, logEvery: 50, ckptEvery: 500 },
  },
});

/** The feature networks a generator config can name (its `featureNet` key). */
export type FeatureNetName = "tiny" | "full";

/** Preset of each name: "full" is the network of every reported number. */
export const FEATURE_NET_PRESET: Record<FeatureNetName, PresetName> = { tiny: "tiny", full: "paper-cpu" };

/** The resolved config of a named feature network. */
export function featureNetConfigOf(name: FeatureNetName): FeatureNetConfig {
  const preset = FEATURE_NET_PRESET[name];
  if (!preset) throw new Error(`featureNet=${JSON.stringify(name)} is not a feature network; expected "tiny" or "full"`);
  return presetConfig(featureNetConfig, preset);
}

/** The classifier architecture of a config (10 classes, 32×32 inputs). */
export function classifierArch(cfg: FeatureNetConfig): ClassifierArch {
  return { ...DEFAULT_CLASSIFIER_ARCH, channels: [cfg.channels[0], cfg.channels[1], cfg.channels[2]], featureDim: cfg.featureDim };
}
