/** The sweeps `npm run sweep -- <name>` knows, by name. */
import { didYouMean } from "../../train/config";
import type { SweepDef } from "./sweep";
import { bitsSweep } from "./bits";
import { tokenizersSweep } from "./tokenizers";
import { repaSweep } from "./repa";
import { toySweep } from "./toy";
import { convergenceSweep } from "./convergence";

export const SWEEPS: ReadonlyMap<string, SweepDef> = new Map([tokenizersSweep, bitsSweep, convergenceSweep, repaSweep, toySweep].map((s) => [s.name, s]));

/** A sweep by name; an unknown one is an error listing the known ones. */
export function getSweep(name: string): SweepDef {
  const s = SWEEPS.get(name);
  if (s) return s;
  const known = [...SWEEPS.keys()].sort();
  const guess = didYouMean(name, known);
  throw new Error(`unknown sweep "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}; sweeps: ${known.join(", ")}`);
}
