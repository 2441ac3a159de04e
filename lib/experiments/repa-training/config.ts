/**
 * The REPA settings of a generator config (AR or DiT): the optional `repa` key of both (generator-config.ts). Absent
 * = no REPA, so every config written before REPA existed keeps its hash and its run folder.
 *
 *   --set repa.depth=2 --set repa.weight=2 --set repa.teacher=quick      (or overrides { repa: { depth, weight, teacher } })
 *
 * Paper (spec §7): ℓ = 8 of 24 blocks (≈ depth/3) in both models, λ = 2.0 for LlamaGen and 0.5 for DiT, projector
 * 1024 → 2048 → 2048 → 768 (hidden = 2·D), DINOv2-B/14 patch tokens as targets.
 */
import { z } from "zod";
import { PRESET_NAMES } from "../../train/config";

export const RepaConfigSchema = z.strictObject({
  depth: z.int().positive().describe("ℓ: align the hidden state after block ℓ (1-indexed; paper 8 of 24)"),
  weight: z.number().positive().describe("λ: loss += λ·L_REPA (paper: 2.0 AR, 0.5 DiT)"),
  hidden: z.int().min(0).default(0).describe("projector hidden width H; 0 = 2·D (paper 2048 at D = 1024)"),
  teacher: z.enum(PRESET_NAMES).describe("preset of the teacher run (the `teacher` kind) whose patch features are the targets"),
});
export type RepaConfig = z.output<typeof RepaConfigSchema>;

/** The projector's hidden width of a config at model width D. */
export function repaHidden(repa: RepaConfig, dim: number): number {
  return repa.hidden > 0 ? repa.hidden : 2 * dim;
}
