/**
 * Notebook 02's verdict: does iFSQ beat FSQ (tanh) at this preset? Every metric is compared across seeds
 * (experiments/seed-spread.ts): a difference of the means counts only when it exceeds the measured seed spread.
 *
 *   table(tokenizerVerdictRows(cmp)); markdown(tokenizerConclusion(cmp));
 *
 * Overall: "yes" when iFSQ is better on reconstruction (PSNR) and on per-channel bin utilisation, "partly" when on
 * one and within the spread on the other, "no clear advantage" when both are within the spread.
 */
import { codeProbabilities } from "../../quant/collapse";
import { compareSeeds, deltaText, verdictPhrase, type SeedComparison } from "../seed-spread";
import { runTotals } from "../run-summary";
import { checkComparableFids } from "../../eval/fid-manifest";
import { boundOf, boundStyle, meanPreStd } from "./bin-histograms";
import type { ComparedRun, TokenizerComparison } from "./comparison";
import type { ComparedBound } from "./grid";

interface MetricDef {
  label: string;
  higherIsBetter: boolean;
  digits: number;
  unit?: string;
  of: (r: ComparedRun) => number;
}

export const TOKENIZER_METRICS: Record<"psnr" | "ssim" | "rfid" | "utilisation" | "perplexity" | "endBinMass", MetricDef> = {
  psnr: { label: "PSNR (dB)", higherIsBetter: true, digits: 2, unit: " dB", of: (r) => r.evaluation.row.psnr },
  ssim: { label: "SSIM", higherIsBetter: true, digits: 3, of: (r) => r.evaluation.row.ssim },
  rfid: { label: "rFID", higherIsBetter: false, digits: 2, of: (r) => r.evaluation.row.rfid },
  utilisation: { label: "utilisation (H/log₂L)", higherIsBetter: true, digits: 4, of: (r) => r.evaluation.row.utilisation },
  perplexity: { label: "code perplexity", higherIsBetter: true, digits: 0, of: (r) => r.evaluation.row.perplexity },
  endBinMass: { label: "end-code mass", higherIsBetter: false, digits: 4, of: (r) => r.evaluation.row.endBinMass },
};
type MetricKey = keyof typeof TOKENIZER_METRICS;

/** iFSQ against FSQ on one metric, over the seeds of the comparison. */
export function compareMetric(cmp: TokenizerComparison, key: MetricKey): SeedComparison {
  const m = TOKENIZER_METRICS[key];
  if (key === "rfid") {
    const all = [...cmp.runs.tanh, ...cmp.runs.ifsq];
    checkComparableFids(all.map((r) => ({ label: `${r.bound} seed ${r.seed}`, manifest: r.evaluation.rfidManifest })), { what: "tokenizer verdict: rFID of FSQ vs iFSQ" });
  }
  return compareSeeds(cmp.runs.tanh.map(m.of), cmp.runs.ifsq.map(m.of), { higherIsBetter: m.higherIsBetter });
}

/** One row per metric: both means, Δ = iFSQ − FSQ, the seed spread and the verdict for iFSQ. */
export function tokenizerVerdictRows(cmp: TokenizerComparison): Record<string, string | number>[] {
  return (Object.keys(TOKENIZER_METRICS) as MetricKey[]).map((k) => {
    const c = compareMetric(cmp, k);
    return {
      metric: TOKENIZER_METRICS[k].label,
      [`${boundStyle(cmp, "tanh").name} (mean)`]: c.a.mean,
      [`${boundStyle(cmp, "ifsq").name} (mean)`]: c.b.mean,
      "Δ (iFSQ − FSQ)": c.delta,
      "seed spread": c.spread === null ? "unmeasured" : c.spread,
      "iFSQ is": c.verdict,
    };
  });
}

