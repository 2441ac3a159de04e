import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveConfig } from "../lib/train/config";
import * as ac from "../lib/experiments/activation-collapse/index";
import { boundConstants } from "../lib/quant/bounds";
import { analyticCodeStats, codeProbabilities } from "../lib/quant/collapse";
import { figureHtml } from "../lib/view/figure";

const cfg = resolveConfig(ac.activationCollapseConfig, { preset: "tiny" });

// Notebook 01's explorers: every slider step animates to an existing frame holding that value's exact numbers.
test("explorer figures: one frame per slider step, each with the exact occupancy and entropy at its value", () => {
  for (const knob of ["sigma", "alpha", "levels"] as const) {
    const fig = ac.explorerFigure(cfg, knob);
    const values = ac.explorerValues(cfg, knob);
    const slider = (fig.layout.sliders as { steps: { args: [string[]]; label: string }[]; active: number }[])[0];
    assert.equal(slider.steps.length, values.length, knob);
    assert.equal(fig.frames.length, values.length, knob);
    assert.ok(values.length >= 11, `${knob}: ${values.length} steps`);
    const names = new Set(fig.frames.map((f) => f.name));
    for (const s of slider.steps) assert.ok(names.has(s.args[0][0]), `${knob}: step ${s.label} animates to a missing frame`);
    const held = knob === "sigma" ? cfg.sigma : knob === "alpha" ? cfg.alpha : cfg.levels;
    assert.equal(values[slider.active], held, `${knob}: the slider starts at the config's value`);
    // a frame's bars are the exact P(q) at its value
    const k = values.length - 1;
    const v = values[k];
    const sigma = knob === "sigma" ? v : cfg.sigma, alpha = knob === "alpha" ? v : cfg.alpha, L = knob === "levels" ? v : cfg.levels;
    const exact = codeProbabilities(boundConstants({ kind: "ifsq", alpha }, L), L, sigma).probs;
    const frame = fig.frames[k];
    const bars = (frame.data![3] as { y: number[] }).y;
    assert.equal(bars.length, L);
    bars.forEach((p, i) => assert.ok(Math.abs(p - exact[i]) < 1e-12, `${knob}=${v}: P(${i})`));
    const h = analyticCodeStats(boundConstants("tanh", L), L, sigma).entropy;
    assert.ok(Math.abs((frame.data![4] as { y: number[] }).y[0] - h) < 1e-12);
    assert.match(String((frame.layout!.title as { text: string }).text), new RegExp(`entropy tanh ${h.toFixed(3)}`));
    // frames differ: the slider changes the figure
    assert.notDeepEqual(fig.frames[0].data, fig.frames[k].data, `${knob}: first and last frame are equal`);
  }
  // σ grows: tanh collapses into its end bins, so the end-bin mass in the title rises over the σ slider
  const s = ac.explorerFigure(cfg, "sigma");
  const tanhEnd = s.frames.map((f) => Number(/end bins ([0-9.]+) %/.exec((f.layout!.title as { text: string }).text)![1]));
  assert.ok(tanhEnd[tanhEnd.length - 1] > 5 * tanhEnd[0], `end bins ${tanhEnd}`);
  // the HTML passes the frames to plotly (a slider without frames does nothing)
  assert.match(figureHtml(s), /frames: fig\.frames/);
  assert.ok(figureHtml(s).includes(JSON.stringify(s.frames[0].name)));
});

test("codebook calculator: bits, codebook size, AR vocabulary per layout, tokens per image", () => {
  const f = ac.codebookFacts([17, 17, 17, 17]);
  assert.ok(Math.abs(f.bitsPerDim[0] - 4.087) < 1e-3);
  assert.equal(f.codebookSize, 83521);
  assert.equal(f.positions, 64);
  const byName = Object.fromEntries(f.layouts.map((l) => [l.name, l]));
  assert.deepEqual(Object.keys(byName), ["single", "factorized ×1", "factorized ×2"]);
  assert.match(byName.single.unsupported!, /vocabulary of 83521.*above 16384/); // the model's own limit
  assert.deepEqual(byName["factorized ×1"].vocab, [17, 17, 17, 17]);
  assert.equal(byName["factorized ×1"].tokensPerImage, 256);
  assert.deepEqual(byName["factorized ×2"].vocab, [289, 289]); // the paper's f2x2
  assert.equal(byName["factorized ×2"].tokensPerImage, 128);
  const g = ac.codebookFacts([8, 5, 5, 5], { imageSize: 32, factor: 2 });
  assert.equal(g.codebookSize, 1000);
  assert.equal(g.layouts[0].unsupported, null);
  assert.deepEqual(g.layouts[0].vocab, [1000]);
  assert.equal(g.positions, 256);
  assert.ok(Math.abs(g.bitsPerPosition - Math.log2(1000)) < 1e-12);
  assert.deepEqual(g.layouts.find((l) => l.name === "factorized ×2")!.vocab, [40, 25]);
  assert.match(ac.codebookSummary(f), /K = ∏L = 83,521, 64 positions/);
  assert.equal(ac.codebookRows(f)[0]["vocabulary per sub-token"], "not supported");
  assert.throws(() => ac.codebookFacts([17], { factor: 3 }), /factor=3/);
});
