/**
 * The `dit` kind's config: a DiT trained by flow matching on a tokenizer run's quantized latents; schema and presets
 * as plain data, and the model architecture a config describes.
 *
 *   npm run train -- dit --preset quick [--set tokenizer.bound=tanh] [--set dim=192 …]
 *
 * The tokenizer: as for the AR model (../ar/config.ts), the config holds the tokenizer's full resolved config (the
 * preset of the same name by default, so `quick` → the quick iFSQ tokenizer the AR model uses), and its run id
 * `tokenizerRun` and hash `tokenizerHash` are filled in when the config is resolved; both are part of the hash.
 *
 * Deviations from the official code (paper-spec §6), by scale: no data augmentation (latents are pre-extracted), no
 * REPA yet (the model exposes the hidden states after block ℓ for it), gradient clipping at 1 (the paper has none),
 * short EMA and a cosine lr schedule for short runs (paper: lr 2e-4 constant, EMA 0.9999, 100k steps at batch 1024),
 * Euler with 50 steps by default (paper 250), CFG on all channels when it is used (the official code guides 3 of 4;
 * option `guidedChannels: 3`). And one of design, documented: the final layer's RMSNorm has no learnable gain g,
 * where the official one has. It is followed by the adaLN modulation x ↦ x ⊙ (1 + scale(c)) + shift(c) with
 * scale(c) = W·c + b, and g ⊙ (1 + W·c + b) = 1 + (g ⊙ W)·c + (g ⊙ (1 + b) − 1) is again of that form, so the gain
 * adds no function the layer cannot already express (only another parameterisation of it). Adding it would also add
 * a parameter that finished runs' checkpoints lack.
 */
import { z } from "zod";
import type { DiTArch } from "../../models/dit";
import { DEFAULT_EULER_STEPS } from "../../flow/euler";
import { TrainConfigSchema, resolveConfig, type ConfigDef, type ResolveOptions } from "../../train/config";
import { generatorConfigFields, defineGeneratorConfig } from "../generator-config";

const DiTConfigBase = TrainConfigSchema.extend({
  ...generatorConfigFields,
  dim: z.int().positive().default(128).describe("transformer width D (paper DiT-L: 1024)"),
  depth: z.int().positive().default(4).describe("blocks (paper 24)"),
  heads: z.int().positive().default(4).describe("attention heads; D/heads must be a multiple of 4 (paper 16)"),
  mlpHidden: z.int().min(0).default(0).describe("SwiGLU hidden width; 0 = ⌊2/3·4D⌋ (paper 2730)"),
  freqDim: z.int().positive().default(256).describe("width of the timestep sinusoid (paper 256)"),
  absPosEmbed: z.boolean().default(true).describe("add the fixed 2-D sin-cos position embedding on top of RoPE (as the official DiT)"),
  cosineWeight: z.number().min(0).default(1).describe("weight of the cosine term added to the velocity MSE (paper 1; 0 = plain MSE)"),
  timeDist: z.enum(["logit-normal", "uniform"]).default("logit-normal").describe("training-time distribution (paper: logit-normal, μ 0, s 1)"),
  timeMean: z.number().default(0).describe("μ of the logit-normal"),
  timeStd: z.number().positive().default(1).describe("s of the logit-normal"),
  latentMultiplier: z.number().min(0).default(0).describe("x₁ = codes·m; 0 = m = 1/std of the training latents (paper: 1.092421, also 1/std)"),
  evalSteps: z.int().positive().default(DEFAULT_EULER_STEPS).describe("Euler steps of the in-run samples (paper 250)"),
  evalCfgScale: z.number().default(1).describe("CFG scale of the in-run gFID (paper: 1.0, no guidance)"),
  guidedChannels: z.int().min(0).default(0).describe("channels CFG guides; 0 = all (our choice), 3 = the official code's quirk"),
  sampleBatch: z.int().positive().default(250).describe("samples integrated together"),
});

/** The model architecture of a config on a g×g×C latent grid with K classes. */
export function ditArch(cfg: DiTConfig, grid: number, channels: number, numClasses: number): DiTArch {
  return {
    gridSize: grid,
    channels,
    dim: cfg.dim,
    depth: cfg.depth,
    heads: cfg.heads,
    mlpHidden: cfg.mlpHidden > 0 ? cfg.mlpHidden : undefined,
    numClasses,
    freqDim: cfg.freqDim,
    absPosEmbed: cfg.absPosEmbed,
    ropeBase: 10000,
    normEps: 1e-6,
  };
}

/**
 * Presets (wasm, 2 shared cores): tiny = seconds (tests, CI notebook), quick ≈ 10 min, paper-cpu = about an hour.
 * Each uses the tokenizer preset of the same name; widths, depths, batch, steps, lr schedule and EMA match the AR
 * presets so the two generators are compared at equal budgets.
 */
export const ditConfig: ConfigDef<typeof DiTConfigBase> = defineGeneratorConfig("dit", DiTConfigBase, {
  tiny: { steps: 40, warmupSteps: 5, evalSteps: 10 },
  quick: { steps: 500, warmupSteps: 50, emaDecay: 0.99, evalEvery: 250, ckptEvery: 250, evalSteps: 25 },
  "paper-cpu": { steps: 3000, warmupSteps: 200, emaDecay: 0.999, evalEvery: 500, ckptEvery: 250, evalSteps: 50 },
});

/** The schema of a resolved dit config (the tokenizer reference is filled in when it is resolved). */
export const DiTConfigSchema = ditConfig.schema;
export type DiTConfig = z.output<typeof DiTConfigSchema>;

/** Resolves a DiT config (preset default: $IFSQ_PRESET, else "quick"). */
export function resolveDiTConfig(opts: ResolveOptions<typeof DiTConfigSchema> = {}): DiTConfig {
  return resolveConfig(ditConfig, opts);
}