/** Overall sentence from the PSNR and utilisation verdicts. */
export function overallVerdict(psnr: SeedComparison, util: SeedComparison): string {
  if (psnr.verdict === "unmeasured" || util.verdict === "unmeasured") {
    return "**No verdict:** each bound has a single seed, so the seed spread is unmeasured and no difference can be called real; train at least two seeds (the `seeds` parameter).";
  }
  const wins = [psnr, util].filter((c) => c.verdict === "better").length;
  const lost = [psnr, util].filter((c) => c.verdict === "worse").length;
  if (wins === 2) return "**Yes: iFSQ's advantage shows at this scale** (better reconstruction *and* better per-channel bin utilisation, both beyond the seed spread).";
  if (wins === 1 && lost === 0) {
    const [won, same] = psnr.verdict === "better" ? ["reconstruction", "per-channel bin utilisation"] : ["per-channel bin utilisation", "reconstruction"];
    return `**Partly:** iFSQ is better on ${won} (beyond the seed spread) and within the seed spread on ${same}.`;
  }
  if (wins === 0 && lost === 0) return "**No clear advantage at this scale:** both differences are within the seed spread.";
  if (wins > 0 && lost > 0) return "**Mixed:** iFSQ is better on one of reconstruction / bin utilisation and worse on the other, both beyond the seed spread.";
  return "**No: at this scale FSQ (tanh) does at least as well**, contrary to the paper's claim (differences beyond the seed spread).";
}

/** Mean over channels of the total-variation distance between measured code frequencies and a Gaussian-z fit. */
export function gaussianFitDistance(cmp: TokenizerComparison, r: ComparedRun): number {
  const s = r.evaluation.stats;
  let tv = 0;
  for (let j = 0; j < s.occupancyP.length; j++) {
    const fit = codeProbabilities(boundOf(cmp, r.bound), cmp.setup.levels[j], s.preStd[j], s.preMean[j]).probs;
    tv += 0.5 * fit.reduce((acc, p, k) => acc + Math.abs(p - s.occupancyP[j][k]), 0);
  }
  return tv / s.occupancyP.length;
}

const meanOf = (runs: ComparedRun[], f: (r: ComparedRun) => number) => runs.reduce((a, r) => a + f(r), 0) / runs.length;
const pct = (x: number) => `${(100 * x).toPrecision(2)}%`;

/** Relative tolerance under which the two encoders' effective input scales count as the same. */
export const SCALE_MATCH = 0.1;
/** Total-variation distance above which the code distribution is called far from the Gaussian model. */
export const GAUSSIAN_TV = 0.1;

