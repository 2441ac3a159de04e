/**
 * Trainable kinds: a `TrainKind` is a config definition plus a task factory. Entry points (scripts, notebooks) pass
 * a `KindRegistry` (name → kind) down to `trainOrReuse` and the sweeps; the project's kinds are built in one place,
 * lib/experiments/kinds.ts (`runEnv()`). Nothing registers itself on import.
 */
import type { z } from "zod";
import { didYouMean, type AnyObjectSchema, type ConfigDef } from "./config";
import type { TrainTask } from "./trainer";

export interface TrainKind<S extends AnyObjectSchema = AnyObjectSchema> {
  /** One line for `--list`. */
  description?: string;
  configDef: ConfigDef<S>;
  /**
   * false, or a sentence saying why, when the loss couples the rows of a batch (e.g. contrastive negatives): such a
   * kind is never split over data-parallel workers (./workers). Default: it may be.
   */
  dataParallel?: false | string;
  /** Builds a fresh task (parameters initialised from config.seed) for a resolved config. */
  makeTask(config: z.output<S>): TrainTask<unknown> | Promise<TrainTask<unknown>>;
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
