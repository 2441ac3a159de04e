/**
 * `show(fig)`: plotly figures in a notebook, in the exported HTML, and on disk.
 *
 * In a tslab kernel one output carries three renderings, and each front end picks the richest it can show:
 *   - `application/vnd.plotly.v1+json`: the figure itself (JupyterLab with the plotly renderer, VS Code);
 *   - `text/html`: a div plus a `Plotly.newPlot` script (classic Notebook, JupyterLab, nbconvert HTML). The 4.8 MB
 *     plotly.js bundle is inlined in the first figure of each kernel session only; later figures reuse `window.Plotly`;
 *   - `text/plain`: a one-line summary.
 * Outside a kernel the one-line summary goes to stdout. With `opts.name` the figure JSON is also written atomically to
 * `<figureDir>/<name>.json`, which `npm run figures` exports to PNG and SVG.
 */
import * as fs from "fs";
import type * as Plotly from "plotly.js";
import { emitDisplay, escapeHtml, inKernel, newDisplayId } from "./kernel";
import { figurePath } from "./files";
import { writeFileAtomic } from "../atomic";

export interface PlotlyFigure {
  data: Partial<Plotly.Data>[];
  layout?: Partial<Plotly.Layout>;
  config?: Partial<Plotly.Config>;
  /** Animation frames (sliders whose steps animate to a named frame: they work without a kernel). */
  frames?: Partial<Plotly.Frame>[];
}

export interface ShowOptions {
  /** File name (no extension) for `<figureDir>/<name>.json`; omitted: nothing is written. */
  name?: string;
}

const SESSION = globalThis as { __ifsqPlotlyInlined?: boolean };

/** Forgets that the plotly.js bundle was sent, so the next figure inlines it again (after clearing outputs). */
export function resetPlotlyBundle(): void {
  SESSION.__ifsqPlotlyInlined = false;
}

/**
 * True when the plotly.js bundle has not been sent in this kernel session yet; the caller then inlines it in its next
 * output (`figureHtml(fig, { bundle: true })`) and it counts as sent from now on.
 */
export function claimPlotlyBundle(): boolean {
  const first = SESSION.__ifsqPlotlyInlined !== true;
  SESSION.__ifsqPlotlyInlined = true;
  return first;
}

/** JSON with typed arrays turned into plain arrays (plotly and JSON both need them). */
export function toPlainJson(fig: PlotlyFigure): PlotlyFigure {
  const text = JSON.stringify(fig, (_key, value: unknown) =>
    ArrayBuffer.isView(value) && !(value instanceof DataView) ? Array.from(value as unknown as ArrayLike<number>) : value,
  );
  return JSON.parse(text) as PlotlyFigure;
}

function titleOf(layout: Partial<Plotly.Layout> | undefined): string | undefined {
  const t = layout?.title as string | { text?: string } | undefined;
  if (typeof t === "string") return t;
  return t?.text;
}

/** One line describing a figure: `figure "loss": 2 traces (scatter×2), title "Loss"`. */
export function figureSummary(fig: PlotlyFigure, name?: string): string {
  const counts = new Map<string, number>();
  for (const trace of fig.data) {
    const type = (trace as { type?: string }).type ?? "scatter";
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  const kinds = [...counts].map(([k, n]) => (n > 1 ? `${k}×${n}` : k)).join(", ");
  const title = titleOf(fig.layout);
  return `figure${name ? ` "${name}"` : ""}: ${fig.data.length} trace${fig.data.length === 1 ? "" : "s"}` +
    `${kinds ? ` (${kinds})` : ""}${title ? `, title ${JSON.stringify(title)}` : ""}`;
}

/** The plotly.js bundle as the body of an inline <script>: `</script` and `<!--` cannot end or confuse the element. */
export function plotlyBundleForInlineScript(): string {
  const src = fs.readFileSync(require.resolve("plotly.js-dist-min"), "utf8");
  return src.replace(/<\/script/gi, "\\x3C/script").replace(/<!--/g, "\\x3C!--");
}

/** HTML that draws `fig` with `window.Plotly` (optionally preceded by the inlined bundle). */
export function figureHtml(fig: PlotlyFigure, opts: { id?: string; bundle?: boolean } = {}): string {
  const id = opts.id ?? newDisplayId("ifsq-fig");
  const height = typeof fig.layout?.height === "number" ? fig.layout.height : 450;
  const json = JSON.stringify(fig).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
  const bundle = opts.bundle ? `<script type="text/javascript">${plotlyBundleForInlineScript()}</script>\n` : "";
  return (
    bundle +
    `<div id="${escapeHtml(id)}" class="ifsq-figure" style="width:100%;height:${height}px;"></div>\n` +
    `<script type="text/javascript">(function () {\n` +
    `  var el = document.getElementById(${JSON.stringify(id)});\n` +
    `  var fig = ${json};\n` +
    `  if (window.Plotly) {\n` +
    `    window.Plotly.newPlot(el, { data: fig.data, layout: fig.layout || {}, frames: fig.frames || [], config: Object.assign({ responsive: true, displaylogo: false }, fig.config || {}) });\n` +
    `  } else {\n` +
    `    el.style.height = "auto";\n` +
    `    el.textContent = "plotly.js is not loaded on this page (it is inlined in the first figure of each kernel session): run the notebook from the top.";\n` +
    `  }\n` +
    `})();</script>`
  );
}

/**
 * Shows a plotly figure (see the file comment) and, with `opts.name`, writes its JSON for `npm run figures`
 * (to `figurePath(name, "json")`). Returns nothing, so a notebook cell ending in `show(…)` prints nothing extra.
 */
export function show(fig: PlotlyFigure, opts: ShowOptions = {}): void {
  if (!fig || !Array.isArray(fig.data)) {
    throw new Error(`show: expected a figure { data: Trace[], layout? }, got ${fig === null ? "null" : typeof fig}${fig && !Array.isArray(fig.data) ? " without a data array" : ""}`);
  }
  const plain = toPlainJson(fig);
  let file: string | null = null;
  if (opts.name !== undefined) {
    file = figurePath(opts.name, "json");
    writeFileAtomic(file, JSON.stringify(plain) + "\n");
  }
  const summary = figureSummary(plain, opts.name) + (file ? ` → ${file}` : "");
  if (inKernel()) {
    const bundle = claimPlotlyBundle();
    emitDisplay({
      "application/vnd.plotly.v1+json": { data: plain.data, layout: plain.layout ?? {}, config: plain.config ?? {}, ...(plain.frames ? { frames: plain.frames } : {}) },
      "text/html": figureHtml(plain, { bundle }),
      "text/plain": summary,
    });
  } else {
    console.log(summary);
  }
}
