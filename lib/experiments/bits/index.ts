/** The bits-per-dimension sweep of notebook 05: grid, runs and evaluation, aggregation, knee (report.ts is imported by file). */
export * from "./grid";
export * from "./run";
export * from "./aggregate";
export * from "./knee";
