/**
 * Notebook 04's sections, from a trained DiT and its evaluations: the run summary, the loss vs FLOPs figure (with the
 * velocity MSE and in-run gFIDs), the gFID/speed-vs-Euler-steps figure and table, the continuous vs re-quantized
 * decoding table, and the computed conclusion.
 *
 *   show(ditLossFigure(dit), { name: "04-loss-vs-flops" }); markdown(ditConclusion(dit, sweep, requant, { backend, eulerSteps: 50, saturation: 0.05 }))
 *
 *   saturated = the fewest Euler steps with gFID ≤ best · (1 + saturation)
 *   requantize verdict: |Δ| ≤ tolerance · gFID_continuous ⇒ "changes gFID by less than …", Δ = gFID_requantized − gFID_continuous
 */
import type { PlotlyFigure } from "../../view/figure";
import { methodStyle } from "../../view/palette";
import { lossVsFlopsFigure } from "../loss-vs-flops";
import { gfidAndSpeedFigure } from "../gfid-and-speed";
import { evalRows, runSummary, runTotals, trainRows } from "../run-summary";
import { paperScaleText } from "../paper-compute";
import type { TrainedDiT } from "./task";
import type { RequantizeRow, StepsRow } from "./evaluate";

/** The paper's number of Euler steps at sampling (spec §6). */
export const PAPER_EULER_STEPS = 250;

/** "1 Euler step" / "10 Euler steps". */
export function eulerStepsText(k: number): string {
  return `${k} Euler step${k === 1 ? "" : "s"}`;
}

/** "12.3 GFLOP" below 1 TFLOP, "1.23 TFLOP" from there on. */
export function flopsText(f: number): string {
  return f >= 1e12 ? `${(f / 1e12).toFixed(2)} TFLOP` : `${(f / 1e9).toFixed(1)} GFLOP`;
}

export function ditRunRow(dit: TrainedDiT): Record<string, string | number> {
  const cfg = dit.config;
  return runSummary(dit, { method: methodStyle("dit").name }, {
    tokenizer: cfg.tokenizerRun, "tokenizer bound": cfg.tokenizer.bound, levels: `[${cfg.tokenizer.levels}]`,
    "latent std": dit.latents.std, "multiplier m": dit.latentMultiplier, "train latents": dit.latents.n,
    params: dit.model.params.count(), "D × depth": `${cfg.dim} × ${cfg.depth}`, "GFLOP/step": (dit.model.flops().trainPerSample * cfg.batchSize) / 1e9,
  });
}

export function ditLossFigure(dit: TrainedDiT): PlotlyFigure {
  const rows = trainRows(dit);
  const cfg = dit.config;
  return lossVsFlopsFigure({
    title: "DiT training: loss vs training FLOPs",
    yTitle: "loss (window mean)",
    curves: [
      { name: "loss (MSE + cosine)", rows, color: methodStyle("dit").color },
      { name: "velocity MSE", rows, key: "mse", dash: "dot", width: 1 },
    ],
    evals: [{ name: `gFID (${cfg.evalSamples} samples, ${cfg.evalSteps} steps)`, rows: evalRows(dit), key: "gfid", flopsPerStep: dit.model.flops().trainPerSample * cfg.batchSize }],
  });
}

export function ditStepsRows(sweep: StepsRow[]): Record<string, number>[] {
  return sweep.map((r) => ({ "Euler steps": r.steps, NFE: r.nfe, gFID: r.gfid, "samples/s": r.samplesPerSec }));
}

export function ditStepsFigure(sweep: StepsRow[]): PlotlyFigure {
  return gfidAndSpeedFigure(sweep.map((r) => ({ x: r.steps, gfid: r.gfid, samplesPerSec: r.samplesPerSec, manifest: r.manifest })), { method: "dit", knob: "Euler steps", logX: true, vary: "samplingSteps" });
}

