/**
 * Notebook 02's results file (reference-results.ts): per bound (FSQ tanh, iFSQ), the mean over seeds and the seed
 * range (max − min) of PSNR, SSIM, rFID, the bits per channel used (utilisation × log₂ L), the code perplexity and
 * the end-code mass; and iFSQ − FSQ for PSNR and bits, with the larger seed range as spread (verdict.ts's rule).
 *
 *   writeResults(binHistogramResults(cmp));
 */
import { seedQuantity, type Quantity, type ResultsInput } from "../reference-results";
import { compareSeeds } from "../seed-spread";
import type { ComparedRun, TokenizerComparison } from "./comparison";
import { COMPARED_BOUNDS } from "./grid";

export const BIN_HISTOGRAMS_NOTEBOOK = "02-bin-histograms";

const NAME = { tanh: "FSQ", ifsq: "iFSQ" } as const;

/** The results record of notebook 02 from its comparison. */
export function binHistogramResults(cmp: TokenizerComparison): ResultsInput {
  const bits = (r: ComparedRun) => r.evaluation.row.utilisation * Math.log2(cmp.setup.levels[0]);
  const metrics: { key: string; unit?: string; direction?: "higher" | "lower"; of: (r: ComparedRun) => number }[] = [
    { key: "PSNR", unit: "dB", direction: "higher", of: (r) => r.evaluation.row.psnr },
    { key: "SSIM", direction: "higher", of: (r) => r.evaluation.row.ssim },
    { key: "rFID", direction: "lower", of: (r) => r.evaluation.row.rfid },
    { key: "bits per channel used", unit: "bits", direction: "higher", of: bits },
    { key: "code perplexity", direction: "higher", of: (r) => r.evaluation.row.perplexity },
    { key: "end-code mass", direction: "lower", of: (r) => r.evaluation.row.endBinMass },
  ];
  const q: Quantity[] = [];
  for (const m of metrics) {
    for (const b of COMPARED_BOUNDS) q.push(seedQuantity(`${NAME[b]} ${m.key}`, cmp.runs[b].map(m.of), { ...(m.unit ? { unit: m.unit } : {}), ...(m.direction ? { direction: m.direction } : {}) }));
  }
  for (const m of [metrics[0], metrics[3]]) {
    const c = compareSeeds(cmp.runs.tanh.map(m.of), cmp.runs.ifsq.map(m.of), { higherIsBetter: true });
    q.push({ name: `iFSQ − FSQ ${m.key}`, value: c.delta, ...(c.spread !== null ? { spread: c.spread } : {}), ...(m.unit ? { unit: m.unit } : {}), direction: "higher" });
  }
  return { notebook: BIN_HISTOGRAMS_NOTEBOOK, preset: cmp.setup.preset, quantities: q };
}
