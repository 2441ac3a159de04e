import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PNG } from "pngjs";
import { figureDir, figurePath, image, inKernel, markdown, pngGrid, progress, show, table, tableHtml, tableText } from "../lib/view/index";
import { figureHtml, plotlyBundleForInlineScript, resetPlotlyBundle } from "../lib/view/figure";
import { formatCell } from "../lib/view/table";
import { PROGRESS_METADATA_KEY, formatDuration, progressLine } from "../lib/view/progress";

/** Runs fn with console.log captured; returns the printed lines. */
function captureLog(fn: () => void): string[] {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  try {
    fn();
  } finally {
    console.log = orig;
  }
  return lines;
}

interface Sent {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
  update: boolean;
}

/** Pretends to be a tslab kernel: a fake `tslab/dist/jupyter.js` in require.cache, as the kernel process has. */
function fakeKernel(): { sent: Sent[]; remove(): void } {
  const key = path.join(os.tmpdir(), "fake-kernel", "node_modules", "tslab", "dist", "jupyter.js");
  const sent: Sent[] = [];
  const lastWriteDisplayData = (msg: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } }, update: boolean) =>
    void sent.push({ data: msg.data, metadata: msg.metadata, transient: msg.transient, update });
  (require.cache as Record<string, unknown>)[key] = { id: key, filename: key, loaded: true, exports: { lastWriteDisplayData } };
  return { sent, remove: () => void delete require.cache[key] };
}

const fig = {
  data: [
    { x: [1, 2, 3], y: new Float32Array([1, 4, 9]) as unknown as number[], type: "scatter" as const, name: "a" },
    { x: ["p", "q"], y: [2, 3], type: "bar" as const },
  ],
  layout: { title: { text: "Squares </script> <!-- x" } },
};

