/**
 * Typed, validated run configurations with named presets.
 *
 * A config is one zod object schema (the single source of truth for keys, types, defaults and docs) plus three
 * presets, each a partial object over the schema's defaults:
 *   - `tiny`:      seconds; unit tests and CI smoke runs,
 *   - `quick`:     the default `reproduce` scale, minutes on 2 cores,
 *   - `paper-cpu`: the full CPU reproduction, hours.
 *
 * Resolution order (later wins): schema defaults ← preset ← `overrides` (a deep-partial object, e.g. from a notebook:
 * `{ ...presetConfig(def, "quick"), bound: "ifsq" }`) ← `set` (CLI strings `key=value`, dotted keys for nested
 * objects, `levels=17,17,17,17` for arrays). Unknown keys, also nested ones, are errors with a "did you mean".
 * The preset defaults to $IFSQ_PRESET, else "quick" (this file and lib/backend.ts are the only env readers in lib/).
 */
import { createHash } from "crypto";
import { z } from "zod";

export const PRESET_NAMES = ["tiny", "quick", "paper-cpu"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Objects are partial at every depth; arrays and scalars are replaced whole. */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

// zod 4's object schema type, with any shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyObjectSchema = z.ZodObject<any>;

export interface ConfigDef<S extends AnyObjectSchema = AnyObjectSchema> {
  /** Name used in messages and help ("tokenizer", "ar", …). */
  name: string;
  schema: S;
  presets: Record<PresetName, DeepPartial<z.input<S>>>;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The base every trainer's config extends: `TrainConfigSchema.extend({ levels: …, bound: … })`. */
export const TrainConfigSchema = z.object({
  seed: z.int().min(0).default(0).describe("root seed: init, data order, noise; same seed ⇒ same metrics"),
  steps: z.int().positive().describe("optimizer steps in the whole run"),
  batchSize: z.int().positive().describe("examples per step"),
  lr: z.number().positive().describe("peak learning rate η"),
  warmupSteps: z.int().min(0).default(0).describe("linear warm-up from 0 to lr over this many steps"),
  schedule: z.enum(["constant", "cosine"]).default("constant").describe("lr after warm-up: constant, or cosine decay to minLrRatio·lr at the last step"),
  minLrRatio: z.number().min(0).max(1).default(0.1).describe("final lr / peak lr for the cosine schedule"),
  beta1: z.number().min(0).lt(1).default(0.9).describe("AdamW β₁"),
  beta2: z.number().min(0).lt(1).default(0.999).describe("AdamW β₂"),
  eps: z.number().positive().default(1e-8).describe("AdamW ε"),
  weightDecay: z.number().min(0).default(0).describe("AdamW decoupled weight decay λ (applied to tensors of rank ≥ 2)"),
  clip: z.number().min(0).default(1).describe("clip gradients to this global norm; 0 = no clipping"),
  emaDecay: z.number().min(0).lt(1).default(0).describe("EMA of the weights, θ̄ ← d·θ̄ + (1−d)·θ; 0 = no EMA"),
  emaWarmup: z.boolean().optional().describe("EMA decay min(d, (1+t)/(10+t)) at update t, so early evaluations do not see the initial weights; absent = constant d"),
  logEvery: z.int().positive().default(10).describe("write a metrics.jsonl row (mean of the window) every this many steps"),
  evalEvery: z.int().min(0).default(0).describe("call the task's evaluate() every this many steps (and at the end); 0 = only at the end"),
  evalAt: z.array(z.int().positive()).optional().describe("also call evaluate() after exactly these completed steps (e.g. a log-spaced schedule); absent = only evalEvery and the end"),
  ckptEvery: z.int().min(0).default(0).describe("checkpoint every this many steps (and at the end); 0 = only at the end"),
  keepCheckpoints: z.int().positive().default(2).describe("keep only the newest this many checkpoints"),
});
export type TrainConfig = z.output<typeof TrainConfigSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Schema introspection helpers (zod 4: every schema has `.def.type`)

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType | null;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  defaultValue?: unknown;
}

function defOf(s: z.ZodType): Def {
  return (s as unknown as { def: Def }).def;
}

const WRAPPERS = new Set(["default", "optional", "nullable", "readonly", "prefault", "catch", "nonoptional"]);

/** Strips default/optional/nullable/… and pipes down to the schema that describes the value's shape. */
function unwrap(s: z.ZodType): z.ZodType {
  for (let i = 0; i < 32; i++) {
    const d = defOf(s);
    if (WRAPPERS.has(d.type) && d.innerType) s = d.innerType;
    else if (d.type === "pipe" && d.in) s = d.in;
    else if (d.type === "lazy") s = (s as unknown as { def: { getter(): z.ZodType } }).def.getter();
    else return s;
  }
  return s;
}

function isNullable(s: z.ZodType): boolean {
  for (let i = 0; i < 32; i++) {
    const d = defOf(s);
    if (d.type === "nullable") return true;
    if (WRAPPERS.has(d.type) && d.innerType) s = d.innerType;
    else return false;
  }
  return false;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The closest candidate, if it is close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0.5 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== null && bestD <= limit ? best : null;
}

function joinPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/** Throws on the first key of `value` that the schema does not know, at any depth. */
function checkKeys(value: unknown, schema: z.ZodType, path: (string | number)[], cfgName: string, source: string): void {
  const s = unwrap(schema);
  const d = defOf(s);
  if (d.type === "object" && isPlainObject(value)) {
    const shape = d.shape ?? {};
    const known = Object.keys(shape);
    for (const [k, v] of Object.entries(value)) {
      if (!(k in shape)) {
        const full = joinPath([...path, k]);
        const guess = didYouMean(k, known);
        throw new ConfigError(
          `${cfgName} config: unknown key "${full}" in ${source}` +
            (guess ? ` (did you mean "${joinPath([...path, guess])}"?)` : "") +
            `; known keys${path.length ? ` of "${joinPath(path)}"` : ""}: ${known.join(", ")}`,
        );
      }
      checkKeys(v, shape[k], [...path, k], cfgName, source);
    }
  } else if (d.type === "record" && isPlainObject(value) && d.valueType) {
    for (const [k, v] of Object.entries(value)) checkKeys(v, d.valueType, [...path, k], cfgName, source);
  } else if (d.type === "array" && Array.isArray(value) && d.element) {
    value.forEach((v, i) => checkKeys(v, d.element!, [...path, i], cfgName, source));
  }
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
    return out;
  }
  return over;
}

