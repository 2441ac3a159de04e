/**
 * `liveCurve({ title })`: a plotly loss curve (and, where a run evaluates, its gFID / rFID / PSNR) that updates in
 * place in the notebook while a run trains. One output with a display id, rewritten through `update_display_data`
 * (view/kernel.ts `emitDisplay`), at most once per `intervalMs` (default 1000 ms; view/throttle.ts, the progress
 * bars' rate limit) and once more at `done()`. Outside a kernel it shows nothing: the runner's terminal keeps its
 * text progress lines.
 *
 * Figure: left, the training rows' `loss` against the step (log y); right, each evaluation metric of EVAL_METRICS the
 * eval rows carry, against the step. The output's metadata carries `{ ifsq_live_curve: { title, trainPoints,
 * evalPoints, updates, finished } }` for tools (the browser test counts updates with it).
 * The plotly.js bundle is inlined in the first and final rendering when no figure of this kernel session sent it
 * yet, so the saved notebook's final curve draws on its own; the updates in between reuse `window.Plotly`.
 */
import type * as Plotly from "plotly.js";
import { emitDisplay, inKernel, newDisplayId } from "./kernel";
import { claimPlotlyBundle, figureHtml, figureSummary, toPlainJson, type PlotlyFigure } from "./figure";
import { throttle } from "./throttle";

/** Output-metadata key of a live curve's state. */
export const LIVE_CURVE_METADATA_KEY = "ifsq_live_curve";

/** Evaluation metrics drawn on the right, in this order, when the eval rows have them. */
export const EVAL_METRICS = ["gfid", "gfidGuided", "rfid", "psnr"] as const;

/** A metrics row (lib/train/run's MetricsRow): train rows carry `loss`, eval rows the metrics above. */
export interface CurveRow {
  type: "train" | "eval";
  step: number;
  [key: string]: number | string;
}

export interface LiveCurveOptions {
  title: string;
  /** Rows already recorded (a resumed run), drawn from the start. */
  history?: readonly CurveRow[];
  /** "kernel" draws; anything else (default: kernel when in a tslab kernel, else "none") draws nothing. */
  sink?: "kernel" | "none";
  /** Minimum milliseconds between renderings (default 1000). */
  intervalMs?: number;
  /** Clock (default Date.now); for tests. */
  now?: () => number;
  /** Receives each rendering instead of the kernel (tests). */
  emit?: (fig: PlotlyFigure, state: LiveCurveState, first: boolean) => void;
}

export interface LiveCurveState {
  title: string;
  trainPoints: number;
  evalPoints: number;
  /** Renderings so far, the one being sent included. */
  updates: number;
  finished: boolean;
}

export interface LiveCurve {
  /** Adds one metrics row (train rows without a finite loss and eval rows without a drawn metric are ignored). */
  add(row: CurveRow): void;
  /** The final rendering; idempotent. */
  done(): void;
  readonly state: LiveCurveState;
}

/** The figure of a live curve for `rows` (pure). */
export function liveCurveFigure(rows: readonly CurveRow[], title: string, finished = false): PlotlyFigure {
  const train = rows.filter((r) => r.type === "train" && typeof r.loss === "number" && Number.isFinite(r.loss));
  const evals = rows.filter((r) => r.type === "eval");
  const data: Partial<Plotly.Data>[] = [
    { x: train.map((r) => r.step), y: train.map((r) => r.loss as number), name: "train loss", type: "scatter", mode: "lines", line: { color: "#1f77b4", width: 2 } },
  ];
  const colors = ["#d62728", "#ff7f0e", "#2ca02c", "#9467bd"];
  EVAL_METRICS.forEach((key, i) => {
    const pts = evals.filter((r) => typeof r[key] === "number" && Number.isFinite(r[key] as number));
    if (pts.length === 0) return;
    data.push({ x: pts.map((r) => r.step), y: pts.map((r) => r[key] as number), name: key, type: "scatter", mode: "lines+markers", xaxis: "x2", yaxis: "y2", line: { color: colors[i] } } as Partial<Plotly.Data>);
  });
  const hasEval = data.length > 1;
  const last = train.length ? train[train.length - 1] : null;
  const status = finished ? "finished" : "training";
  return {
    data,
    layout: {
      title: { text: `${title} (${status}${last ? `, step ${last.step}, loss ${(last.loss as number).toPrecision(4)}` : ""})`, font: { size: 13 } },
      ...(hasEval ? { grid: { rows: 1, columns: 2, pattern: "independent" } } : {}),
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "loss" }, type: "log" },
      ...(hasEval ? { xaxis2: { title: { text: "step" } }, yaxis2: { title: { text: "evaluation" } } } : {}),
      height: 320,
      margin: { t: 50 },
    } as Partial<Plotly.Layout>,
  };
}

export function liveCurve(opts: LiveCurveOptions): LiveCurve {
  const sink = opts.emit ? "kernel" : opts.sink ?? (inKernel() ? "kernel" : "none");
  const rows: CurveRow[] = [...(opts.history ?? [])];
  const state: LiveCurveState = { title: opts.title, trainPoints: 0, evalPoints: 0, updates: 0, finished: false };
  const displayId = newDisplayId("ifsq-curve");
  const figId = newDisplayId("ifsq-curve-fig");
  let ownsBundle = false;
  const count = () => {
    state.trainPoints = rows.filter((r) => r.type === "train").length;
    state.evalPoints = rows.filter((r) => r.type === "eval").length;
  };
  const render = () => {
    if (sink !== "kernel") return;
    count();
    const first = state.updates === 0;
    state.updates += 1;
    const fig = toPlainJson(liveCurveFigure(rows, opts.title, state.finished));
    if (opts.emit) {
      opts.emit(fig, { ...state }, first);
      return;
    }
    if (first) ownsBundle = claimPlotlyBundle();
    const bundle = ownsBundle && (first || state.finished);
    emitDisplay(
      { "text/html": figureHtml(fig, { id: figId, bundle }), "text/plain": figureSummary(fig, "live curve") },
      { displayId, update: !first, metadata: { [LIVE_CURVE_METADATA_KEY]: { ...state } } },
    );
  };
  const limit = throttle(render, opts.intervalMs ?? 1000, opts.now);
  return {
    add(row: CurveRow) {
      if (state.finished) return;
      const drawn = row.type === "train" ? typeof row.loss === "number" : EVAL_METRICS.some((k) => typeof row[k] === "number");
      if (!drawn) return;
      rows.push(row);
      limit.request();
    },
    done() {
      if (state.finished) return;
      state.finished = true;
      limit.stop();
      render();
    },
    get state() {
      count();
      return { ...state };
    },
  };
}
