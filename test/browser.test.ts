/**
 * The front end in a real browser: Debian's headless Chromium (playwright-core) against
 *   1. the classic Notebook served on 127.0.0.1 with the project's tslab kernel (.jupyter via JUPYTER_PATH): a copy
 *      of notebook 01 at IFSQ_PRESET=tiny plus one short training cell is run from the page ("run all"); then every
 *      figure must have rendered (plotly's SVG inside every `.ifsq-figure`), clicking slider ticks of each explorer
 *      must change its figure (bars and title), the training cell's live curve must have been re-rendered in place
 *      with more points each time, and the page must log no errors;
 *   2. that executed notebook saved and exported to HTML (nbconvert): every figure renders from the file alone and an
 *      explorer's slider still changes its figure without a kernel.
 * Needs /usr/bin/chromium (or $IFSQ_CHROMIUM) and /usr/bin/jupyter-notebook: in CI (CI=true) a missing one FAILS the
 * test with the install command; elsewhere the test is skipped with that message. Prints its counts (figures,
 * slider steps, live-curve updates) as one `browser:` line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { pathToFileURL } from "url";
import { chromium, type Page } from "playwright-core";
import { chromiumPath, LAUNCH_ARGS } from "../scripts/export-figures";

const ROOT = path.resolve(__dirname, "..");
const NOTEBOOK_UI = "/usr/bin/jupyter-notebook";
const NB01 = path.join(ROOT, "notebooks", "01-activation-collapse.ipynb");
const SLIDER_CLICKS = 3; // per explorer
const TRAIN_STEPS = 2400; // toy MLP at ~1.5 ms/step: a few seconds, so the 1 s rate limit allows several updates

/** Why the test cannot run here, or null. */
function missing(): string | null {
  try {
    chromiumPath();
  } catch (e) {
    return (e as Error).message;
  }
  if (!fs.existsSync(NOTEBOOK_UI)) return `${NOTEBOOK_UI} is missing; install the classic Notebook: apt-get install --no-install-recommends jupyter-notebook (scripts/setup.sh does in CI)`;
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The short training cell appended to notebook 01's copy: a toy run with the trainer's live curve. */
const TRAIN_CELL = [
  'import { toyConfig, makeToyTask, train } from "./lib/train/index";',
  `const toyCfg = resolveConfig(toyConfig, { preset: "tiny", overrides: { steps: ${TRAIN_STEPS}, logEvery: 20, evalEvery: 0, ckptEvery: 0 } });`,
  "const toyRun = await train(makeToyTask(toyCfg), { resume: false });",
  'markdown(`toy run: ${toyRun.step} steps`);',
].join("\n");

/** Counts, per plotly figure div: rendered or not, and whether it is an explorer (has a slider). */
async function figures(page: Page): Promise<{ total: number; rendered: number; explorers: number; notLoaded: number }> {
  return page.evaluate(() => {
    const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ querySelector(s: string): unknown; textContent: string | null }> } }).document;
    const all = Array.from(doc.querySelectorAll(".ifsq-figure"));
    return {
      total: all.length,
      rendered: all.filter((el) => el.querySelector(".main-svg") !== null).length,
      explorers: all.filter((el) => el.querySelector(".slider-container") !== null).length,
      notLoaded: all.filter((el) => (el.textContent ?? "").includes("plotly.js is not loaded")).length,
    };
  });
}

/**
 * Clicks `clicks` slider ticks of every explorer (figures with a slider) and checks each click changes the figure:
 * the slider's active step, the middle panel's bars and the title. Returns the number of steps checked.
 */
async function checkSliders(page: Page, clicks: number): Promise<number> {
  const count = await page.evaluate(() => (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } }).document.querySelectorAll(".ifsq-figure .slider-container").length);
  let checked = 0;
  for (let f = 0; f < count; f++) {
    const ticks = await page.evaluate((f) => {
      type El = { getBoundingClientRect(): { x: number; y: number; width: number; height: number }; querySelectorAll(s: string): ArrayLike<El>; querySelector(s: string): El | null; scrollIntoView(o: unknown): void };
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<El> } }).document;
      const slider = doc.querySelectorAll(".ifsq-figure .slider-container")[f];
      slider.scrollIntoView({ block: "center" });
      const rail = slider.querySelector(".slider-rail-touch-rect")!.getBoundingClientRect();
      return Array.from(slider.querySelectorAll(".slider-tick-rect")).map((t) => {
        const r = t.getBoundingClientRect();
        return { x: r.x + r.width / 2, y: rail.y + rail.height / 2 };
      });
    }, f);
    assert.ok(ticks.length >= 3, `explorer ${f}: ${ticks.length} slider ticks`);
    const state = () => page.evaluate((f) => {
      type Gd = { data: { y: number[] }[]; layout: { sliders: { active: number }[]; title: { text: string } } };
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ closest(s: string): unknown }> } }).document;
      const gd = doc.querySelectorAll(".ifsq-figure .slider-container")[f].closest(".ifsq-figure") as Gd;
      return { active: gd.layout.sliders[0].active, bars: JSON.stringify(gd.data[3].y), title: gd.layout.title.text };
    }, f);
    const targets = [0, Math.floor(ticks.length / 2), ticks.length - 1].slice(0, clicks);
    let before = await state();
    for (const k of targets) {
      if (before.active === k) continue; // already there: click a different one next
      await page.mouse.click(ticks[k].x, ticks[k].y);
      await page.waitForFunction(
        ([f, k]) => {
          const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ closest(s: string): unknown }> } }).document;
          const gd = doc.querySelectorAll(".ifsq-figure .slider-container")[f].closest(".ifsq-figure") as { layout: { sliders: { active: number }[] } };
          return gd.layout.sliders[0].active === k;
        },
        [f, k] as const,
        { timeout: 5000 },
      );
      await sleep(100);
      const after = await state();
      assert.equal(after.active, k, `explorer ${f}: slider step ${k} is active after its click`);
      assert.notEqual(after.bars, before.bars, `explorer ${f}: step ${k} did not change the bars`);
      assert.notEqual(after.title, before.title, `explorer ${f}: step ${k} did not change the title`);
      before = after;
      checked++;
    }
  }
  return checked;
}

