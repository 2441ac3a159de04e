/**
 * What every generator config (AR, DiT, and later their REPA variants) shares: the tokenizer it is trained on and the
 * in-run gFID settings. One tokenizer for both generators is the paper's controlled benchmark, so a generator config
 * holds the tokenizer's full resolved config and, filled in when it is resolved, the tokenizer's run id
 * (`tokenizer-<hash12>`) and full config hash; both enter the generator's own hash, and a stale or hand-set value that
 * disagrees with `tokenizer` is an error.
 */
import { z } from "zod";
import { configHash, defineConfig, presetConfig, PRESET_NAMES, type AnyObjectSchema, type ConfigDef, type DeepPartial, type PresetName } from "../train/config";
import { runId } from "../train/run";
import { TokenizerConfigSchema, tokenizerConfig, type TokenizerConfig } from "./tokenizer/config";
import { RepaConfigSchema } from "./repa-training/config";

/** Zod fields shared by the generator configs; spread into `TrainConfigSchema.extend({...})`. */
export const generatorConfigFields = {
  tokenizer: TokenizerConfigSchema.describe("the tokenizer's full config (default: the tokenizer preset of the same name); set keys with tokenizer.<key>=…"),
  tokenizerRun: z.string().default("").describe("run id of the tokenizer, filled in from `tokenizer` (a different value is an error)"),
  tokenizerHash: z.string().default("").describe("config hash of the tokenizer, filled in from `tokenizer` (a different value is an error)"),
  labelDropout: z.number().min(0).max(1).default(0.1).describe("class → null with this probability (classifier-free guidance; paper 0.1)"),
  trainLimit: z.int().min(0).default(0).describe("use only the first N training images (0 = all 60 000)"),
  evalSamples: z.int().min(0).default(1000).describe("samples for the gFID of each evaluation (0 = no evaluation)"),
  featureNet: z.enum(["tiny", "full"]).default("full").describe('feature network of gFID ("tiny" is a test-only stand-in)'),
  evalGuidedScale: z.number().optional().describe("also log an in-run gFID with CFG at this scale (gfidGuided); absent = none"),
  evalGuidedAt: z.array(z.int().positive()).optional().describe("log gfidGuided only at the evaluations after exactly these completed steps; absent = at every evaluation"),
  evalGridPerClass: z.int().positive().optional().describe("at each in-run evaluation store this many samples per class in <run>/samples/ (then the in-run samples are class-balanced with the same noise at every step, and the snapshot is their first k·C); absent = none"),
  repa: RepaConfigSchema.optional().describe("REPA: align the hidden state after block ℓ to a teacher's patch features (absent = off; repa-training/config.ts)"),
};

interface TokenizerRef {
  tokenizer: TokenizerConfig;
  tokenizerRun: string;
  tokenizerHash: string;
}

/** Returns a zod `overwrite` step for `kind`'s config that fills in and checks tokenizerRun / tokenizerHash. */
export function withTokenizerRef<C extends TokenizerRef>(kind: string): (cfg: C) => C {
  return (cfg) => {
    const run = runId("tokenizer", cfg.tokenizer);
    const hash = configHash(cfg.tokenizer);
    if (cfg.tokenizerRun !== "" && cfg.tokenizerRun !== run) {
      throw new Error(`${kind} config: tokenizerRun=${JSON.stringify(cfg.tokenizerRun)} does not match the tokenizer config, whose run is "${run}"; set tokenizer.<key> instead of the id (or leave tokenizerRun empty)`);
    }
    if (cfg.tokenizerHash !== "" && cfg.tokenizerHash !== hash) {
      throw new Error(`${kind} config: tokenizerHash=${cfg.tokenizerHash.slice(0, 12)}… does not match the tokenizer config's hash ${hash.slice(0, 12)}…; leave tokenizerHash empty to fill it in`);
    }
    return { ...cfg, tokenizerRun: run, tokenizerHash: hash };
  };
}

/** The tokenizer preset of the same name: a generator's `quick` preset trains on the `quick` tokenizer. */
export function tokenizerPreset(preset: PresetName): TokenizerConfig {
  return presetConfig(tokenizerConfig, preset);
}

/**
 * The preset values both generators share: the tokenizer preset of the same name, width, depth, heads, batch, peak
 * lr, β₂, logging and gFID sample counts. So at each preset the AR model and the DiT are compared on the same
 * tokenizer at the same width, batch and learning rate; each kind's presets add only what differs (steps, warm-up,
 * EMA, evaluation cadence, its own keys).
 */
export function generatorPresetBase(preset: PresetName) {
  const common = { tokenizer: tokenizerPreset(preset), beta2: 0.95 };
  switch (preset) {
    case "tiny":
      return { ...common, dim: 32, depth: 2, heads: 2, batchSize: 16, lr: 3e-3, trainLimit: 2048, logEvery: 5, evalSamples: 0, sampleBatch: 64, featureNet: "tiny" as const };
    case "quick":
      return { ...common, dim: 128, depth: 4, heads: 4, batchSize: 32, lr: 1e-3, schedule: "cosine" as const, logEvery: 10, evalSamples: 500, featureNet: "full" as const };
    case "paper-cpu":
      return { ...common, dim: 192, depth: 6, heads: 6, batchSize: 64, lr: 6e-4, schedule: "cosine" as const, logEvery: 25, evalSamples: 2000, featureNet: "full" as const };
  }
}

/**
 * A generator kind's config: its schema with the tokenizer reference filled in and checked on resolve
 * (`withTokenizerRef`), and its presets as `generatorPresetBase(p)` plus the kind's own values `own[p]`.
 */
export function defineGeneratorConfig<S extends AnyObjectSchema>(name: string, base: S, own: Record<PresetName, DeepPartial<z.input<S>>>): ConfigDef<S> {
  const schema = base.overwrite(withTokenizerRef(name) as unknown as (cfg: z.output<S>) => z.output<S>) as S;
  const presets = {} as Record<PresetName, DeepPartial<z.input<S>>>;
  for (const p of PRESET_NAMES) presets[p] = { ...generatorPresetBase(p), ...own[p] } as DeepPartial<z.input<S>>;
  return defineConfig({ name, schema, presets });
}
