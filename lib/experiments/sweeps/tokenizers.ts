/**
 * The tokenizers of notebook 02 (FSQ's tanh bound vs iFSQ's 2σ(1.6·z) − 1, 4 bits per channel, levels [17,17,17,17]),
 * at the seeds a verdict needs for a measured spread: two at tiny and quick, three at paper-cpu. Notebook 02
 * (tokenizer/comparison.ts) trains or reuses exactly these runs, so a sweep run beforehand makes it instant.
 */
import { defineSweep, grid } from "./sweep";

const fixed = { levels: [17, 17, 17, 17], alpha: 1.6 };

export const tokenizersSweep = defineSweep({
  name: "tokenizers",
  description: "notebook 02: FSQ (tanh) vs iFSQ tokenizers at 4 bits, by seed",
  presets: {
    tiny: grid("tokenizer", { bound: ["tanh", "ifsq"], seed: [0, 1] }, fixed),
    quick: grid("tokenizer", { bound: ["tanh", "ifsq"], seed: [0, 1] }, fixed),
    "paper-cpu": grid("tokenizer", { bound: ["tanh", "ifsq"], seed: [0, 1, 2] }, fixed),
  },
});
