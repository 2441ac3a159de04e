/** Notebook 01, activation collapse: config, the sections of the exact analysis, the α sweep, the quantizer checks. */
export * from "./config";
export * from "./section";
export * from "./bounded-distribution";
export * from "./alpha-sweep";
export * from "./quantizer-checks";
export * from "./explorer";
export * from "./codebook-calculator";
