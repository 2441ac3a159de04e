/** The `tokenizer` kind: config + presets, task and train-or-reuse, evaluation. */
export * from "./config";
export * from "./task";
export * from "./evaluate";
