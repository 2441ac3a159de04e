/**
 * What every section of notebook 01 returns (a figure, a computed conclusion, the rows behind the figure), and the
 * small helpers the sections share: the two bounds' constants at a config's α, ranges, percentages.
 */
import type * as Plotly from "plotly.js";
import { boundConstants, type BoundConstants } from "../../quant/bounds";
import { methodStyle, REFERENCE_COLOR } from "../../view/palette";
import type { ActivationCollapseConfig } from "./config";

/** A plotly figure (the shape `show` takes). */
export interface Figure {
  data: Partial<Plotly.Data>[];
  layout: Partial<Plotly.Layout>;
}

export interface Section {
  figure: Figure;
  /** One or two sentences whose numbers are computed, Markdown. */
  conclusion: string;
  /** The numbers behind the figure, for `table(...)`. */
  rows?: Record<string, number | string>[];
}

/** The palette's colours of the two bounds and of the ideal (uniform) reference. */
export const COLORS = { tanh: methodStyle("tanh").color, ifsq: methodStyle("ifsq").color, ideal: REFERENCE_COLOR };
export const pct = (p: number, digits = 1) => `${(100 * p).toFixed(digits)} %`;
export const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

export function checkRange(range: readonly number[], name: string): [number, number] {
  const [lo, hi] = range;
  if (!(lo < hi)) throw new Error(`${name}=[${lo}, ${hi}] is empty; expected [low, high] with low < high`);
  return [lo, hi];
}

export function shapes(cfg: ActivationCollapseConfig, L: number): { tanh: BoundConstants; ifsq: BoundConstants } {
  return { tanh: boundConstants("tanh", L), ifsq: boundConstants({ kind: "ifsq", alpha: cfg.alpha }, L) };
}
