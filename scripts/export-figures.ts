/**
 * `npm run figures`: exports every plotly figure JSON written by `show(fig, { name })` to PNG (2× scale) and SVG,
 * next to the JSON, with headless Chromium driven by playwright-core.
 *
 * Usage: tsx scripts/export-figures.ts [folders or .json files…]   (default: build/figures, recursively)
 * Chromium: $IFSQ_CHROMIUM, else /usr/bin/chromium (Debian: apt-get install --no-install-recommends chromium).
 * Size: layout.width/height when the figure sets them, else 800×450 px. A title wider than the image is wrapped to fit
 * (plotly itself never wraps titles, so long ones were cut off at both edges).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { chromium, type Page } from "playwright-core";

const ROOT = path.resolve(__dirname, "..");
export const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export interface FigureJson {
  data: unknown[];
  layout?: { width?: number; height?: number } & Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** All .json files under the given folders/files, sorted; a notebook's results file (`*.results.json`, no figure) is left out. */
export function findFigureFiles(targets: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
    else if (p.endsWith(".json") && !p.endsWith(".results.json")) out.push(p);
  };
  for (const t of targets) if (fs.existsSync(t)) walk(t);
  return out;
}

function writeAtomic(file: string, content: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

/** The Chromium binary, or an error that says how to get one. */
export function chromiumPath(): string {
  const exe = process.env.IFSQ_CHROMIUM || "/usr/bin/chromium";
  if (!fs.existsSync(exe)) {
    throw new Error(
      `Chromium not found at ${exe}; figure export needs a headless Chromium. ` +
        `Debian/Ubuntu: sudo apt-get install --no-install-recommends chromium (or run 'npm run setup' as root); ` +
        `elsewhere install Chromium or Chrome and set IFSQ_CHROMIUM=/path/to/chromium.`,
    );
  }
  return exe;
}

/** Splits `text` at spaces into lines of at most `maxChars` characters (existing `<br>` breaks are kept). */
export function wrapTitle(text: string, maxChars: number): string {
  if (!(maxChars >= 1)) throw new Error(`wrapTitle: maxChars=${maxChars}; expected ≥ 1`);
  return text.split(/<br\s*\/?>/i).map((line) => {
    const out: string[] = [];
    let cur = "";
    for (const word of line.split(" ")) {
      if (cur && cur.length + 1 + word.length > maxChars) {
        out.push(cur);
        cur = word;
      } else cur = cur ? `${cur} ${word}` : word;
    }
    out.push(cur);
    return out.join("<br>");
  }).join("<br>");
}

/** The title's bounding box in image pixels and its line count, after rendering. */
export interface TitleFit {
  lines: number;
  box: { x0: number; x1: number; y0: number; y1: number } | null;
}

/**
 * Renders `fig` at width×height in the export page (which has loaded plotly.js) and returns its SVG (text) and PNG
 * (base64 data URL). Plotly never wraps a title, so with `fitTitle` (default) a title wider than the image is broken
 * at spaces into lines that fit (line length from the measured width), with the top margin
 * grown to hold them; `title` reports the final title box, which lies inside the image.
 */
export async function renderFigure(tab: Page, fig: FigureJson, width: number, height: number, fitTitle = true): Promise<{ svg: string; png: string; title: TitleFit }> {
  type Api = { react(el: unknown, data: unknown[], layout: unknown, config: unknown): Promise<unknown>; toImage(el: unknown, o: { format: string; width: number; height: number; scale?: number }): Promise<string>; purge(el: unknown): void };
  type Box = { x: number; y: number; width: number; height: number };
  const draw = (layout: Record<string, unknown>) => tab.evaluate(async ({ fig, layout, width, height }) => {
    const g = globalThis as unknown as { Plotly: Api; document: { getElementById(id: string): { getBoundingClientRect(): Box; querySelector(s: string): { getBoundingClientRect(): Box; querySelectorAll(s: string): ArrayLike<unknown> } | null } } };
    const el = g.document.getElementById("g");
    await g.Plotly.react(el, fig.data, { ...layout, width, height }, { ...(fig.config ?? {}), staticPlot: true });
    const t = el.querySelector(".gtitle");
    const r = el.getBoundingClientRect();
    const b = t ? t.getBoundingClientRect() : null;
    return b && b.width > 0 ? { x0: b.x - r.x, x1: b.x - r.x + b.width, y0: b.y - r.y, y1: b.y - r.y + b.height } : null;
  }, { fig, layout, width, height });
  const layout: Record<string, unknown> = { ...(fig.layout ?? {}) };
  let box = await draw(layout);
  const rawTitle = layout.title as string | { text?: string; font?: { size?: number } } | undefined;
  const text = typeof rawTitle === "string" ? rawTitle : rawTitle?.text;
  let lines = text ? text.split(/<br\s*\/?>/i).length : 0;
  const PAD = 10;
  for (let tries = 0; fitTitle && text && box && (box.x1 - box.x0 > width - 2 * PAD || box.x0 < 0 || box.x1 > width || box.y0 < 0) && tries < 4; tries++) {
    const longest = Math.max(...text.split(/<br\s*\/?>/i).map((l) => l.length));
    const maxChars = Math.max(10, Math.floor((longest * (width - 4 * PAD)) / Math.max(1, box.x1 - box.x0)) - tries * 4);
    const wrapped = wrapTitle(text, maxChars);
    lines = wrapped.split("<br>").length;
    const size = (typeof rawTitle === "object" && rawTitle.font?.size) || 17;
    const margin = (layout.margin as Record<string, number> | undefined) ?? {};
    const top = Math.max(margin.t ?? 100, Math.ceil(2 * PAD + lines * size * 1.4 + 30));
    layout.title = { ...(typeof rawTitle === "object" ? rawTitle : {}), text: wrapped };
    layout.margin = { ...margin, t: top };
    box = await draw(layout);
  }
  const [svg, png] = await tab.evaluate(async ({ width, height }) => {
    const g = globalThis as unknown as { Plotly: Api; document: { getElementById(id: string): unknown } };
    const el = g.document.getElementById("g");
    const out = [await g.Plotly.toImage(el, { format: "svg", width, height }), await g.Plotly.toImage(el, { format: "png", width, height, scale: 2 })];
    g.Plotly.purge(el);
    return out;
  }, { width, height });
  return { svg, png, title: { lines, box } };
}

/** The export page: plotly.js from node_modules, one empty div #g. Returns its file (in `dir`). */
export function exportPage(dir: string): string {
  const page = path.join(dir, "page.html");
  const plotly = pathToFileURL(require.resolve("plotly.js-dist-min")).href;
  fs.writeFileSync(page, `<!doctype html><html><head><meta charset="utf-8"><script src="${plotly}"></script></head>` +
    `<body style="margin:0;background:white"><div id="g"></div></body></html>`);
  return page;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const targets = args.length ? args.map((a) => path.resolve(a)) : [path.join(ROOT, "build", "figures")];
  const files = findFigureFiles(targets);
  if (files.length === 0) {
    console.log(`figures: no figure JSON under ${targets.map((t) => path.relative(ROOT, t) || ".").join(", ")} (run the notebooks first: npm run reproduce)`);
    return 0;
  }
  const exe = chromiumPath();
  const t0 = Date.now();
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-figures-"));
  const page = exportPage(tmpDir);
  const browser = await chromium.launch({ executablePath: exe, args: LAUNCH_ARGS });
  let failed = 0;
  let exported = 0;
  try {
    const tab = await browser.newPage();
    await tab.goto(pathToFileURL(page).href);
    // The page callbacks run in the browser; tsconfig has no DOM types, so they reach it through globalThis.
    await tab.waitForFunction(() => typeof (globalThis as unknown as { Plotly?: unknown }).Plotly !== "undefined");
    for (const file of files) {
      const rel = path.relative(ROOT, file);
      let fig: FigureJson;
      try {
        fig = JSON.parse(fs.readFileSync(file, "utf8")) as FigureJson;
      } catch (e) {
        console.error(`figures: ${rel}: not valid JSON (${(e as Error).message})`);
        failed++;
        continue;
      }
      if (!fig || !Array.isArray(fig.data)) {
        console.log(`figures: ${rel}: skipped (no "data" array, so not a plotly figure)`);
        continue;
      }
      const width = typeof fig.layout?.width === "number" ? fig.layout.width : 800;
      const height = typeof fig.layout?.height === "number" ? fig.layout.height : 450;
      try {
        const { svg, png } = await renderFigure(tab, fig, width, height);
        const base = file.slice(0, -".json".length);
        const svgText = decodeURIComponent(svg.slice(svg.indexOf(",") + 1));
        writeAtomic(`${base}.svg`, svgText);
        writeAtomic(`${base}.png`, Buffer.from(png.slice(png.indexOf(",") + 1), "base64"));
        exported++;
        console.log(`figures: ${rel} → .png, .svg (${width}×${height})`);
      } catch (e) {
        console.error(`figures: ${rel}: export failed: ${(e as Error).message.split("\n")[0]}`);
        failed++;
      }
    }
  } finally {
    await browser.close();
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
  console.log(`figures: ${exported} exported, ${failed} failed, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`figures: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
