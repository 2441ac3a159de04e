/**
 * The paper's training compute at the last point of its AR-vs-diffusion compute figure (paper-spec §9, E1), and the
 * "orders of magnitude below the paper" sentence every generator notebook computes from its run's FLOPs.
 *
 *   LlamaGen-L: 20 × 1.085e9 GFLOPs;  DiT-L: 10 × 1.65e9 GFLOPs   (1 GFLOP = 1e9 FLOPs)
 *   orders = round(log₁₀(paper / ours))
 */
export const PAPER_TRAIN_FLOPS = {
  ar: 20 * 1.085e9 * 1e9,
  dit: 10 * 1.65e9 * 1e9,
} as const;

export const PAPER_MODEL_NAME = { ar: "LlamaGen-L", dit: "DiT-L" } as const;

/** Whole orders of magnitude between our training FLOPs and the paper's (rounded). */
export function ordersBelowPaper(ourFlops: number, kind: keyof typeof PAPER_TRAIN_FLOPS): number {
  if (!(ourFlops > 0)) throw new Error(`ordersBelowPaper: ourFlops=${ourFlops}; expected a positive FLOP count`);
  return Math.round(Math.log10(PAPER_TRAIN_FLOPS[kind] / ourFlops));
}

/** "about N orders of magnitude below the paper's LlamaGen-L (≈ 2.17e+19 FLOPs)". */
export function paperScaleText(ourFlops: number, kind: keyof typeof PAPER_TRAIN_FLOPS): string {
  const n = ordersBelowPaper(ourFlops, kind);
  return `about ${n} order${n === 1 ? "" : "s"} of magnitude below the paper's ${PAPER_MODEL_NAME[kind]} (≈ ${PAPER_TRAIN_FLOPS[kind].toExponential(2)} FLOPs, spec §9 E1)`;
}

/** "one" … "ten" for small counts in prose, digits beyond. */
export function countWord(n: number): string {
  return ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"][n] ?? String(n);
}