export function ditRequantizeRows(requant: RequantizeRow[]): Record<string, string | number>[] {
  return requant.map((r) => ({ decoding: r.decoding, gFID: r.gfid, "off-grid (bins)": r.offGrid, "within 0.1 bin of a code": r.nearCode, "outside [−1, 1]": r.outOfRange }));
}

export interface StepsSaturation {
  best: StepsRow;
  /** The fewest steps whose gFID is within `saturation` of the best. */
  saturated: StepsRow;
  fewest: StepsRow;
}

/** Best, saturated and fewest-steps rows of a steps sweep (rows in any order). */
export function stepsSaturation(sweep: StepsRow[], saturation: number): StepsSaturation {
  if (sweep.length === 0) throw new Error("stepsSaturation: empty sweep; expected one row per number of Euler steps");
  if (!(saturation >= 0)) throw new Error(`stepsSaturation: saturation=${saturation}; expected a fraction ≥ 0 (0.05 = within 5% of the best)`);
  const bySteps = [...sweep].sort((a, b) => a.steps - b.steps);
  const best = bySteps.reduce((a, r) => (r.gfid < a.gfid ? r : a), bySteps[0]);
  const saturated = bySteps.find((r) => r.gfid <= best.gfid * (1 + saturation)) ?? best;
  return { best, saturated, fewest: bySteps[0] };
}

/** The "Steps" bullet: best gFID, where it saturates, and whether `eulerSteps` (the CPU default) is past that point. */
export function stepsText(sweep: StepsRow[], o: { eulerSteps: number; saturation: number }): string {
  const { best, saturated, fewest } = stepsSaturation(sweep, o.saturation);
  const within = `${(100 * o.saturation).toFixed(0)}%`;
  // each setting is named once: the best may also be the saturated one, and the saturated one the fewest steps
  const head =
    `the best gFID of the sweep is ${best.gfid.toFixed(2)} at ${eulerStepsText(best.steps)}` +
    (saturated.steps === best.steps
      ? `, at ${best.samplesPerSec.toFixed(1)} samples/s. `
      : `; with ${eulerStepsText(saturated.steps)} it is already within ${within} of that (${saturated.gfid.toFixed(2)}), at ${saturated.samplesPerSec.toFixed(1)} samples/s. `) +
    (fewest.steps === saturated.steps ? "" : `With ${eulerStepsText(fewest.steps)} gFID is ${fewest.gfid.toFixed(2)} at ${fewest.samplesPerSec.toFixed(1)} samples/s. `);
  const tail =
    saturated.steps <= o.eulerSteps
      ? `So the CPU default of ${eulerStepsText(o.eulerSteps)} is on the flat part of the curve at this scale; the paper's ${PAPER_EULER_STEPS} would cost ${(PAPER_EULER_STEPS / saturated.steps).toFixed(0)}× the time of ${eulerStepsText(saturated.steps)} for ≤ ${within} gain.`
      : `Quality is still improving at ${eulerStepsText(o.eulerSteps)} here: more steps (towards the paper's ${PAPER_EULER_STEPS}) would help at this scale.`;
  return head + tail;
}

/** Continuous and re-quantized rows of `ditRequantizeComparison`, by name (an error names what is missing). */
function decodings(requant: RequantizeRow[]): { cont: RequantizeRow; rq: RequantizeRow } {
  const cont = requant.find((r) => r.decoding === "continuous");
  const rq = requant.find((r) => r.decoding === "re-quantized");
  if (!cont || !rq) throw new Error(`requantizeText: rows ${JSON.stringify(requant.map((r) => r.decoding))}; expected one "continuous" and one "re-quantized"`);
  return { cont, rq };
}

