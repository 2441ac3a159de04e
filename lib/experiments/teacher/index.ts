/** The `teacher` kind (REPA's frozen encoder): config + presets, task, loading, quality, the patch-feature cache. */
export * from "./config";
export * from "./task";
export * from "./evaluate";
export * from "./features";