/** The notebook's closing Markdown: every number and comparison computed from the runs. */
export function tokenizerConclusion(cmp: TokenizerComparison): string {
  const s = cmp.setup;
  const c = Object.fromEntries((Object.keys(TOKENIZER_METRICS) as MetricKey[]).map((k) => [k, compareMetric(cmp, k)])) as Record<MetricKey, SeedComparison>;
  const runs = (b: ComparedBound) => cmp.runs[b];
  const T = runs("tanh");
  const F = runs("ifsq");
  const cfg = F[0].config;
  const images = F[0].evaluation.row.images;
  const word = (k: MetricKey) => verdictPhrase(c[k].verdict);
  const mean = (k: MetricKey, b: ComparedBound) => (b === "tanh" ? c[k].a.mean : c[k].b.mean).toFixed(TOKENIZER_METRICS[k].digits);
  const maxH = Math.log2(s.levels[0]);
  const stdF = meanOf(F, meanPreStd);
  const stdT = meanOf(T, meanPreStd);
  const halfAlpha = s.alpha / 2;
  const scaled = halfAlpha * stdF;
  const sameScale = Math.abs(scaled - stdT) < SCALE_MATCH * stdT;
  const tvF = meanOf(F, (r) => gaussianFitDistance(cmp, r));
  const tvT = meanOf(T, (r) => gaussianFitDistance(cmp, r));
  const used = (rs: ComparedRun[]) => meanOf(rs, (r) => r.evaluation.stats.usedCodes).toFixed(0);
  const codebook = F[0].evaluation.stats.codebookSize;
  const positions = F[0].evaluation.stats.count;
  const seedsText = `${s.seeds.length} seed${s.seeds.length === 1 ? "" : "s"} per bound (${s.seeds.join(", ")})`;
  const pplNote =
    c.utilisation.verdict === "better" && c.perplexity.verdict === "worse" ? " The joint-code perplexity points the other way, so the utilisation gain is per channel only."
    : c.utilisation.verdict === "worse" && c.perplexity.verdict === "better" ? " The joint-code perplexity points the other way (higher for iFSQ)."
    : "";
  const spreadText = c.psnr.spread === null
    ? "The seed spread is unmeasured (one seed per bound)."
    : `Seed spread (largest max − min over the ${Math.min(c.psnr.a.n, c.psnr.b.n)} seeds of either bound): ${c.psnr.spread.toFixed(2)} dB PSNR, ${c.utilisation.spread!.toFixed(4)} utilisation, ${c.rfid.spread!.toFixed(2)} rFID; a difference of the means at or below it counts as "within the seed spread".`;
  return [
    `Same data order and budget for both bounds (${cfg.steps} steps × batch ${cfg.batchSize}, preset "${s.preset}", ${runTotals(F[0]).flops.toExponential(2)} training FLOPs per run), ${seedsText}, means over seeds on ${images} test images:`,
    "",
    `- **Reconstruction:** iFSQ reaches ${mean("psnr", "ifsq")} dB PSNR / SSIM ${mean("ssim", "ifsq")} vs FSQ's ${mean("psnr", "tanh")} dB / ${mean("ssim", "tanh")} ` +
      `(Δ PSNR ${deltaText(c.psnr, 2, " dB")}; Δ SSIM ${deltaText(c.ssim, 3)}): iFSQ is ${word("psnr")} FSQ.`,
    `- **rFID** (feature network ${cmp.featureNet}): iFSQ ${mean("rfid", "ifsq")} vs FSQ ${mean("rfid", "tanh")} (Δ ${deltaText(c.rfid, 2)}, lower is better): iFSQ is ${word("rfid")} FSQ.`,
    `- **Per-channel bin utilisation:** iFSQ uses ${(c.utilisation.b.mean * maxH).toFixed(3)} of ${maxH.toFixed(3)} bits per channel (${(100 * c.utilisation.b.mean).toFixed(1)}%), ` +
      `FSQ ${(c.utilisation.a.mean * maxH).toFixed(3)} (${(100 * c.utilisation.a.mean).toFixed(1)}%), Δ ${deltaText(c.utilisation, 4)}: iFSQ is ${word("utilisation")} FSQ. ` +
      `The two end codes hold ${pct(c.endBinMass.b.mean)} of the positions with iFSQ vs ${pct(c.endBinMass.a.mean)} with tanh.`,
    `- **Whole codebook:** code perplexity ${mean("perplexity", "ifsq")} (iFSQ) vs ${mean("perplexity", "tanh")} (FSQ), Δ ${deltaText(c.perplexity, 0)}: iFSQ is ${word("perplexity")} FSQ; ` +
      `${used(F)} vs ${used(T)} of ${codebook} codes seen in ${positions} test positions. Per-channel entropy ignores how the channels combine; perplexity counts the joint ${s.levels.length}-channel codes.`,
    `- **Pre-activation scale:** the encoders learned z with a mean std of ${stdF.toFixed(2)} (iFSQ) and ${stdT.toFixed(2)} (tanh). ` +
      `Since iFSQ ≡ tanh(${halfAlpha.toFixed(1)}·z), iFSQ's z in tanh units has std ${halfAlpha.toFixed(1)} × ${stdF.toFixed(2)} = ${scaled.toFixed(2)}, ` +
      `${sameScale ? `within ${100 * SCALE_MATCH}% of` : "clearly different from"} tanh's ${stdT.toFixed(2)}: ` +
      `${sameScale ? "the learnable conv before the bound compensates the flatter map, so both bounds see nearly the same effective input." : "the two encoders did not settle on the same effective input scale."}`,
    `- **Gaussian assumption:** the measured code distributions are at total-variation distance ${tvF.toFixed(3)} (iFSQ) and ${tvT.toFixed(3)} (tanh) ` +
      `from what a Gaussian z with each channel's mean and std would give (mean over channels and seeds; 0 = identical). ` +
      `${Math.max(tvF, tvT) > GAUSSIAN_TV ? "That is far from Gaussian (compare the bars with the curves above), so the Gaussian argument behind α = 1.6 does not describe these latents." : "So the Gaussian model of notebook 01 describes these latents reasonably well."}`,
    "",
    overallVerdict(c.psnr, c.utilisation) + pplNote,
    "",
    spreadText,
  ].join("\n");
}
