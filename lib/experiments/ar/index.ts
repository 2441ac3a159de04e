/** The `ar` kind: config + presets, task and train-or-reuse, sampling, gFID. */
export * from "./config";
export * from "./task";
export * from "./sample";
export * from "./evaluate";