test("browser: classic Notebook runs notebook 01 and a training cell; figures, sliders, live curve, HTML export", { timeout: 240_000 }, async (t) => {
  const why = missing();
  if (why) {
    if (process.env.CI === "true") assert.fail(`browser test cannot run in CI: ${why}`);
    t.skip(why);
    return;
  }
  const t0 = Date.now();
  const work = path.join(ROOT, "build", "browser-test", String(process.pid));
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.symlinkSync(path.join(ROOT, "lib"), path.join(work, "lib"));
  const nb = JSON.parse(fs.readFileSync(NB01, "utf8")) as { cells: { cell_type: string; source: string[] | string; outputs?: unknown[]; metadata: object; execution_count?: null; id?: string }[] };
  nb.cells.push({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source: TRAIN_CELL, id: "browser-train" });
  fs.writeFileSync(path.join(work, "nb01.ipynb"), JSON.stringify(nb));
  // Notebook 6 loads ipywidgets' front-end extension unconditionally (main.js), a 404 plus a refused script when
  // ipywidgets is not installed: an empty AMD module in a test-only data folder answers it, so any error left is ours.
  const widgets = path.join(work, ".jupyter-data", "nbextensions", "widgets", "notebook", "js");
  fs.mkdirSync(widgets, { recursive: true });
  fs.writeFileSync(path.join(widgets, "extension.js"), "define([], function () { return { load_ipython_extension: function () {} }; });\n");
  const port = await freePort();
  const token = `ifsq${process.pid}${Date.now()}`;
  const env = {
    ...process.env,
    JUPYTER_PATH: [path.join(ROOT, ".jupyter"), path.join(work, ".jupyter-data")].join(path.delimiter),
    JUPYTER_CONFIG_DIR: path.join(work, ".jupyter-config"),
    JUPYTER_RUNTIME_DIR: path.join(work, ".jupyter-runtime"),
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    IFSQ_PRESET: "tiny",
    IFSQ_FIGURE_DIR: path.join(work, "figures"),
    IFSQ_RUNS_DIR: path.join(work, "runs"),
  };
  const server: ChildProcess = spawn(NOTEBOOK_UI, ["--no-browser", "--allow-root", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0", `--NotebookApp.token=${token}`, `--notebook-dir=${work}`], { env, stdio: ["ignore", "pipe", "pipe"] });
  let serverLog = "";
  server.stdout!.on("data", (d) => (serverLog += d));
  server.stderr!.on("data", (d) => (serverLog += d));
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: LAUNCH_ARGS });
  const errors: string[] = [];
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/api/status?token=${token}`)).ok) break;
      } catch {
        // not listening yet
      }
      if (i > 150 || server.exitCode !== null) assert.fail(`the notebook server did not start on port ${port}:\n${serverLog.slice(-2000)}`);
      await sleep(100);
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
    });
    await page.goto(`${base}/notebooks/nb01.ipynb?token=${token}`);
    type JupyterGlobal = { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean; info_reply?: unknown }; execute_all_cells(): void; get_cells(): { cell_type: string; input_prompt_number?: number | string | null; output_area?: { outputs: { output_type: string; name?: string; text?: string }[] } }[]; save_notebook(): Promise<unknown>; dirty: boolean } } };
    await page.waitForFunction(() => {
      const k = (globalThis as unknown as JupyterGlobal).Jupyter?.notebook?.kernel;
      return !!k && k.is_connected() && !!k.info_reply;
    }, undefined, { timeout: 30_000 });
    // count live-curve renderings as they replace the output: each one adds a new div; record its point count
    await page.evaluate(() => {
      type Node = { querySelectorAll?(s: string): ArrayLike<Gd> };
      type Gd = { id: string; data?: { x: number[] }[] };
      const g = globalThis as unknown as { __curve: number[]; MutationObserver: new (cb: (m: { addedNodes: ArrayLike<Node> }[]) => void) => { observe(n: unknown, o: unknown): void }; document: { body: unknown } };
      g.__curve = [];
      new g.MutationObserver((muts) => {
        for (const m of muts) {
          for (const n of Array.from(m.addedNodes)) {
            for (const el of Array.from(n.querySelectorAll?.("[id^=ifsq-curve-fig]") ?? [])) {
              setTimeout(() => g.__curve.push(el.data?.[0]?.x.length ?? -1), 0);
            }
          }
        }
      }).observe(g.document.body, { childList: true, subtree: true });
    });
    const tRun = Date.now();
    await page.evaluate(() => (globalThis as unknown as JupyterGlobal).Jupyter!.notebook!.execute_all_cells());
    await page.waitForFunction(() => {
      const cells = (globalThis as unknown as JupyterGlobal).Jupyter!.notebook!.get_cells().filter((c) => c.cell_type === "code");
      return cells.every((c) => typeof c.input_prompt_number === "number");
    }, undefined, { timeout: 180_000, polling: 250 });
    const runS = (Date.now() - tRun) / 1000;
    await sleep(500);
    const stderr = await page.evaluate(() => (globalThis as unknown as JupyterGlobal).Jupyter!.notebook!.get_cells()
      .flatMap((c) => c.output_area?.outputs ?? [])
      .filter((o) => o.output_type === "error" || (o.output_type === "stream" && o.name === "stderr"))
      .map((o) => o.text ?? o.output_type));
    assert.deepEqual(stderr, [], "cells wrote errors");
    const live = await figures(page);
    // notebook 01: 7 section figures + 3 explorers; the training cell: 1 live curve
    assert.equal(live.total, 11, `figures found: ${JSON.stringify(live)}`);
    assert.equal(live.rendered, live.total, `every figure renders: ${JSON.stringify(live)}`);
    assert.equal(live.explorers, 3);
    const curve = await page.evaluate(() => (globalThis as unknown as { __curve: number[] }).__curve);
    assert.ok(curve.length >= 3, `live curve re-rendered ${curve.length} times (${curve})`);
    assert.ok(curve.every((n, i) => n > 0 && (i === 0 || n >= curve[i - 1])), `live curve points per rendering ${curve}`);
    assert.equal(curve[curve.length - 1], TRAIN_STEPS / 20, "the final rendering has every logged row");
    const sliderSteps = await checkSliders(page, SLIDER_CLICKS);
    assert.ok(sliderSteps >= 3 * 2, `slider steps checked: ${sliderSteps}`);
    await page.evaluate(() => (globalThis as unknown as JupyterGlobal).Jupyter!.notebook!.save_notebook());
    await page.waitForFunction(() => (globalThis as unknown as JupyterGlobal).Jupyter!.notebook!.dirty === false, undefined, { timeout: 10_000 });
    assert.deepEqual(errors, [], "the notebook page logged errors");

    // 2. the saved notebook's HTML, opened from disk: no kernel, no server
    execFileSync("/usr/bin/jupyter", ["nbconvert", "--to", "html", "--output-dir", work, path.join(work, "nb01.ipynb")], { env, stdio: "pipe" });
    const html = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const htmlErrors: string[] = [];
    html.on("pageerror", (e) => htmlErrors.push(`pageerror: ${e.message}`));
    await html.goto(pathToFileURL(path.join(work, "nb01.html")).href);
    await html.waitForFunction(() => typeof (globalThis as unknown as { Plotly?: unknown }).Plotly !== "undefined", undefined, { timeout: 20_000 });
    await sleep(500);
    const exported = await figures(html);
    assert.equal(exported.total, 11, `figures in the HTML: ${JSON.stringify(exported)}`);
    assert.equal(exported.rendered, exported.total, `every figure renders in the HTML: ${JSON.stringify(exported)}`);
    assert.equal(exported.notLoaded, 0);
    const htmlSteps = await checkSliders(html, 2);
    assert.ok(htmlSteps >= 3, `slider steps checked in the HTML: ${htmlSteps}`);
    assert.deepEqual(htmlErrors, [], "the exported HTML logged errors");
    console.log(`browser: ${live.rendered}/${live.total} figures rendered live (${live.explorers} explorers), ${sliderSteps} slider steps changed the figure, ` +
      `live curve rendered ${curve.length} times in place (points ${curve.join("→")}), run-all ${runS.toFixed(1)} s; HTML export: ` +
      `${exported.rendered}/${exported.total} figures, ${htmlSteps} slider steps; 0 page errors; ${((Date.now() - t0) / 1000).toFixed(1)} s in all`);
  } finally {
    await browser.close();
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once("exit", r)));
    fs.rmSync(work, { recursive: true, force: true });
  }
});
