import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { resolveConfig } from "../lib/train/config";
import * as ac from "../lib/experiments/activation-collapse/index";

// Notebook 01's sections at the tiny preset: every section builds a figure and a sentence with the numbers it shows.
test("activation-collapse sections compute their figures and sentences (tiny preset)", async () => {
  await initBackend("wasm", { log: () => {} });
  const cfg = resolveConfig(ac.activationCollapseConfig, { preset: "tiny", overrides: { mcSamples: 20_000 } });
  assert.equal(cfg.levels, 17);
  const before = tf.memory().numTensors;
  const sections = {
    mappings: ac.mappingsSection(cfg),
    densities: ac.densitiesSection(cfg),
    occupancy: ac.occupancySection(cfg),
    sigma: ac.sigmaSweepSection(cfg),
    alpha: ac.alphaSweepSection(cfg),
    mc: ac.empiricalSection(cfg),
    ste: ac.steGradientSection(cfg),
  };
  assert.equal(tf.memory().numTensors, before, "sections dispose their tensors");
  for (const [name, s] of Object.entries(sections)) {
    assert.ok(s.figure.data.length > 0, `${name}: traces`);
    assert.ok(s.conclusion.length > 40 && !/NaN|undefined/.test(s.conclusion), `${name}: ${s.conclusion}`);
  }
  assert.match(sections.mappings.conclusion, /slope is 0\.800 for iFSQ and 1\.001 for tanh, against 2φ\(0\) = 0\.798/);
  assert.match(sections.densities.conclusion, /iFSQ density stays between 0\.48 and 0\.54 on \|y\| ≤ 0\.9/);
  assert.match(sections.occupancy.conclusion, /tanh's inner bins vary 1\.71×.*flat within 1\.09×/);
  assert.match(sections.sigma.conclusion, /At σ = 2 the two end codes hold 39\.3 % of the activations with tanh \(H = 3\.63 bits\) and 28\.3 % with iFSQ \(H = 3\.85 bits\)/);
  assert.match(sections.alpha.conclusion, /between α = 1\.596 and 1\.749; α = 1\.6 lies inside this range, and tanh's α = 2 lies 0\.251 above its top \(1\.6× the range's width\)/);
  assert.match(sections.ste.conclusion, /equals bound′\(z\)\/h to [0-9.]+e-[7-9]/);
  assert.equal(sections.occupancy.rows!.length, 9);
  assert.throws(() => resolveConfig(ac.activationCollapseConfig, { preset: "tiny", overrides: { levels: 16 } }), /L=16 is even; the ifsq bound needs odd levels/);
  assert.throws(() => ac.sigmaSweepSection({ ...cfg, sigmaRange: [2, 1] }), /sigmaRange=\[2, 1\] is empty/);
});
