/**
 * The bits-per-dimension sweep of notebook 05: tokenizers at L ∈ {3, 5, 9, 17, 33} levels per channel (d = 4) with the
 * iFSQ bound at every L and the tanh bound at some, by seed, and one AR model and one DiT on the seed-0 iFSQ tokenizer
 * of every L (equal training FLOPs across L per generator kind). The grid and its sizing per preset (quick: ≤ 25 min
 * for the whole notebook on an idle 2-core machine) are in ../bits/grid.ts (`BITS_GRID`); notebook 05 trains or
 * reuses exactly these runs, so `npm run sweep -- bits --preset P` beforehand (sharded, or on Slurm) makes it instant.
 */
import { BITS_GRID, bitsSweepRuns } from "../bits/grid";
import { defineSweep } from "./sweep";

export const bitsSweep = defineSweep({
  name: "bits",
  description: "notebook 05: tokenizers by levels L (iFSQ at every L, tanh at some) and seed, AR + DiT per iFSQ L at equal FLOPs",
  presets: {
    tiny: bitsSweepRuns(BITS_GRID.tiny, "tiny"),
    quick: bitsSweepRuns(BITS_GRID.quick, "quick"),
    "paper-cpu": bitsSweepRuns(BITS_GRID["paper-cpu"], "paper-cpu"),
  },
});
