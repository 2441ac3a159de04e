/**
 * A sweep is a figure's grid of runs, declared as data: for each preset, a list of `{ label, kind, overrides }`.
 * `planSweep` resolves every entry to a full config with the kind's preset (schema defaults ← preset ← overrides ←
 * `--set`), so a sweep's run and a notebook's `trainTokenizer({ preset, overrides })` with the same values land in
 * the same run folder (`<kind>-<configHash12>`) and whichever comes first trains it.
 *
 *   const planned = planSweep(kinds, tokenizersSweep, { preset: "quick" });   // PlannedRun[], in declared order
 *   shardOf(planned, 1, 4)                                                     // runs 1, 5, 9, … (0-based shards)
 */
import { PRESET_NAMES, parsePresetName, resolveConfig, type PresetName } from "../../train/config";
import { lookupKind, type KindRegistry } from "../../train/registry";
import { runId } from "../../train/run";

/** One run of a sweep: a kind and the config values that differ from the kind's preset. */
export interface SweepRun {
  /** Short human name, e.g. "bound=tanh seed=1". */
  label: string;
  kind: string;
  overrides: Record<string, unknown>;
}

export interface SweepDef {
  /** The name `npm run sweep -- <name>` takes (letters, digits, "-"). */
  name: string;
  /** One line: which figure or table the grid feeds. */
  description: string;
  /** The runs at each preset (a larger preset may add seeds or grid points). */
  presets: Record<PresetName, readonly SweepRun[]>;
}

/** A sweep entry resolved to its full config and run folder name. */
export interface PlannedRun {
  /** Position in the sweep's declared list (what shards split). */
  index: number;
  label: string;
  kind: string;
  config: Record<string, unknown>;
  /** `<kind>-<configHash12>`, the run folder's name. */
  id: string;
}

/**
 * The cross product of named value lists, as overrides with labels, in row-major order:
 * `grid({ bound: ["tanh", "ifsq"], seed: [0, 1] })` → bound=tanh seed=0, bound=tanh seed=1, bound=ifsq seed=0, …
 */
export function grid(kind: string, axes: Record<string, readonly unknown[]>, fixed: Record<string, unknown> = {}): SweepRun[] {
  let rows: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(axes)) {
    if (values.length === 0) throw new Error(`grid(${kind}): axis "${key}" has no values`);
    rows = rows.flatMap((r) => values.map((v) => ({ ...r, [key]: v })));
  }
  return rows.map((r) => ({
    label: Object.entries(r).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`).join(" "),
    kind,
    overrides: { ...fixed, ...r },
  }));
}

/** Checks a sweep declaration: a name, every preset present, no empty preset, no label twice. */
export function defineSweep(def: SweepDef): SweepDef {
  if (!/^[A-Za-z0-9-]+$/.test(def.name)) throw new Error(`sweep name ${JSON.stringify(def.name)} must contain only letters, digits and "-"`);
  for (const p of PRESET_NAMES) {
    const runs = def.presets[p];
    if (!runs || runs.length === 0) throw new Error(`sweep "${def.name}": preset "${p}" declares no runs (every sweep needs ${PRESET_NAMES.join(", ")})`);
    const seen = new Set<string>();
    for (const r of runs) {
      if (seen.has(r.label)) throw new Error(`sweep "${def.name}", preset "${p}": label "${r.label}" is used twice`);
      seen.add(r.label);
    }
  }
  return def;
}

export interface PlanOptions {
  preset: PresetName | string;
  /** CLI `key=value` strings applied to every run (after the overrides); a key unknown to a run's kind is an error. */
  set?: readonly string[];
}

/** Every run of a sweep at a preset with its resolved config; two entries naming the same run are an error. */
export function planSweep(kinds: KindRegistry, def: SweepDef, opts: PlanOptions): PlannedRun[] {
  const preset = parsePresetName(opts.preset);
  const byId = new Map<string, string>();
  return def.presets[preset].map((r, index) => {
    const spec = lookupKind(kinds, r.kind);
    let config: Record<string, unknown>;
    try {
      config = resolveConfig(spec.configDef, { preset, overrides: r.overrides, set: opts.set ?? [] }) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`sweep "${def.name}", run "${r.label}" (${r.kind}): ${(e as Error).message}`);
    }
    const id = runId(r.kind, config);
    const twin = byId.get(id);
    if (twin !== undefined) throw new Error(`sweep "${def.name}": runs "${twin}" and "${r.label}" resolve to the same config (${id}) at preset ${preset}`);
    byId.set(id, r.label);
    return { index, label: r.label, kind: r.kind, config, id };
  });
}

/** Parses "i/n" (0 ≤ i < n) into a shard. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new Error(`shard ${JSON.stringify(text)} must look like i/n with 0 ≤ i < n (e.g. 0/4)`);
  return { index, count };
}

/** The runs of shard `index` of `count`: every count-th run starting at index (round-robin over the declared list). */
export function shardOf<T extends { index: number }>(runs: readonly T[], index: number, count: number): T[] {
  if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(index) && index >= 0 && index < count)) {
    throw new Error(`shard ${index}/${count}: need integers 0 ≤ index < count`);
  }
  return runs.filter((r) => r.index % count === index);
}