describe("view outside a kernel", () => {
  let dir: string;
  const saved = process.env.IFSQ_FIGURE_DIR;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-view-"));
    process.env.IFSQ_FIGURE_DIR = dir;
  });
  after(() => {
    if (saved === undefined) delete process.env.IFSQ_FIGURE_DIR;
    else process.env.IFSQ_FIGURE_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("inKernel() is false", () => assert.equal(inKernel(), false));

  test("show prints one line and writes the named figure as plain JSON (typed arrays → arrays)", () => {
    const lines = captureLog(() => show(fig, { name: "squares" }));
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^figure "squares": 2 traces \(scatter, bar\), title "Squares .*" → /);
    const file = path.join(dir, "squares.json");
    assert.equal(figurePath("squares", "json"), file);
    const written = JSON.parse(fs.readFileSync(file, "utf8"));
    assert.deepEqual(written.data[0].y, [1, 4, 9]);
    assert.deepEqual(fs.readdirSync(dir), ["squares.json"], "no temporary files left behind");
  });

  test("show without a name writes nothing; bad names and bad figures are clear errors", () => {
    captureLog(() => show({ data: [] }));
    assert.deepEqual(fs.readdirSync(dir), ["squares.json"]);
    assert.throws(() => show(fig, { name: "../evil" }), /not a plain file name/);
    assert.throws(() => show({} as never), /expected a figure \{ data: Trace\[\]/);
  });

  test("figureDir: relative IFSQ_FIGURE_DIR is taken from the project root; default build/figures", () => {
    const root = path.resolve(__dirname, "..");
    process.env.IFSQ_FIGURE_DIR = "build/x";
    assert.equal(figureDir(), path.join(root, "build", "x"));
    delete process.env.IFSQ_FIGURE_DIR;
    assert.equal(figureDir(), path.join(root, "build", "figures"));
    process.env.IFSQ_FIGURE_DIR = dir;
  });

  test("table prints aligned text from rows and from a DataFrame-like", () => {
    const rows = [{ name: "fsq", psnr: 27.123456, n: 3 }, { name: "ifsq", psnr: 28.5, extra: true }];
    const lines = captureLog(() => table(rows, { caption: "Results", digits: 3 }));
    assert.equal(lines.length, 1);
    const text = lines[0].split("\n");
    assert.equal(text[0], "Results");
    assert.equal(text[1], "name  psnr  n  extra");
    assert.equal(text[3], "fsq   27.1  3");
    assert.equal(text[4], "ifsq  28.5     true");
    const df = { columns: ["a", "b"], values: [[1, "x"], [2.5, "y"]] };
    assert.equal(tableText(df).split("\n")[3], "2.5  y");
  });

  test("formatCell: integers exact, floats with significant digits, special values", () => {
    assert.equal(formatCell(12345678), "12345678");
    assert.equal(formatCell(0.000123456, 3), "0.000123");
    assert.equal(formatCell(1 / 3), "0.3333");
    assert.equal(formatCell(NaN), "NaN");
    assert.equal(formatCell(-Infinity), "−∞");
    assert.equal(formatCell(null), "");
    assert.equal(formatCell({ a: 1 }), '{"a":1}');
  });

  test("tableHtml escapes cells and caption and right-aligns numbers", () => {
    const html = tableHtml([{ "<b>": "<script>", v: 1.5 }], { caption: "a & b" });
    assert.match(html, /<caption[^>]*>a &amp; b<\/caption>/);
    assert.match(html, /<th[^>]*>&lt;b&gt;<\/th>/);
    assert.match(html, /<td style="text-align:left;[^"]*">&lt;script&gt;<\/td>/);
    assert.match(html, /<td style="text-align:right;[^"]*">1.5<\/td>/);
    assert.ok(!html.includes("<script>"));
    assert.throws(() => tableHtml([1 as never]), /rows\[0\] is number, expected an object/);
  });

  test("pngGrid: layout, value mapping [-1,1] → 0…255, nearest upscale, RGB", () => {
    // Two 2×2 grey images: image 0 all −1 (black), image 1 ramps −1, 0, 1, 3 (clamped).
    const data = new Float32Array([-1, -1, -1, -1, -1, 0, 1, 3]);
    const grid = pngGrid({ data, shape: [2, 2, 2, 1] }, { cols: 2, scale: 3, pad: 1 });
    assert.equal(grid.width, 1 + 2 * (6 + 1));
    assert.equal(grid.height, 1 + 6 + 1);
    const png = PNG.sync.read(grid.png);
    const px = (x: number, y: number) => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 4));
    assert.deepEqual(px(0, 0), [128, 128, 128, 255], "padding is grey");
    assert.deepEqual(px(1, 1), [0, 0, 0, 255]);
    const x1 = 1 + 6 + 1; // second tile's left edge
    assert.deepEqual(px(x1, 1), [0, 0, 0, 255]);
    assert.deepEqual(px(x1 + 3, 1), [128, 128, 128, 255], "0 → round(127.5) = 128");
    assert.deepEqual(px(x1 + 5, 3), [128, 128, 128, 255], "upscaled by 3: pixel (0,1) of the tile covers x 3…5, y 0…2");
    assert.deepEqual(px(x1 + 3, 4), [255, 255, 255, 255], "3 clamps to white");
    const rgb = pngGrid({ data: new Float32Array([1, 0, 0]), shape: [1, 1, 3] }, { scale: 1, pad: 0, range: [0, 1] });
    assert.deepEqual(Array.from(PNG.sync.read(rgb.png).data), [255, 0, 0, 255]);
  });

  test("pngGrid accepts tensor-likes and rejects bad shapes with the expected form", () => {
    const tensorLike = { shape: [1, 2, 2, 1], dataSync: () => new Float32Array([0, 0, 0, 0]) };
    assert.equal(pngGrid(tensorLike, { scale: 1, pad: 0 }).width, 2);
    assert.throws(() => pngGrid(new Float32Array(4)), /needs opts.shape/);
    assert.throws(() => pngGrid({ data: new Float32Array(8), shape: [2, 2, 2] }), /channels C=2/);
    assert.throws(() => pngGrid({ data: new Float32Array(7), shape: [2, 2, 2, 1] }), /needs 8 values, got 7/);
  });

  test("image prints one line and writes a named PNG; markdown prints its text", () => {
    const lines = captureLog(() => {
      image({ data: new Float32Array(4 * 4 * 4), shape: [4, 4, 4, 1] }, { caption: "zeros", name: "zeros" });
      markdown("**bold**");
    });
    assert.match(lines[0], /^image grid "zeros": 4 images 4×4×1 in 2×2 → \d+×\d+ px PNG → .*zeros\.png$/);
    assert.equal(lines[1], "**bold**");
    assert.ok(fs.existsSync(path.join(dir, "zeros.png")));
  });

  test("progress plain sink: a line per interval and a final line, with rate, ETA and metrics", () => {
    let t = 1000;
    const lines: string[] = [];
    const bar = progress({ total: 100, label: "train", sink: "plain", intervalMs: 5000, now: () => t, write: (l) => lines.push(l) });
    for (let step = 1; step <= 100; step++) {
      t += 100; // 10 steps/s
      bar.tick(step, { loss: 1 / step });
    }
    bar.done();
    bar.done();
    assert.equal(lines.length, 1 + 1 + 1, "first tick, after 5 s (step 51), done");
    assert.equal(lines[0], "train: 1/100 (1.0%) · 10.0 steps/s · ETA 0:10 · loss=1");
    assert.equal(lines[1], "train: 51/100 (51.0%) · 10.0 steps/s · ETA 0:05 · loss=0.01961");
    assert.equal(lines[2], "train: 100/100 (100.0%) · 10.0 steps/s · done in 0:10 · loss=0.01");
  });

  test("progress with startAt counts only this session's steps", () => {
    let t = 0;
    const lines: string[] = [];
    const bar = progress({ total: 1000, label: "resume", startAt: 900, sink: "plain", now: () => t, write: (l) => lines.push(l) });
    t = 2000;
    bar.tick(950);
    assert.match(lines[0], /950\/1000 \(95\.0%\) · 25.0 steps\/s · ETA 0:02/);
    assert.equal(formatDuration(3725), "1:02:05");
    assert.equal(progressLine({ label: "x", step: 0, total: 0, rate: 0, etaS: NaN, elapsedS: 0, metrics: {}, finished: false }), "x: 0/0 (?) · ? steps/s · ETA ?");
    assert.throws(() => progress({ total: NaN, label: "bad" }), /total=NaN/);
  });
});

