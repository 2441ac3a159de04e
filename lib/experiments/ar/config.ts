/**
 * The `ar` kind's config: LlamaGen on a tokenizer run's tokens; schema and presets as plain data, and the model
 * architecture a config describes.
 *
 *   npm run train -- ar --preset quick [--set tokenizer.bound=tanh] [--set tokens=single …]
 *
 * The tokenizer. The AR config holds the tokenizer's full resolved config (`tokenizer`, by default the preset of
 * the same name: `quick` → the quick iFSQ tokenizer) and, filled in when the config is resolved, its run id
 * `tokenizerRun` (`tokenizer-<hash12>`, the run folder) and full `tokenizerHash` (generator-config.ts). Both are part
 * of the AR config's hash, so an AR run is tied to exactly one tokenizer run; a DiT run that records the same
 * `tokenizerHash` uses the same tokenizer.
 *
 * Deviations from the official code (paper-spec §5), by scale: no data augmentation (tokens are pre-extracted once
 * per tokenizer run), AdamW decays only rank ≥ 2 tensors (the paper decays all), EMA decay and learning-rate schedule
 * shortened for short runs. And one of design, documented: the factorized head's sub-token blocks use no position
 * encoding, where the official factorized head applies a slice of the trunk's RoPE table inside them (found by a
 * review of the official code). That sequence is [h_i, E₀[s_{i,0}], …] of G ≤ 4 slots under a causal mask; each slot already differs by its
 * input (the trunk state, then a different embedding table per sub-token) and the mask lets a block count its
 * position, while the rotations of grid cells 0…G−1 would tell it "row 0, column g", which is not what a sub-token
 * slot is. Adding them would change the forward pass, so finished runs would no longer match their weights.
 */
import { z } from "zod";
import type { LlamaGenArch, TokenLayout } from "../../models/llamagen";
import { TrainConfigSchema, resolveConfig, type ConfigDef, type ResolveOptions } from "../../train/config";
import { generatorConfigFields, defineGeneratorConfig } from "../generator-config";

const ArConfigBase = TrainConfigSchema.extend({
  ...generatorConfigFields,
  tokens: z.enum(["factorized", "single"]).default("factorized").describe('"factorized": one sub-token per channel group (paper f2x2 variant); "single": one index per position (small codebooks)'),
  channelsPerGroup: z.int().positive().default(1).describe("latent channels per sub-token (factorized); 1 = one sub-token per latent dim with L values"),
  dim: z.int().positive().default(128).describe("transformer width D (paper LlamaGen-L: 1024)"),
  depth: z.int().positive().default(4).describe("trunk blocks (paper 24)"),
  heads: z.int().positive().default(4).describe("attention heads; D/heads must be a multiple of 4 (paper 16)"),
  headDepth: z.int().positive().default(1).describe("blocks of the intra-position head over a position's sub-tokens (paper f2x2: 2)"),
  headMlpHidden: z.int().min(0).default(0).describe("SwiGLU hidden width of the intra-position head; 0 = the trunk's (paper)"),
  mlpHidden: z.int().min(0).default(0).describe("SwiGLU hidden width; 0 = ⌈2/3·4D⌉ rounded up to a multiple of 64"),
  clsRope: z.enum(["zero", "identity"]).default("zero").describe('RoPE of the class position: "zero" = official quirk (q, k zeroed), "identity" = unrotated'),
  tokenDropout: z.number().min(0).lt(1).default(0.1).describe("elementwise dropout on the input embeddings (paper 0.1)"),
  residDropout: z.number().min(0).lt(1).default(0.1).describe("dropout on the attention and MLP outputs (paper 0.1)"),
  evalCfgScale: z.number().default(1).describe("CFG scale of the in-run gFID (paper online eval: 1.0; final: 2.0)"),
  evalTemperature: z.number().min(0).default(1).describe("temperature of the in-run samples"),
  evalTopK: z.int().min(0).default(0).describe("top-k of the in-run samples (0 = off)"),
  evalTopP: z.number().gt(0).max(1).default(1).describe("top-p of the in-run samples (1 = off)"),
  sampleBatch: z.int().positive().default(250).describe("sequences generated together"),
});

/**
 * Presets (wasm, 2 shared cores): tiny = seconds (tests, CI notebook), quick ≈ 10 min, paper-cpu = about an hour.
 * Each uses the tokenizer preset of the same name. Widths and batch match the DiT presets; a factorized AR step costs
 * about twice a DiT step of the same width (the intra-position head runs on T·G slots: 21.9 vs ≈ 11 GFLOP at D = 128,
 * batch 32), so the AR presets take half the DiT's steps and the two generators get about equal training FLOPs.
 * lr warm-up + cosine and short EMA decays suit short runs (paper: lr 1e-4 constant, EMA 0.9999, 500k steps, batch 256).
 */
export const arConfig: ConfigDef<typeof ArConfigBase> = defineGeneratorConfig("ar", ArConfigBase, {
  tiny: { headDepth: 1, steps: 40, warmupSteps: 5, weightDecay: 0.05, tokenDropout: 0, residDropout: 0 },
  quick: { headDepth: 1, steps: 250, warmupSteps: 25, weightDecay: 0.05, emaDecay: 0.98, residDropout: 0, evalEvery: 125, ckptEvery: 125 },
  "paper-cpu": { headDepth: 2, steps: 1500, warmupSteps: 100, weightDecay: 0.05, emaDecay: 0.995, evalEvery: 250, ckptEvery: 250 },
});

/** The schema of a resolved ar config (the tokenizer reference is filled in when it is resolved). */
export const ArConfigSchema = arConfig.schema;
export type ArConfig = z.output<typeof ArConfigSchema>;

/** Resolves an AR config (preset default: $IFSQ_PRESET, else "quick"). */
export function resolveArConfig(opts: ResolveOptions<typeof ArConfigSchema> = {}): ArConfig {
  return resolveConfig(arConfig, opts);
}

/** The model architecture of a config for a token layout (vocabularies from the tokenizer) and C classes. */
export function llamaGenArch(cfg: ArConfig, layout: Pick<TokenLayout, "groupSizes">, grid: number, numClasses: number): LlamaGenArch {
  return {
    dim: cfg.dim,
    depth: cfg.depth,
    heads: cfg.heads,
    mlpHidden: cfg.mlpHidden > 0 ? cfg.mlpHidden : undefined,
    headDepth: cfg.headDepth,
    headMlpHidden: cfg.headMlpHidden > 0 ? cfg.headMlpHidden : undefined,
    gridH: grid,
    gridW: grid,
    numClasses,
    groupSizes: [...layout.groupSizes],
    clsRope: cfg.clsRope,
  };
}
