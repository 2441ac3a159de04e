import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../lib/rng";
import {
  applyTemperature,
  categorical,
  cfgMix,
  checkSamplingOptions,
  sampleGuided,
  sampleLogits,
  samplingProbs,
  softmaxRow,
  topKFilter,
  topPFilter,
} from "../lib/models/sampling";

const f32 = (v: number[]) => Float32Array.from(v);

test("cfgMix: ℓ_u + s(ℓ_c − ℓ_u); scale 1 returns the conditional logits exactly, scale 0 the unconditional", () => {
  const c = f32([1, 2, 3, -1]);
  const u = f32([0.5, 2, 1, 1]);
  assert.deepEqual(Array.from(cfgMix(c, u, 2)), [1.5, 2, 5, -3]);
  assert.deepEqual(Array.from(cfgMix(c, u, 1)), Array.from(c));
  assert.deepEqual(Array.from(cfgMix(c, u, 0)), Array.from(u));
  assert.notEqual(cfgMix(c, u, 1), c, "a copy, not the input");
  assert.throws(() => cfgMix(c, f32([1]), 2), /differ in size/);
});

test("temperature divides by max(T, 1e-5)", () => {
  assert.deepEqual(Array.from(applyTemperature(f32([1, -2]), 0.5)), [2, -4]);
  assert.deepEqual(Array.from(applyTemperature(f32([1e-5]), 0)), [1]);
});

test("top-k keeps the k largest per row, ties with the k-th kept; 0 = off", () => {
  const l = f32([1, 5, 3, 3, /* row 2 */ 0, -1, 2, 1]);
  const k2 = Array.from(topKFilter(l, 4, 2));
  assert.deepEqual(k2, [-Infinity, 5, 3, 3, -Infinity, -Infinity, 2, 1]);
  assert.deepEqual(Array.from(topKFilter(l, 4, 1)), [-Infinity, 5, -Infinity, -Infinity, -Infinity, -Infinity, 2, -Infinity]);
  assert.deepEqual(Array.from(topKFilter(l, 4, 0)), Array.from(l));
  assert.deepEqual(Array.from(topKFilter(l, 4, 9)), Array.from(l));
});

test("top-p drops tokens whose preceding cumulative mass exceeds p; the most probable token always stays", () => {
  // probabilities 0.5, 0.25, 0.125, 0.125 (ln-space logits)
  const l = f32([Math.log(0.25), Math.log(0.5), Math.log(0.125), Math.log(0.125)]);
  const keep = (p: number) => Array.from(topPFilter(l, 4, p)).map((v) => v !== -Infinity);
  assert.deepEqual(keep(0.4), [false, true, false, false]);
  assert.deepEqual(keep(0.6), [true, true, false, false]);
  assert.deepEqual(keep(0.8), [true, true, true, false]);
  assert.deepEqual(keep(1), [true, true, true, true]);
  assert.deepEqual(keep(0.01), [false, true, false, false]);
});

test("softmax of a row in float64; −∞ gets 0; a row without a finite logit is an error", () => {
  const p = softmaxRow([0, Math.log(3), -Infinity]);
  assert.ok(Math.abs(p[0] - 0.25) < 1e-12 && Math.abs(p[1] - 0.75) < 1e-12 && p[2] === 0);
  assert.throws(() => softmaxRow([-Infinity, NaN]), /no finite logit/);
});

test("categorical: inverse CDF on the row sum, zero-probability entries never chosen", () => {
  const probs = [0.2, 0, 0.3, 0.5];
  assert.deepEqual(Array.from(categorical(probs, 4, [0])), [0]);
  assert.deepEqual(Array.from(categorical(probs, 4, [0.19999])), [0]);
  assert.deepEqual(Array.from(categorical(probs, 4, [0.2])), [2]);
  assert.deepEqual(Array.from(categorical(probs, 4, [0.49])), [2]);
  assert.deepEqual(Array.from(categorical(probs, 4, [0.5])), [3]);
  assert.deepEqual(Array.from(categorical(probs, 4, [0.9999999])), [3]);
  assert.deepEqual(Array.from(categorical([2, 0, 0, 2], 2, [0.6, 0.1])), [0, 1], "unnormalised rows");
  assert.throws(() => categorical(probs, 4, [1]), /outside \[0, 1\)/);
});

