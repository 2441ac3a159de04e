/** Notebook 07's experiment code (REPA): config key, alignment in training, equal FLOPs, the grid, teacher quality, CKNNA per layer. The report is imported by file. */
export * from "./config";
export * from "./alignment";
export * from "./equal-flops";
export * from "./grid";
export * from "./teacher-quality";
export * from "./cknna-layers";
export * from "./final-quality";
