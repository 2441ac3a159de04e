/**
 * Trainable kinds: a `TrainKind` is a config definition plus a task factory. Entry points (scripts, notebooks) pass
 * a `KindRegistry` (name → kind) down to `trainOrReuse` and the sweeps. For now each model's training module also
 * calls `registerTrainKind("tokenizer", { configDef, makeTask })` when it is imported, and entry points build their
 * registry from those (`kindRegistry(trainKinds().map((k) => [k, getTrainKind(k)]))`).
 */
import type { z } from "zod";
import { didYouMean, type AnyObjectSchema, type ConfigDef } from "./config";
import type { TrainTask } from "./trainer";

export interface TrainKind<S extends AnyObjectSchema = AnyObjectSchema> {
  /** One line for `--list`. */
  description?: string;
  configDef: ConfigDef<S>;
  /** Builds a fresh task (parameters initialised from config.seed) for a resolved config. */
  makeTask(config: z.output<S>): TrainTask<unknown> | Promise<TrainTask<unknown>>;
}

const kinds = new Map<string, TrainKind>();

/** Registers (or, for the same spec, re-registers) a kind; a different spec under a taken name is an error. */
export function registerTrainKind<S extends AnyObjectSchema>(kind: string, spec: TrainKind<S>): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(kind)) throw new Error(`registerTrainKind: kind ${JSON.stringify(kind)} must contain only letters, digits, "_", "-", "."`);
  const prev = kinds.get(kind);
  if (prev && prev.configDef !== (spec.configDef as unknown as ConfigDef) && prev.configDef.name !== spec.configDef.name) {
    throw new Error(`registerTrainKind: kind "${kind}" is already registered with config "${prev.configDef.name}"`);
  }
  kinds.set(kind, spec as unknown as TrainKind);
}

/** The registered kinds, sorted. */
export function trainKinds(): string[] {
  return [...kinds.keys()].sort();
}

/** A registered kind; an unknown one is an error listing the known ones. */
export function getTrainKind(kind: string): TrainKind {
  const k = kinds.get(kind);
  if (k) return k;
  const known = trainKinds();
  const guess = didYouMean(kind, known);
  throw new Error(`unknown train kind "${kind}"${guess ? ` (did you mean "${guess}"?)` : ""}; known kinds: ${known.join(", ") || "none registered"}`);
}

/** The kinds an entry point passes down: kind name → kind. */
export type KindRegistry = ReadonlyMap<string, TrainKind>;

/** A KindRegistry from `{ name: kind }` or `[name, kind]` pairs; a bad name or a name given twice is an error. */
export function kindRegistry(kinds: Iterable<readonly [string, TrainKind<AnyObjectSchema>]>): KindRegistry;
export function kindRegistry(kinds: Record<string, TrainKind<AnyObjectSchema>>): KindRegistry;
export function kindRegistry(kinds: Record<string, TrainKind<AnyObjectSchema>> | Iterable<readonly [string, TrainKind<AnyObjectSchema>]>): KindRegistry {
  const pairs = Symbol.iterator in Object(kinds) ? [...(kinds as Iterable<readonly [string, TrainKind<AnyObjectSchema>]>)] : Object.entries(kinds);
  const out = new Map<string, TrainKind>();
  for (const [name, spec] of pairs) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`kindRegistry: kind ${JSON.stringify(name)} must contain only letters, digits, "_", "-", "."`);
    if (out.has(name)) throw new Error(`kindRegistry: kind "${name}" is given twice`);
    out.set(name, spec as unknown as TrainKind);
  }
  return out;
}

/** The kind `name` of a registry; an unknown one is an error listing the known ones. */
export function lookupKind(kinds: KindRegistry, name: string): TrainKind {
  const k = kinds.get(name);
  if (k) return k;
  const known = [...kinds.keys()].sort();
  const guess = didYouMean(name, known);
  throw new Error(`unknown train kind "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}; known kinds: ${known.join(", ") || "none"}`);
}
