/**
 * The explicit list of studies `npm run sweep -- <name>` knows (as kinds.ts lists the kinds): each study lives in its
 * own folder with its grid (`<study>/grid.ts`); the sweep engine (sweeps/) knows none of them.
 */
import { didYouMean } from "../train/config";
import { catalogStudy, type CatalogStudy } from "./plan";
import { tokenizersStudy } from "./bin-histograms/grid";
import { bitsStudy } from "./bits/grid";
import { convergenceStudy } from "./convergence/grid";
import { repaStudy } from "./repa/grid";
import { toyStudy } from "./toy-study";

export const STUDIES: ReadonlyMap<string, CatalogStudy> = new Map(
  [catalogStudy(tokenizersStudy), catalogStudy(bitsStudy), catalogStudy(convergenceStudy), catalogStudy(repaStudy), catalogStudy(toyStudy)].map((s) => [s.name, s]),
);

/** A study by name; an unknown one is an error listing the known ones. */
export function getStudy(name: string): CatalogStudy {
  const s = STUDIES.get(name);
  if (s) return s;
  const known = [...STUDIES.keys()].sort();
  const guess = didYouMean(name, known);
  throw new Error(`unknown study "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}; studies: ${known.join(", ")}`);
}