test("seeded sampling: same seed ⇒ same tokens; empirical frequencies match the probabilities", () => {
  const V = 3;
  const row = [Math.log(0.6), Math.log(0.3), Math.log(0.1)];
  const n = 20000;
  const logits = new Float32Array(n * V);
  for (let r = 0; r < n; r++) logits.set(row, r * V);
  const a = sampleLogits(logits, V, {}, new Rng(5, "t"));
  const b = sampleLogits(logits, V, {}, new Rng(5, "t"));
  assert.deepEqual(a, b);
  const counts = [0, 0, 0];
  for (const t of a) counts[t]++;
  [0.6, 0.3, 0.1].forEach((p, i) => assert.ok(Math.abs(counts[i] / n - p) < 0.015, `token ${i}: ${counts[i] / n} vs ${p}`));
  // temperature → 0 is greedy
  const greedy = sampleLogits(logits.subarray(0, 30), V, { temperature: 0 }, new Rng(1));
  assert.deepEqual(Array.from(greedy), new Array(10).fill(0));
  // top-k 1 is greedy too
  assert.deepEqual(Array.from(sampleLogits(logits.subarray(0, 30), V, { topK: 1 }, new Rng(2))), new Array(10).fill(0));
});

test("samplingProbs applies temperature, then top-k, then top-p, then softmax", () => {
  const l = f32([0, Math.log(2), Math.log(4), Math.log(8)]);
  const p = samplingProbs(l, 4, { topK: 3, topP: 0.5 });
  // top-k drops token 0; probs of the rest 2/14, 4/14, 8/14; top-p 0.5 keeps 8/14 only... plus nothing (8/14 > 0.5)
  assert.deepEqual(Array.from(p), [0, 0, 0, 1]);
  const q = samplingProbs(l, 4, { temperature: 2 });
  const w = [1, Math.SQRT2, 2, 2 * Math.SQRT2];
  const s = w.reduce((a, b) => a + b, 0);
  q.forEach((v, i) => assert.ok(Math.abs(v - w[i] / s) < 1e-6));
});

test("sampleGuided: [cond; null] rows are mixed; scale 1 with both halves equals the conditional rows alone", () => {
  const cond = f32([0, 1, 2, /* */ 2, 1, 0]);
  const uncond = f32([2, 1, 0, /* */ 0, 1, 2]);
  const both = new Float32Array([...cond, ...uncond]);
  const a = sampleGuided(both, 3, 2, { cfgScale: 1 }, new Rng(9));
  const b = sampleGuided(cond, 3, 2, { cfgScale: 1 }, new Rng(9));
  assert.deepEqual(a, b);
  // large guidance pushes to the argmax of ℓ_c − ℓ_u
  const g = sampleGuided(both, 3, 2, { cfgScale: 50 }, new Rng(9));
  assert.deepEqual(Array.from(g), [2, 0]);
  assert.throws(() => sampleGuided(cond, 3, 2, { cfgScale: 2 }, new Rng(0)), /needs the \[cond; null\] batch/);
});

test("option errors name the bad value", () => {
  assert.throws(() => checkSamplingOptions({ topK: -1 }), /topK=-1/);
  assert.throws(() => checkSamplingOptions({ topP: 0 }), /topP=0/);
  assert.throws(() => checkSamplingOptions({ temperature: -1 }), /temperature=-1/);
  assert.throws(() => checkSamplingOptions({ cfgScale: NaN }), /cfgScale=NaN/);
  assert.throws(() => topKFilter(f32([1, 2, 3]), 2, 1), /not a whole number of rows/);
});
