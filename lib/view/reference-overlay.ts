/**
 * The committed reference run's curves drawn over a figure: one dashed line per curve, labelled
 * "reference (committed <preset> run): <curve>", in the colour the caller gives (default grey). Without curves (no
 * reference for this preset yet) the figure is returned unchanged.
 *
 *   show(overlayReference(fig, referenceCurves(readReference("06-ar-vs-diffusion", PRESET)), { preset: PRESET }))
 */
import type { PlotlyFigure } from "./figure";
import { REFERENCE_COLOR } from "./palette";

export interface OverlayCurve {
  name: string;
  x: readonly number[];
  y: readonly number[];
}

export interface OverlayOptions {
  /** The preset the reference was run at (for the label; default "quick"). */
  preset?: string;
  /** Line colour per curve name (default grey). */
  colors?: Readonly<Record<string, string>>;
  /** Display name per curve name (default the curve's name). */
  labels?: Readonly<Record<string, string>>;
}

/** The legend label of a reference curve. */
export function referenceLabel(preset = "quick"): string {
  return `reference (committed ${preset} run)`;
}

/** A copy of `fig` with one dashed trace per reference curve appended; `fig` itself when there are none. */
export function overlayReference(fig: PlotlyFigure, curves: readonly OverlayCurve[], opts: OverlayOptions = {}): PlotlyFigure {
  if (curves.length === 0) return fig;
  const label = referenceLabel(opts.preset);
  const traces = curves.map((c) => ({
    x: [...c.x],
    y: [...c.y],
    type: "scatter" as const,
    mode: "lines" as const,
    name: `${label}: ${opts.labels?.[c.name] ?? c.name}`,
    line: { color: opts.colors?.[c.name] ?? REFERENCE_COLOR, dash: "dash" as const, width: 1.5 },
    hoverinfo: "x+y+name" as const,
  }));
  return { ...fig, data: [...fig.data, ...traces] };
}
