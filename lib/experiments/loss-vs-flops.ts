/**
 * The loss-vs-training-FLOPs figure shared by notebooks 02–04: one line per (run, metric), x = the run's cumulative
 * training FLOPs at each log window (matmul work, 2·MAC, training = 3 × forward, the same convention for every kind),
 * and optionally the in-run gFID evaluations on a right axis.
 *
 *   show(lossVsFlopsFigure({ title: "…", yTitle: "…", curves: [{ name: "NLL", rows: trainRows(ar), key: "loss" }] }), { name: "03-loss-vs-flops" })
 */
import type { MetricsRow } from "../train/run";
import type { PlotlyFigure } from "../view/figure";

export interface LossCurve {
  name: string;
  /** Train rows (each with `flops` and the metric `key`). */
  rows: MetricsRow[];
  /** Metric to plot (default "loss"); rows without it fall back to `fallbackKey`. */
  key?: string;
  fallbackKey?: string;
  color?: string;
  dash?: "solid" | "dot" | "dash";
  width?: number;
  /** Legend group (lines of one method toggle together). */
  group?: string;
}

export interface EvalCurve {
  name: string;
  /** Eval rows (each with `step` and the metric `key`). */
  rows: MetricsRow[];
  key: string;
  /** Training FLOPs per step, to place an eval row (which has only its step) on the x axis. */
  flopsPerStep: number;
}

export interface LossVsFlopsOptions {
  title: string;
  yTitle: string;
  curves: LossCurve[];
  evals?: EvalCurve[];
  /** Title of the right axis (default "gFID"). */
  y2Title?: string;
  logY?: boolean;
  height?: number;
}

/** The figure; evaluations without rows are left out (and then so is the right axis). */
export function lossVsFlopsFigure(o: LossVsFlopsOptions): PlotlyFigure {
  const data: any[] = o.curves.map((c) => {
    const key = c.key ?? "loss";
    return {
      x: c.rows.map((r) => Number(r.flops)),
      y: c.rows.map((r) => Number(r[key] ?? (c.fallbackKey ? r[c.fallbackKey] : NaN))),
      type: "scatter",
      mode: "lines",
      name: c.name,
      ...(c.group ? { legendgroup: c.group } : {}),
      line: { ...(c.color ? { color: c.color } : {}), ...(c.dash ? { dash: c.dash } : {}), ...(c.width ? { width: c.width } : {}) },
    };
  });
  const evals = (o.evals ?? []).filter((e) => e.rows.length > 0);
  for (const e of evals) {
    data.push({ x: e.rows.map((r) => Number(r.step) * e.flopsPerStep), y: e.rows.map((r) => Number(r[e.key])), type: "scatter", mode: "lines+markers", name: e.name, yaxis: "y2" });
  }
  const layout: any = {
    title: { text: o.title },
    height: o.height ?? 380,
    xaxis: { title: { text: "training FLOPs" }, type: "log" },
    yaxis: { title: { text: o.yTitle }, ...(o.logY ? { type: "log" } : {}) },
  };
  if (evals.length) layout.yaxis2 = { title: { text: o.y2Title ?? "gFID" }, overlaying: "y", side: "right", showgrid: false };
  return { data, layout };
}