// ---------------------------------------------------------------------------------------------------------------
// --set key=value

function describeType(s: z.ZodType): string {
  const u = unwrap(s);
  const d = defOf(u);
  switch (d.type) {
    case "enum":
      return Object.values(d.entries ?? {}).map((v) => JSON.stringify(v)).join(" | ");
    case "literal":
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(" | ");
    case "array":
      return `${describeType(d.element!)}[]`;
    case "tuple":
      return `[${(d.items ?? []).map(describeType).join(", ")}]`;
    case "union":
      return (d.options ?? []).map(describeType).join(" | ");
    case "object":
      return "object";
    case "number": {
      const checks = ((u as unknown as { def: { checks?: { _zod: { def: { format?: string } } }[]; format?: string } }).def.checks ?? []).map((c) => c._zod.def.format);
      return (d as { format?: string }).format?.includes("int") || checks.some((f) => f?.includes("int")) ? "int" : "number";
    }
    default:
      return d.type;
  }
}

/** Converts the text of `--set key=text` to a value of the key's schema type. */
function coerce(text: string, schema: z.ZodType, where: string): unknown {
  const t = text.trim();
  if (isNullable(schema) && t === "null") return null;
  const s = unwrap(schema);
  const d = defOf(s);
  const fail = (expected: string): never => {
    throw new ConfigError(`${where}: ${JSON.stringify(text)} is not ${expected}`);
  };
  switch (d.type) {
    case "number": {
      const n = Number(t);
      if (t === "" || !Number.isFinite(n)) fail("a number");
      return n;
    }
    case "bigint":
      try {
        return BigInt(t);
      } catch {
        return fail("an integer");
      }
    case "boolean": {
      const v = t.toLowerCase();
      if (["true", "1", "yes", "on"].includes(v)) return true;
      if (["false", "0", "no", "off"].includes(v)) return false;
      return fail("a boolean (true/false)");
    }
    case "string":
      return text;
    case "enum": {
      const vals = Object.values(d.entries ?? {});
      const hit = vals.find((v) => String(v) === t);
      if (hit !== undefined) return hit;
      const guess = didYouMean(t, vals.map(String));
      return fail(`one of ${vals.map((v) => JSON.stringify(v)).join(", ")}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ""}`);
    }
    case "literal": {
      const hit = (d.values ?? []).find((v) => String(v) === t);
      if (hit !== undefined) return hit;
      return fail(describeType(s));
    }
    case "array":
    case "tuple": {
      if (t.startsWith("[")) {
        try {
          return JSON.parse(t);
        } catch {
          return fail(`a JSON array or a comma-separated list of ${describeType(s)}`);
        }
      }
      const parts = t === "" ? [] : t.split(",");
      if (d.type === "array") return parts.map((p, i) => coerce(p, d.element!, `${where}[${i}]`));
      const items = d.items ?? [];
      return parts.map((p, i) => coerce(p, items[i] ?? d.rest ?? z.unknown(), `${where}[${i}]`));
    }
    case "union": {
      for (const opt of d.options ?? []) {
        try {
          const v = coerce(text, opt, where);
          if (opt.safeParse(v).success) return v;
        } catch {
          // try the next option
        }
      }
      return fail(describeType(s));
    }
    default:
      try {
        return JSON.parse(t);
      } catch {
        return text;
      }
  }
}