/** The "Re-quantizing" bullet: how far samples lie off the code grid, and what snapping them does to gFID. */
export function requantizeText(requant: RequantizeRow[], tolerance = 0.02): string {
  const { cont, rq } = decodings(requant);
  const d = rq.gfid - cont.gfid;
  const rel = (v: number) => `${((100 * v) / cont.gfid).toFixed(0)}%`;
  const effect =
    Math.abs(d) <= tolerance * cont.gfid
      ? `changes gFID by less than ${(100 * tolerance).toFixed(0)}%`
      : d > 0
        ? `makes gFID worse by ${d.toFixed(2)} (${rel(d)})`
        : `improves gFID by ${(-d).toFixed(2)} (${rel(-d)})`;
  return (
    `the sampled latents lie ${cont.offGrid.toFixed(3)} bins from the nearest code on average (0.25 = uniform between codes; ${(100 * cont.nearCode).toFixed(0)}% within 0.1 bin, ${(100 * cont.outOfRange).toFixed(1)}% outside [−1, 1]). ` +
    `Snapping them to the code grid before decoding ${effect} (continuous ${cont.gfid.toFixed(2)}, re-quantized ${rq.gfid.toFixed(2)}).`
  );
}

/** What the conclusion needs from the run, as plain numbers (so the sentences can be tested on fixed inputs). */
export interface DiTRunFacts {
  steps: number;
  batchSize: number;
  flops: number;
  stepsPerSec: number;
  seconds: number;
  firstLoss: number;
  lastLoss: number;
  params: number;
  /** Last in-run gFID and its Euler steps, when the preset evaluates during training. */
  lastEvalGfid?: number;
  evalSteps: number;
}

export function ditRunFacts(dit: TrainedDiT): DiTRunFacts {
  const t = runTotals(dit);
  const ev = evalRows(dit);
  const last = ev[ev.length - 1];
  return {
    steps: dit.config.steps, batchSize: dit.config.batchSize, flops: t.flops, stepsPerSec: t.stepsPerSec, seconds: t.seconds,
    firstLoss: t.firstLoss, lastLoss: t.lastLoss, params: dit.model.params.count(), evalSteps: dit.config.evalSteps,
    ...(last ? { lastEvalGfid: Number(last.gfid) } : {}),
  };
}

/** The "Training" bullet. */
export function trainingText(f: DiTRunFacts, backend: string): string {
  return (
    `${f.steps} steps × batch ${f.batchSize} (${flopsText(f.flops)}, ${f.stepsPerSec.toFixed(2)} steps/s on ${backend}, ${f.seconds.toFixed(0)} s with evaluations); ` +
    `the loss went from ${f.firstLoss.toFixed(3)} to ${f.lastLoss.toFixed(3)} (${((100 * (f.firstLoss - f.lastLoss)) / f.firstLoss).toFixed(0)}% lower).` +
    (f.lastEvalGfid !== undefined ? ` The in-run gFID at the end was ${f.lastEvalGfid.toFixed(2)} (${f.evalSteps} steps).` : "")
  );
}

/** The scale caveat: parameters, FLOPs, the orders of magnitude below the paper's DiT-L, and the unmeasured seed spread. */
export function scaleCaveatText(f: DiTRunFacts): string {
  return (
    `Scale caveat: ${f.params.toLocaleString("en-US")} parameters and ${flopsText(f.flops)} of training, ${paperScaleText(f.flops, "dit")}; ` +
    "gFID uses our Fashion-MNIST feature network, and the step and decoding comparisons come from one training seed, so their seed spread is unmeasured."
  );
}

/** The notebook's closing Markdown from plain facts; every number from the run and the evaluations. */
export function ditConclusionText(f: DiTRunFacts, sweep: StepsRow[], requant: RequantizeRow[], ctx: { backend: string; eulerSteps: number; saturation: number }): string {
  return [
    `- **Training:** ${trainingText(f, ctx.backend)}`,
    `- **Steps:** ${stepsText(sweep, ctx)}`,
    `- **Re-quantizing:** ${requantizeText(requant)}`,
    "",
    scaleCaveatText(f),
  ].join("\n");
}

export function ditConclusion(dit: TrainedDiT, sweep: StepsRow[], requant: RequantizeRow[], ctx: { backend: string; eulerSteps: number; saturation: number }): string {
  return ditConclusionText(ditRunFacts(dit), sweep, requant, ctx);
}
