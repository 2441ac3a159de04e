/**
 * The paper's AR-vs-diffusion compute figure, digitised (paper-spec §9 E1): FID against training GFLOPs for DiT-L and
 * LlamaGen-L on the iFSQ 4-bit tokenizer, and the crossover star. For the shape comparison each curve's compute is
 * normalised to its own budget (its last point, = PAPER_TRAIN_FLOPS of paper-compute.ts):
 *
 *   DiT:      x = k · 1.65e9 GFLOPs, k = 1 … 10
 *   LlamaGen: x = k · 1.085e9 GFLOPs, k = 1 … 5, 7 … 20 (k = 6 was not recovered)
 *   crossover ≈ 6.1e9 GFLOPs at FID ≈ 35.6 (≈ 37 % of the DiT budget, ≈ 28 % of the AR budget; spec §10 claim 5)
 */
import { PAPER_TRAIN_FLOPS } from "../paper-compute";
import type { CurvePoint } from "./crossover";

const GFLOP = 1e9;

const DIT_FID = [259.8, 132.9, 49.1, 29.6, 24.4, 21.2, 19.6, 18.5, 18.0, 17.4];
const AR_K = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
const AR_FID = [68.2, 46.8, 40.7, 37.3, 35.4, 32.4, 32.4, 31.3, 30.5, 29.7, 29.2, 29.7, 29.2, 28.6, 28.4, 28.6, 28.1, 28.4, 28.1];

/** The digitised curves in FLOPs (x) and FID (y). */
export const PAPER_CURVES: Readonly<Record<"ar" | "dit", readonly CurvePoint[]>> = {
  dit: DIT_FID.map((y, i) => ({ x: (i + 1) * 1.65e9 * GFLOP, y })),
  ar: AR_K.map((k, i) => ({ x: k * 1.085e9 * GFLOP, y: AR_FID[i] })),
};

/** The crossover star of the figure. */
export const PAPER_CROSSOVER = { x: 6.1e9 * GFLOP, y: 35.6 } as const;

/** A curve with its compute as a fraction of `budget` FLOPs. */
export function normaliseCompute(curve: readonly CurvePoint[], budget: number): CurvePoint[] {
  if (!(budget > 0)) throw new Error(`normaliseCompute: budget=${budget}; expected positive FLOPs`);
  return curve.map((p) => ({ x: p.x / budget, y: p.y }));
}

/** Each paper curve's budget (its last point), the same as paper-compute.ts's PAPER_TRAIN_FLOPS. */
export const PAPER_BUDGET = PAPER_TRAIN_FLOPS;
