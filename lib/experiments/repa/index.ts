/** Notebook 07's study (REPA): the grid and its knobs, training and loading its runs, teacher quality, CKNNA per layer. The report is imported by file; REPA in training is ../repa-training/. */
export * from "./grid";
export * from "./runs";
export * from "./teacher-quality";
export * from "./cknna-layers";
export * from "./final-quality";
