/** Sweeps: each figure's grid of runs as data, trained by shard, locally or as a Slurm job array. */
export * from "./sweep";
export * from "./status";
export * from "./run-sweep";
export * from "./slurm";
export * from "./catalog";
export * from "./tokenizers";
export * from "./bits";
export * from "./toy";
