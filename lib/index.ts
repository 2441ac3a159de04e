export * from "./view/index";
export * from "./backend";
export * from "./rng";
export * from "./nn/index";
export * from "./train/index";
export * from "./data/index";
export * from "./eval/index";
export * from "./quant/index";
