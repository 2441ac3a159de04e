/** Display layer: figures, tables, image grids, Markdown and progress bars that work in a tslab kernel and elsewhere. */
export { inKernel } from "./kernel";
export { show, figureSummary } from "./figure";
export type { PlotlyFigure, ShowOptions } from "./figure";
export { table, tableHtml, tableText } from "./table";
export type { TableOptions, DataFrameLike } from "./table";
export { image, pngGrid } from "./image";
export type { ImageOptions, ImageInput, TensorLike } from "./image";
export { markdown } from "./markdown";
export { progress, formatDuration } from "./progress";
export { liveCurve, liveCurveFigure } from "./live-curve";
export type { LiveCurve, LiveCurveOptions } from "./live-curve";
export type { ProgressBar, ProgressOptions, ProgressSink } from "./progress";
export { figureDir, figurePath } from "./files";
export { overlayReference, referenceLabel } from "./reference-overlay";
export type { OverlayCurve, OverlayOptions } from "./reference-overlay";
