/** A study of `toy` runs (lib/train/toy.ts, seconds each): exercises planning, shards and Slurm without real models. */
import type { PresetName } from "../train/config";
import { defineStudy, type StudyRun } from "./plan";

/** The toy study's knobs: hidden widths × seeds. */
export interface ToySetup {
  preset: PresetName;
  hidden: number[];
  seeds: number[];
}

export const toyStudy = defineStudy({
  name: "toy",
  description: "toy MLP regressions by seed and width (tests of the sweep machinery)",
  setup: (preset: PresetName): ToySetup => ({ preset, hidden: preset === "tiny" ? [8, 16] : preset === "quick" ? [32, 64] : [64, 128], seeds: preset === "paper-cpu" ? [0, 1, 2] : [0, 1] }),
  runs: (s: ToySetup) => s.hidden.flatMap((hidden) => s.seeds.map((seed): StudyRun => ({ label: `hidden=${hidden} seed=${seed}`, kind: "toy", overrides: { hidden, seed } }))),
});
