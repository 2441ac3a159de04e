/**
 * Notebook 01's parameters (schema + presets as plain data). Model (paper-spec §3.3): one pre-activation channel
 * x ~ N(0, σ²), bounded by tanh (FSQ, ε = 1e-3 as in the code) or by 2·sigmoid(αx) − 1 (iFSQ), rounded to L levels.
 *
 *   const cfg = resolveConfig(activationCollapseConfig, { overrides: { levels: 17 } });  // preset from $IFSQ_PRESET
 */
import { z } from "zod";
import { defineConfig, type ConfigDef } from "../../train/config";
import { checkLevel } from "../../quant/bounds";

/** A level count both bounds are compared at: the ifsq bound's rule (quant/bounds.ts `checkLevel`: odd), and ≥ 3. */
const odd = z.int().min(3).superRefine((L, ctx) => {
  try {
    checkLevel(L, "ifsq");
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `${(e as Error).message} (both bounds are compared on the same grid)` });
  }
});

export const ActivationCollapseSchema = z.object({
  levels: odd.default(17).describe("L for the main analysis (paper: 17 = 4 bits)"),
  occupancyLevels: z.array(odd).min(1).default([5, 9, 17]).describe("L values whose bin occupancy is compared"),
  sigma: z.number().positive().default(1).describe("pre-activation std σ for the densities, occupancy and Monte Carlo (the N(0,1) model)"),
  sigmaRange: z.array(z.number().positive()).length(2).default([0.25, 3]).describe("σ range of the entropy / end-bin sweep"),
  sigmaSteps: z.int().min(3).default(56).describe("points in the σ sweep"),
  alpha: z.number().positive().default(1.6).describe("iFSQ slope α (paper 1.6)"),
  alphaRange: z.array(z.number().positive()).length(2).default([1, 2.5]).describe("α range of the sweep"),
  alphaSteps: z.int().min(3).default(61).describe("points in the α sweep"),
  mcSamples: z.int().positive().default(2_000_000).describe("Monte-Carlo samples per bound through FSQ.quantize"),
  gradPoints: z.int().min(3).default(401).describe("z points of the straight-through gradient curve"),
  seed: z.int().min(0).default(0).describe("seed of the Monte-Carlo draw"),
});
export type ActivationCollapseConfig = z.output<typeof ActivationCollapseSchema>;

export const activationCollapseConfig: ConfigDef<typeof ActivationCollapseSchema> = defineConfig({
  name: "activation-collapse",
  schema: ActivationCollapseSchema,
  presets: {
    tiny: { mcSamples: 100_000, sigmaSteps: 12, alphaSteps: 16, gradPoints: 81 },
    quick: {},
    "paper-cpu": { mcSamples: 10_000_000, sigmaSteps: 111, alphaSteps: 151 },
  },
});
