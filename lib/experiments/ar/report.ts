/**
 * Notebook 03's sections, from a trained AR model and its gFID-vs-guidance evaluations: the run summary, the loss vs
 * FLOPs figure (with the per-sub-token cross-entropies and in-run gFIDs), the gFID/speed-vs-CFG figure and table, and
 * the computed conclusion (uniform-guessing NLL = Σ_g ln V_g, the scale below the paper).
 *
 *   show(arLossFigure(ar), { name: "03-loss-vs-flops" }); markdown(arConclusion(ar, evals, { backend: "wasm" }))
 */
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle } from "../../view/palette";
import { lossVsFlopsFigure } from "../loss-vs-flops";
import { gfidAndSpeedFigure } from "../gfid-and-speed";
import { evalRows, runSummary, runTotals, trainRows } from "../run-summary";
import { paperScaleText } from "../paper-compute";
import type { TrainedAr } from "./task";
import type { ArEvaluation } from "./evaluate";

/** Σ_g ln V_g: the per-position NLL (nats) of uniform guessing over the factorized sub-tokens. */
export function uniformNll(groupSizes: readonly number[]): number {
  return groupSizes.reduce((s, v) => s + Math.log(v), 0);
}

/** "4 ln 17 = 11.33" (equal groups) or "ln 17 + ln 9 = 5.03". */
export function uniformNllText(groupSizes: readonly number[]): string {
  const same = groupSizes.every((v) => v === groupSizes[0]);
  const lhs = same ? `${groupSizes.length} ln ${groupSizes[0]}` : groupSizes.map((v) => `ln ${v}`).join(" + ");
  return `${lhs} = ${uniformNll(groupSizes).toFixed(2)}`;
}

export function arRunRow(ar: TrainedAr): Record<string, string | number> {
  const cfg = ar.config;
  return runSummary(ar, { method: methodStyle("ar").name }, {
    tokenizer: cfg.tokenizerRun, "tokenizer bound": cfg.tokenizer.bound, levels: `[${cfg.tokenizer.levels}]`,
    tokens: `${cfg.tokens}: ${ar.model.numGroups} × [${ar.model.arch.groupSizes.join(",")}]`, params: ar.model.params.count(),
    "D × depth (+ head)": `${cfg.dim} × ${cfg.depth} (+${cfg.headDepth})`, "GFLOP/step": (ar.model.flops().trainPerSample * cfg.batchSize) / 1e9,
  });
}

export function arLossFigure(ar: TrainedAr): PlotlyFigure {
  const rows = trainRows(ar);
  const color = methodStyle("ar").color;
  return lossVsFlopsFigure({
    title: "LlamaGen training: loss vs training FLOPs",
    yTitle: "cross-entropy (window mean, nats)",
    curves: [
      { name: "NLL per position (nats)", rows, color },
      ...Array.from({ length: ar.model.numGroups }, (_, g) => ({ name: `CE of sub-token ${g}`, rows, key: `ce${g}`, dash: "dot" as const, width: 1 })),
    ],
    evals: [{ name: `gFID (${ar.config.evalSamples} samples)`, rows: evalRows(ar), key: "gfid", flopsPerStep: ar.model.flops().trainPerSample * ar.config.batchSize }],
  });
}

export function arGuidanceRows(evals: ArEvaluation[]): Record<string, number>[] {
  return evals.map((e) => ({ "CFG scale": e.sampling.cfgScale, gFID: e.gfid, "Inception-style score": e.inceptionScore, "samples/s": e.samplesPerSec, seconds: e.seconds }));
}

export function arGuidanceFigure(evals: ArEvaluation[]): PlotlyFigure {
  return gfidAndSpeedFigure(evals.map((e) => ({ x: e.sampling.cfgScale, gfid: e.gfid, samplesPerSec: e.samplesPerSec, manifest: e.manifest })), { method: "ar", knob: "CFG scale s", vary: "guidanceScale" });
}

/** The notebook's closing Markdown; every number from the run and the evaluations. */
export function arConclusion(ar: TrainedAr, evals: ArEvaluation[], ctx: { backend: string }): string {
  if (evals.length === 0) throw new Error("arConclusion: no evaluations; expected one per CFG scale");
  const cfg = ar.config;
  const t = runTotals(ar);
  const best = evals.reduce((a, e) => (e.gfid < a.gfid ? e : a), evals[0]);
  const noCfg = evals.find((e) => e.sampling.cfgScale === 1) ?? evals[0];
  const guided = evals.find((e) => e.sampling.cfgScale !== 1);
  const sizes = ar.model.arch.groupSizes;
  const ev = evalRows(ar);
  const lastEval = ev[ev.length - 1];
  const cfgDelta = best.gfid - noCfg.gfid;
  return [
    `- **Training:** ${cfg.steps} steps × batch ${cfg.batchSize} (${(t.flops / 1e12).toFixed(2)} TFLOP, ${t.stepsPerSec.toFixed(2)} steps/s on ${ctx.backend}, ${t.seconds.toFixed(0)} s with evaluations); ` +
      `the per-position NLL went from ${t.firstLoss.toFixed(3)} to ${t.lastLoss.toFixed(3)} nats (uniform guessing: ${uniformNllText(sizes)}), i.e. ${(t.lastLoss / Math.log(2) / ar.model.numGroups).toFixed(2)} bits per sub-token out of ${Math.log2(sizes[0]).toFixed(2)}.` +
      (lastEval ? ` The in-run gFID (CFG 1, ${cfg.evalSamples} samples) was ${Number(lastEval.gfid).toFixed(2)} at the end.` : ""),
    `- **Guidance:** without CFG gFID is ${noCfg.gfid.toFixed(2)}; the best scale of the sweep is s = ${best.sampling.cfgScale} with ${best.gfid.toFixed(2)} ` +
      (best === noCfg ? "(guidance did not help at this scale)." : `(${(-cfgDelta).toFixed(2)} lower, ${((100 * -cfgDelta) / noCfg.gfid).toFixed(0)}% better).`),
    `- **Speed:** ${noCfg.samplesPerSec.toFixed(1)} samples/s without guidance` + (guided ? ` and ${guided.samplesPerSec.toFixed(1)} with it (the [cond; null] batch doubles the rows)` : "") +
      `, for ${ar.model.seqLen} positions × ${ar.model.numGroups} sub-tokens, each a sequential step with a KV cache.`,
    "",
    `Scale caveat: ${ar.model.params.count().toLocaleString("en-US")} parameters and ${(t.flops / 1e12).toFixed(1)} TFLOP of training, ${paperScaleText(t.flops, "ar")}; ` +
      "gFID uses our Fashion-MNIST feature network and one training seed, so the guidance comparison has no measured seed spread.",
  ].join("\n");
}
