/**
 * The `tokenizer` kind's config: schema (the single source of keys, types, defaults and docs) and its three presets
 * as plain data, plus the architecture a config describes.
 *
 *   npm run train -- tokenizer --preset quick --set bound=tanh
 *
 * The config keeps the bound as two plain keys (`bound`, `alpha`), as finished runs recorded it; `boundOf(cfg)` turns
 * them into the one `Bound` value the model takes. `levels` is checked here, when the config is resolved, by the
 * quantizer's own rule (`checkLevels`: odd levels for ifsq, …), so a bad value fails before any training starts.
 *
 * Deviation from the official training (paper-spec §4), documented: horizontal flips. The official tokenizer
 * training flips every image left↔right with probability ½. Here `hflip: true` does the same; the three presets
 * below leave it off (absent), because adding it would change their config hashes and with them every finished
 * tokenizer run and every generator run built on one (a generator config holds its tokenizer's config). New presets
 * (the bits sweep, REPA) should set `hflip: true`. `hflip: false` is stored as an absent key, so it names the same
 * run as a config from before the option existed; likewise `latentInitGain: 1`.
 *
 * `latentInitGain` (absent = 1) scales quant_conv's initial weights. With the default init z starts with a std of
 * about 0.2; at L = 3 (codes change only where |z| > 0.69 for iFSQ) nearly every latent is then the zero code, whole
 * images get an all-zero latent, the decoder's GroupNorms see constant inputs and multiply the gradient by 1/√ε = 1000
 * each: the gradient norm overflows and the clipped update is zero, so the run never trains (seen in the bits sweep).
 * The quick and paper-cpu presets set 5 (z starts near N(0, 1), the input scale α = 1.6 is designed for), so one
 * tokenizer family serves every L of the bits sweep and notebooks 02–07 (bits/grid.ts).
 */
import { z } from "zod";
import type { TokenizerArch } from "../../models/tokenizer";
import { checkLevels, type Bound } from "../../quant/bounds";
import { TrainConfigSchema, defineConfig, resolveConfig, type ConfigDef, type ResolveOptions } from "../../train/config";

const TokenizerConfigBase = TrainConfigSchema.extend({
  channels: z.array(z.int().positive()).min(1).default([16, 32, 32]).describe("width per resolution level; f = 2^(len−1) (paper [128,128,256,512,512])"),
  resBlocks: z.int().min(0).default(1).describe("ResnetBlocks per encoder level; the decoder has one more per level (paper 2)"),
  midBlocks: z.int().min(0).default(1).describe("ResnetBlocks in the middle of encoder and decoder (paper 2)"),
  levels: z.array(z.int().min(2)).min(1).default([17, 17, 17, 17]).describe("FSQ levels per latent channel; d = len (paper [17,17,17,17] = 4 bits); odd for ifsq"),
  bound: z.enum(["tanh", "ifsq"]).default("ifsq").describe('"tanh" = original FSQ bound, "ifsq" = 2σ(α z) − 1'),
  alpha: z.number().positive().default(1.6).describe("iFSQ slope α (ignored by tanh)"),
  normGroups: z.int().positive().default(8).describe("GroupNorm groups (paper 32; must divide every width)"),
  hflip: z.boolean().optional().describe("random horizontal flips of the training images (official code: on); absent = off, as in the three presets"),
  latentInitGain: z.number().positive().optional().describe("scale of the initial weights of quant_conv, the layer that makes z (absent = 1: z starts with std ≈ 0.2); the bits sweep sets 5 so z starts near N(0, 1), the scale α = 1.6 is designed for, and L = 3 does not start with all-zero codes"),
  trainLimit: z.int().min(0).default(0).describe("use only the first N training images (0 = all 60 000)"),
  evalLimit: z.int().positive().default(1000).describe("test images used by the in-run evaluation"),
});

/** The quantizer bound of a tokenizer config. */
export function boundOf(cfg: { bound: "tanh" | "ifsq"; alpha: number }): Bound {
  return cfg.bound === "ifsq" ? { kind: "ifsq", alpha: cfg.alpha } : { kind: "tanh" };
}

export const TokenizerConfigSchema = TokenizerConfigBase.superRefine((cfg, ctx) => {
  try {
    checkLevels(cfg.levels, boundOf(cfg));
  } catch (e) {
    ctx.addIssue({ code: "custom", path: ["levels"], message: (e as Error).message });
  }
}).overwrite((cfg) => {
  // values that mean "as before the option existed" are stored as absent keys, so they name the same run
  let out = cfg;
  if (out.hflip === false) {
    const { hflip: _off, ...rest } = out;
    out = rest;
  }
  if (out.latentInitGain === 1) {
    const { latentInitGain: _one, ...rest } = out;
    out = rest;
  }
  return out;
});
export type TokenizerConfig = z.output<typeof TokenizerConfigSchema>;

/**
 * Presets. Measured on the 2-core project machine, wasm (see the closing notes of issue 4 for the numbers):
 *   tiny: seconds (tests, CI notebooks); quick: minutes; paper-cpu: hours.
 * lr 2e-3 with warm-up + cosine is a small-model, short-run choice (the paper uses 1e-4 constant at batch 128 for
 * 100 ImageNet epochs); EMA decays are shortened for the same reason (the EMA starts at the initial weights).
 * No horizontal flips (see the file comment).
 */
export const tokenizerConfig: ConfigDef<typeof TokenizerConfigSchema> = defineConfig({
  name: "tokenizer",
  schema: TokenizerConfigSchema,
  presets: {
    tiny: { channels: [8, 16, 16], resBlocks: 1, midBlocks: 1, steps: 40, batchSize: 16, lr: 3e-3, warmupSteps: 5, trainLimit: 2048, evalLimit: 256, logEvery: 5, ckptEvery: 0, emaDecay: 0 },
    quick: {
      channels: [8, 16, 32],
      resBlocks: 1,
      midBlocks: 1,
      steps: 800,
      batchSize: 32,
      lr: 2e-3,
      warmupSteps: 40,
      schedule: "cosine",
      logEvery: 20,
      ckptEvery: 200,
      evalLimit: 2000,
      emaDecay: 0.99,
      latentInitGain: 5,
    },
    "paper-cpu": {
      channels: [16, 32, 32],
      resBlocks: 1,
      midBlocks: 2,
      steps: 3000,
      batchSize: 64,
      lr: 1e-3,
      warmupSteps: 100,
      schedule: "cosine",
      logEvery: 50,
      evalEvery: 1000,
      ckptEvery: 250,
      evalLimit: 10000,
      emaDecay: 0.999,
      latentInitGain: 5,
    },
  },
});

/** Resolves a tokenizer config (preset default: $IFSQ_PRESET, else "quick"). */
export function resolveTokenizerConfig(opts: ResolveOptions<typeof TokenizerConfigSchema> = {}): TokenizerConfig {
  return resolveConfig(tokenizerConfig, opts);
}

/** The model architecture a config describes (d = levels.length; 32×32×1 Fashion-MNIST images). */
export function tokenizerArch(cfg: TokenizerConfig): TokenizerArch {
  return {
    imageSize: 32,
    inChannels: 1,
    channels: [...cfg.channels],
    resBlocks: cfg.resBlocks,
    midBlocks: cfg.midBlocks,
    latentDim: cfg.levels.length,
    levels: [...cfg.levels],
    bound: boundOf(cfg),
    normGroups: cfg.normGroups,
    normEps: 1e-6,
    ...(cfg.latentInitGain !== undefined ? { latentInitGain: cfg.latentInitGain } : {}),
  };
}