describe("view inside a (fake) tslab kernel", () => {
  let kernel: ReturnType<typeof fakeKernel>;
  let dir: string;
  before(() => {
    kernel = fakeKernel();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-view-k-"));
    process.env.IFSQ_FIGURE_DIR = dir;
    resetPlotlyBundle();
  });
  after(() => {
    kernel.remove();
    delete process.env.IFSQ_FIGURE_DIR;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("inKernel() is true", () => assert.equal(inKernel(), true));

  test("show sends one multi-mime output; the plotly bundle is inlined in the first figure only", () => {
    const lines = captureLog(() => {
      show(fig);
      show(fig, { name: "second" });
    });
    assert.deepEqual(lines, [], "nothing on stdout inside a kernel");
    assert.equal(kernel.sent.length, 2);
    const [a, b] = kernel.sent;
    assert.deepEqual(Object.keys(a.data).sort(), ["application/vnd.plotly.v1+json", "text/html", "text/plain"]);
    const bundle = plotlyBundleForInlineScript();
    const htmlA = a.data["text/html"] as string, htmlB = b.data["text/html"] as string;
    assert.ok(htmlA.includes(bundle.slice(0, 2000)) && htmlA.length > 4e6, "first figure carries the 4.8 MB bundle");
    assert.ok(htmlB.length < 10000, "second figure reuses window.Plotly");
    assert.match(htmlB, /window\.Plotly\.newPlot\(/);
    assert.deepEqual((a.data["application/vnd.plotly.v1+json"] as { data: { y: number[] }[] }).data[0].y, [1, 4, 9]);
    assert.match(b.data["text/plain"] as string, /^figure "second": 2 traces/);
    assert.ok(fs.existsSync(path.join(dir, "second.json")));
  });

  test("inline scripts cannot be closed early by the data or the bundle", () => {
    const html = figureHtml(fig, { id: "g1" });
    const scripts = html.match(/<script/gi) ?? [];
    const closes = html.match(/<\/script/gi) ?? [];
    assert.equal(scripts.length, 1);
    assert.equal(closes.length, 1, "the title's </script> is escaped as \\u003c/script>");
    assert.ok(!html.includes("<!--"));
    const bundle = plotlyBundleForInlineScript();
    assert.ok(!/<\/script/i.test(bundle) && !bundle.includes("<!--"));
  });

  test("table, image and markdown send HTML/PNG/Markdown bundles with a text/plain fallback", () => {
    kernel.sent.length = 0;
    table([{ a: 1 }], { caption: "T" });
    image({ data: new Float32Array(4), shape: [2, 2, 1] }, { caption: "<cap>" });
    markdown("# Hi");
    const [t, i, m] = kernel.sent;
    assert.match(t.data["text/html"] as string, /<table class="ifsq-table"/);
    assert.equal(t.data["text/plain"], "T: table 1×1 (a)");
    assert.match(i.data["text/html"] as string, /<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" .*<figcaption[^>]*>&lt;cap&gt;<\/figcaption>/);
    assert.equal(typeof i.data["image/png"], "string");
    assert.equal(m.data["text/markdown"], "# Hi");
  });

  test("progress updates one display in place (create, then update: true), throttled", () => {
    kernel.sent.length = 0;
    let t = 0;
    const bar = progress({ total: 10, label: "k", now: () => t });
    for (let s = 1; s <= 10; s++) {
      t += 50;
      bar.tick(s, { loss: 0.5 });
    }
    bar.done();
    const ids = new Set(kernel.sent.map((s) => s.transient.display_id));
    assert.equal(ids.size, 1, "one display id");
    assert.equal(kernel.sent[0].update, false);
    assert.ok(kernel.sent.slice(1).every((s) => s.update));
    assert.equal(kernel.sent.length, 1 + 2 + 1, "t=50 (first), t=250, t=450, done");
    const last = kernel.sent[kernel.sent.length - 1].data;
    assert.match(last["text/html"] as string, /<progress value="10" max="10"/);
    assert.match(last["text/plain"] as string, /k: 10\/10 \(100\.0%\) · 20.0 steps\/s · done in 0:01 · loss=0\.5/);
  });

  test("progress is rate-limited: 10 000 ticks in 1.25 s (fake clock) send 8 updates, the final state exact", () => {
    kernel.sent.length = 0;
    let t = 0;
    const bar = progress({ total: 10_000, label: "fast", now: () => t });
    for (let s = 1; s <= 10_000; s++) {
      t += 0.125; // exact in binary: no drift in the comparisons below
      bar.tick(s, { loss: 1 / s });
    }
    bar.done();
    // renders at t = 0.125 ms (first), 200.125, 400.125, …, 1200.125, then done(): 8 updates for 10 000 ticks (5/s)
    assert.equal(kernel.sent.length, 8);
    const meta = kernel.sent.map((s) => s.metadata[PROGRESS_METADATA_KEY] as { step: number; finished: boolean });
    assert.deepEqual(meta.map((m) => m.step), [1, 1601, 3201, 4801, 6401, 8001, 9601, 10_000]);
    assert.deepEqual(meta.map((m) => m.finished), [false, false, false, false, false, false, false, true]);
    assert.equal(kernel.sent[7].data["text/plain"], "fast: 10000/10000 (100.0%) · 8000 steps/s · done in 0:01 · loss=1.000e-4");
  });

  test("progress shows the last tick even without done(): held ticks are flushed after the interval", async () => {
    kernel.sent.length = 0;
    const bar = progress({ total: 10_000, label: "real clock", intervalMs: 100 });
    const t0 = Date.now();
    for (let s = 1; s <= 10_000; s++) bar.tick(s);
    const loopMs = Date.now() - t0;
    assert.ok(loopMs < 100, `the loop took ${loopMs} ms; the test needs it within one interval`);
    assert.equal(kernel.sent.length, 1, "only the first tick is shown at once");
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(kernel.sent.length, 2, "one more update after the interval, not 9 999");
    assert.equal((kernel.sent[1].metadata[PROGRESS_METADATA_KEY] as { step: number }).step, 10_000);
    assert.match(kernel.sent[1].data["text/plain"] as string, /^real clock: 10000\/10000 \(100\.0%\)/);
    bar.done();
    assert.equal(kernel.sent.length, 3);
    assert.equal((kernel.sent[2].metadata[PROGRESS_METADATA_KEY] as { finished: boolean }).finished, true);
  });
});
