export * from "./view/index";
export * from "./backend";
export * from "./rng";
export * from "./nn/index";
