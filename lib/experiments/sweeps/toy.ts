/** A grid of `toy` runs (lib/train/toy.ts, seconds each): exercises sweeps, shards and Slurm without real models. */
import { defineSweep, grid } from "./sweep";

export const toySweep = defineSweep({
  name: "toy",
  description: "toy MLP regressions by seed and width (tests of the sweep machinery)",
  presets: {
    tiny: grid("toy", { hidden: [8, 16], seed: [0, 1] }),
    quick: grid("toy", { hidden: [32, 64], seed: [0, 1] }),
    "paper-cpu": grid("toy", { hidden: [64, 128], seed: [0, 1, 2] }),
  },
});
