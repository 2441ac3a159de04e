/**
 * Which notebooks plan a run folder at a preset: every study of studies.ts at its default setup (a generator's
 * tokenizer counts as planned by the generator's notebook), and the tokenizer the AR and DiT presets (notebooks 03, 04)
 * train on. A notebook's run table names, for each run, the other
 * notebooks that train the same folder, so a reused run says where it comes from.
 *
 *   const shared = runPlanners("quick");     // Map: run id → ["02", "05"]
 *   otherPlanners(shared, "tokenizer-…", "05")   // "02"
 */
import type { PresetName } from "../train/config";
import { resolveConfig } from "../train/config";
import { arConfig } from "./ar/config";
import { ditConfig } from "./dit/config";
import { STUDIES } from "./studies";

/** The notebook number of a study ("notebook 05: …" → "05"), else the study's name. */
function notebookOf(description: string, name: string): string {
  const m = /^notebook (\d\d)/.exec(description);
  return m ? m[1] : name;
}

/** Run id → the notebooks that plan it at the preset (ascending, no repeats). */
export function runPlanners(preset: PresetName): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (id: string, nb: string) => {
    const list = out.get(id) ?? [];
    if (!list.includes(nb)) list.push(nb);
    out.set(id, list.sort());
  };
  for (const s of STUDIES.values()) {
    for (const r of s.plan(preset)) {
      add(r.id, notebookOf(s.description, s.name));
      // a generator trains (or reuses) its tokenizer first
      const tokenizerRun = (r.config as { tokenizerRun?: unknown }).tokenizerRun;
      if (typeof tokenizerRun === "string" && tokenizerRun !== "") add(tokenizerRun, notebookOf(s.description, s.name));
    }
  }
  add(resolveConfig(arConfig, { preset }).tokenizerRun, "03");
  add(resolveConfig(ditConfig, { preset }).tokenizerRun, "04");
  return out;
}

const memo = new Map<PresetName, Map<string, string[]>>();

/** runPlanners(preset), computed once per preset (planning every study resolves dozens of configs). */
function plannersAt(preset: PresetName): Map<string, string[]> {
  if (!memo.has(preset)) memo.set(preset, runPlanners(preset));
  return memo.get(preset)!;
}

/** The other notebooks that train a run folder at the preset, comma-separated ("" when none). */
export function otherPlannersOfRun(preset: PresetName, runDir: string, self: string): string {
  return otherPlanners(plannersAt(preset), runDir.split(/[\\/]/).slice(-1)[0], self);
}

/**
 * A run table's column naming the other notebooks that train the same run folder at the preset ("–" when none);
 * {} without a preset, so a table built without one keeps its columns.
 */
export function alsoInColumn(runDir: string, preset: PresetName | undefined, self: string): Record<string, string> {
  if (preset === undefined) return {};
  return { "also in notebooks": otherPlannersOfRun(preset, runDir, self) || "–" };
}

/** The other notebooks that plan a run, comma-separated ("" when none). */
export function otherPlanners(planners: ReadonlyMap<string, string[]>, runId: string, self: string): string {
  return (planners.get(runId) ?? []).filter((nb) => nb !== self).join(", ");
}