/** Parses CLI `key=value` strings into a nested object, coercing each value to its schema type. */
export function parseSet(def: ConfigDef, set: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of set) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ConfigError(`${def.name} config: --set ${JSON.stringify(item)} must look like key=value`);
    const key = item.slice(0, eq).trim();
    const text = item.slice(eq + 1);
    const path = key.split(".");
    let schema: z.ZodType = def.schema;
    let node = out;
    for (let i = 0; i < path.length; i++) {
      const s = unwrap(schema);
      const d = defOf(s);
      const k = path[i];
      let next: z.ZodType | undefined;
      if (d.type === "object") next = d.shape?.[k];
      else if (d.type === "record") next = d.valueType;
      if (!next) {
        const known = d.type === "object" ? Object.keys(d.shape ?? {}) : [];
        const guess = didYouMean(k, known);
        const parent = path.slice(0, i).join(".");
        throw new ConfigError(
          `${def.name} config: unknown key "${path.slice(0, i + 1).join(".")}" in --set ${item}` +
            (guess ? ` (did you mean "${[...path.slice(0, i), guess].join(".")}"?)` : "") +
            (known.length ? `; known keys${parent ? ` of "${parent}"` : ""}: ${known.join(", ")}` : `; "${parent}" is not an object`),
        );
      }
      schema = next;
      if (i === path.length - 1) node[k] = coerce(text, schema, `${def.name} config: --set ${key}`);
      else {
        if (!isPlainObject(node[k])) node[k] = {};
        node = node[k] as Record<string, unknown>;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

/** Formats zod issues as "key: message" lines naming the key and, where known, the bad value. */
function formatIssues(name: string, source: string, error: z.ZodError, input: unknown): string {
  const lines = error.issues.map((iss) => {
    const key = joinPath(iss.path as (string | number)[]) || "(root)";
    let v: unknown = input;
    for (const p of iss.path) v = isPlainObject(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[p as string | number] : undefined;
    const got = v === undefined ? "" : ` (got ${JSON.stringify(v)})`;
    return `  ${key}: ${iss.message}${got}`;
  });
  return `${name} config (${source}) is invalid:\n${lines.join("\n")}`;
}

/**
 * Declares a config: its schema and the three presets. Checks every preset now (unknown keys, types), so a broken
 * preset fails when its module loads, not at the end of a long run.
 */
export function defineConfig<S extends AnyObjectSchema>(def: { name: string; schema: S; presets: Record<PresetName, DeepPartial<z.input<S>>> }): ConfigDef<S> {
  for (const p of PRESET_NAMES) {
    if (!def.presets[p]) throw new ConfigError(`${def.name} config: preset "${p}" is missing (every config needs ${PRESET_NAMES.join(", ")})`);
  }
  for (const p of Object.keys(def.presets)) {
    if (!(PRESET_NAMES as readonly string[]).includes(p)) throw new ConfigError(`${def.name} config: unknown preset "${p}"; presets are ${PRESET_NAMES.join(", ")}`);
    checkKeys(def.presets[p as PresetName], def.schema, [], def.name, `preset "${p}"`);
    const r = def.schema.safeParse(def.presets[p as PresetName]);
    if (!r.success) throw new ConfigError(formatIssues(def.name, `preset "${p}"`, r.error, def.presets[p as PresetName]));
  }
  return { name: def.name, schema: def.schema, presets: def.presets };
}

/** Validates a preset name (the error suggests the closest one). */
export function parsePresetName(value: string, source = "preset"): PresetName {
  if ((PRESET_NAMES as readonly string[]).includes(value)) return value as PresetName;
  const guess = didYouMean(value, PRESET_NAMES);
  throw new ConfigError(`${source}=${JSON.stringify(value)} is not a preset${guess ? ` (did you mean "${guess}"?)` : ""}; presets are ${PRESET_NAMES.join(", ")}`);
}

/** The preset to use when none is given: $IFSQ_PRESET, else "quick". */
export function defaultPreset(): PresetName {
  const env = process.env.IFSQ_PRESET;
  return env && env.length > 0 ? parsePresetName(env, "IFSQ_PRESET") : "quick";
}

export interface ResolveOptions<S extends AnyObjectSchema> {
  /** Default: $IFSQ_PRESET, else "quick". */
  preset?: PresetName | string;
  /** Deep-partial values over the preset (notebooks). */
  overrides?: DeepPartial<z.input<S>> | Record<string, unknown>;
  /** CLI strings "key=value" (dotted keys for nested objects; "a,b,c" for arrays), applied last. */
  set?: readonly string[];
}

/** The fully resolved, validated config (schema defaults ← preset ← overrides ← set). */
export function resolveConfig<S extends AnyObjectSchema>(def: ConfigDef<S>, opts: ResolveOptions<S> = {}): z.output<S> {
  const preset = opts.preset === undefined ? defaultPreset() : parsePresetName(opts.preset);
  const layers: [string, unknown][] = [[`preset "${preset}"`, def.presets[preset]]];
  if (opts.overrides !== undefined) {
    if (!isPlainObject(opts.overrides)) throw new ConfigError(`${def.name} config: overrides must be a plain object, got ${JSON.stringify(opts.overrides)}`);
    layers.push(["overrides", opts.overrides]);
  }
  if (opts.set && opts.set.length) layers.push(["--set", parseSet(def, opts.set)]);
  let merged: unknown = {};
  for (const [source, layer] of layers) {
    checkKeys(layer, def.schema, [], def.name, source);
    merged = deepMerge(merged, layer);
  }
  const r = def.schema.safeParse(merged);
  if (!r.success) throw new ConfigError(formatIssues(def.name, layers.map((l) => l[0]).join(" + "), r.error, merged));
  return r.data as z.output<S>;
}

/** A preset's resolved config (handy to spread in notebooks: `{ ...presetConfig(def, "quick"), bound: "ifsq" }`). */
export function presetConfig<S extends AnyObjectSchema>(def: ConfigDef<S>, preset: PresetName | string): z.output<S> {
  return resolveConfig(def, { preset });
}

/** JSON with object keys sorted at every depth (undefined members dropped), the canonical form that is hashed. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = v[k];
      return out;
    }
    if (typeof v === "number" && !Number.isFinite(v)) return String(v);
    if (typeof v === "bigint") return v.toString();
    return v;
  });
}

/** SHA-256 (hex, 64 chars) of the canonical JSON: the same config gives the same hash whatever its key order. */
export function configHash(cfg: unknown): string {
  return createHash("sha256").update(canonicalJson(cfg)).digest("hex");
}

/** One line per key: name, type, default, per-preset values and the description (for `--help`). */
export function configHelp(def: ConfigDef): string {
  const presets = PRESET_NAMES.map((p) => [p, resolveConfig(def, { preset: p }) as Record<string, unknown>] as const);
  const lines: string[] = [`${def.name} config keys (presets: ${PRESET_NAMES.join(", ")}):`];
  for (const [key, s] of Object.entries(def.schema.shape as Record<string, z.ZodType>)) {
    const values = presets.map(([p, c]) => `${p}=${canonicalJson(c[key])}`).join(" ");
    const desc = (s as { description?: string }).description ?? unwrap(s).description ?? "";
    lines.push(`  ${key}: ${describeType(s)}  [${values}]${desc ? `  ${desc}` : ""}`);
  }
  return lines.join("\n");
}
