import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { chromium } from "playwright-core";
import { chromiumPath, exportPage, LAUNCH_ARGS, renderFigure, wrapTitle, type FigureJson } from "../scripts/export-figures";
import { resolveConfig } from "../lib/train/config";
import * as ac from "../lib/experiments/activation-collapse/index";
import { toPlainJson } from "../lib/view/figure";

test("wrapTitle breaks at spaces, keeps <br>", () => {
  assert.equal(wrapTitle("aaa bbb ccc ddd", 7), "aaa bbb<br>ccc ddd");
  assert.equal(wrapTitle("aaa<br>bbb ccc", 3), "aaa<br>bbb<br>ccc");
  assert.equal(wrapTitle("short", 80), "short");
});

// Static PNG/SVG exports keep long titles inside the image (notebook 01's α-sweep title is wider than 800 px).
test("figure export: a long title is wrapped inside the image (it overflows without the fit)", { timeout: 60_000 }, async (t) => {
  let exe: string;
  try {
    exe = chromiumPath();
  } catch (e) {
    if (process.env.CI === "true") assert.fail(`figure export test cannot run in CI: ${(e as Error).message}`);
    t.skip((e as Error).message);
    return;
  }
  const cfg = resolveConfig(ac.activationCollapseConfig, { preset: "tiny" });
  const fig = toPlainJson(ac.alphaSweepSection(cfg).figure) as FigureJson;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-export-"));
  const browser = await chromium.launch({ executablePath: exe, args: LAUNCH_ARGS });
  try {
    const tab = await browser.newPage();
    await tab.goto(pathToFileURL(exportPage(dir)).href);
    await tab.waitForFunction(() => typeof (globalThis as unknown as { Plotly?: unknown }).Plotly !== "undefined");
    const W = 800, H = 420;
    const raw = await renderFigure(tab, fig, W, H, false);
    assert.ok(raw.title.box && (raw.title.box.x0 < 0 || raw.title.box.x1 > W), `unfitted title box ${JSON.stringify(raw.title.box)} should overflow ${W} px`);
    const fitted = await renderFigure(tab, fig, W, H);
    const b = fitted.title.box!;
    assert.ok(fitted.title.lines >= 2, `lines ${fitted.title.lines}`);
    assert.ok(b.x0 >= 0 && b.x1 <= W && b.y0 >= 0 && b.y1 < H / 3, `title box ${JSON.stringify(b)} inside ${W}×${H}`);
    const svg = decodeURIComponent(fitted.svg.slice(fitted.svg.indexOf(",") + 1));
    assert.match(svg, /α sweep: distance of/);
    assert.ok(fitted.png.startsWith("data:image/png;base64,") && fitted.png.length > 10_000);
    // a short title is left alone
    const short = await renderFigure(tab, { ...fig, layout: { ...fig.layout, title: { text: "α sweep" } } }, W, H);
    assert.equal(short.title.lines, 1);
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
