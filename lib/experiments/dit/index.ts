/** The `dit` kind: config + presets, task and train-or-reuse, sampling, gFID and its sweeps. */
export * from "./config";
export * from "./task";
export * from "./sample";
export * from "./evaluate";
