/** The sweep engine: planned runs trained by shard, locally or as a Slurm job array; run status. It knows no study (lib/experiments/studies.ts lists them). */
export * from "./sweep";
export * from "./status";
export * from "./run-sweep";
export * from "./slurm";
