/**
 * Registry of trainable kinds for `npm run train -- <kind>`: each model's training module calls
 * `registerTrainKind("tokenizer", { configDef, makeTask })` when it is imported.
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
