/** The `featurenet` kind: config + presets, task, loading the frozen network, accuracy. */
export * from "./config";
export * from "./task";
export * from "./evaluate";
