/**
 * The convergence summary's FID check (lib/eval/fid-manifest.ts): AR and DiT gFIDs, in-run and at the CFG end check,
 * are compared only when measured the same way apart from the generator itself (`generator`, and DiT's Euler steps
 * against AR's fixed token count: `samplingSteps`). Seeds may differ (they are the seed spread).
 */
import { checkComparableFids } from "../../eval/fid-manifest";
import type { ConvergenceRun } from "./runs";

export function checkConvergenceFids(runs: readonly ConvergenceRun[]): void {
  const allowDifferent = ["generator", "samplingSteps"] as const;
  checkComparableFids(runs.map((r) => ({ label: `${r.label} (in-run gFID)`, manifest: r.fidManifests?.gfid })), { what: "convergence summary: AR vs DiT in-run gFID", allowDifferent });
  const ended = runs.filter((r) => r.cfgEnd);
  checkComparableFids(ended.map((r) => ({ label: `${r.label} (CFG end check)`, manifest: r.cfgEnd!.manifest })), { what: "convergence summary: AR vs DiT gFID with CFG", allowDifferent });
}
