/**
 * Final sample quality of a loaded run of the grid: gFID, k-NN precision and recall (k = 3, vs the first n test
 * images) of n fresh samples with the run's in-run sampling settings (AR: its CFG/temperature; DiT: its evalSteps).
 */
import type { RepaRun } from "./runs";
import { evaluateAr } from "../ar/evaluate";
import { evaluateDiT } from "../dit/evaluate";
import type { FidManifest } from "../../eval/fid-manifest";

export interface FinalQuality {
  label: string;
  kind: "ar" | "dit";
  repa: boolean;
  seed: number;
  gfid: number;
  precision: number;
  recall: number;
  n: number;
  /** How the gFID was measured (lib/eval/fid-manifest.ts). */
  manifest?: FidManifest;
}

/** gFID / precision / recall of a kept run (its model must be loaded: `trainRepaGrid(…, { keep })`). */
export async function finalQuality(r: RepaRun, opts: { n: number; seed: number }): Promise<FinalQuality> {
  if (!r.ar && !r.dit) throw new Error(`finalQuality: run "${r.label}" was not kept loaded; pass keep to trainRepaGrid`);
  const ev = r.ar ? await evaluateAr(r.ar, { n: opts.n, seed: opts.seed, precisionRecall: true }) : await evaluateDiT(r.dit!, { n: opts.n, seed: opts.seed, precisionRecall: true });
  return { label: r.label, kind: r.point.kind, repa: r.point.repa !== null, seed: r.point.seed, gfid: ev.gfid, precision: ev.precision ?? NaN, recall: ev.recall ?? NaN, n: opts.n, manifest: ev.manifest };
}
