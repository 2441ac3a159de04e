/** Public API of lib/train: configs + presets, checkpoints, run folders, the training loop, the kind registry, train-or-reuse. */
export * from "./config";
export * from "./checkpoint";
export * from "./run";
export * from "./schedule";
export * from "./trainer";
export * from "./registry";
export * from "./reuse";
export * from "./toy";
