import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { TrainConfigSchema, configHash, canonicalJson, defineConfig, resolveConfig, parseSet, presetConfig, didYouMean, ConfigError } from "../lib/train/config";
import { lrAt } from "../lib/train/schedule";

const schema = TrainConfigSchema.extend({
  levels: z.array(z.int().min(2)).default([5, 5, 5, 5]),
  bound: z.enum(["tanh", "ifsq"]).default("tanh"),
  gan: z.boolean().default(false),
  net: z.object({ width: z.int().positive().default(8), act: z.string().default("silu") }).default({ width: 8, act: "silu" }),
});
const def = defineConfig({
  name: "tok",
  schema,
  presets: {
    tiny: { steps: 5, batchSize: 4, lr: 1e-2, net: { width: 4 } },
    quick: { steps: 500, batchSize: 32, lr: 1e-3 },
    "paper-cpu": { steps: 5000, batchSize: 64, lr: 1e-3, levels: [17, 17, 17, 17] },
  },
});

test("resolution order: schema defaults ← preset ← overrides ← --set, nested objects merged", () => {
  const c = resolveConfig(def, { preset: "tiny", overrides: { bound: "ifsq", lr: 0.5, net: { act: "gelu" } }, set: ["lr=0.25", "levels=17,17,17,17", "gan=true", "net.width=16"] });
  assert.equal(c.steps, 5); // preset
  assert.equal(c.bound, "ifsq"); // override
  assert.equal(c.lr, 0.25); // --set beats override
  assert.deepEqual(c.levels, [17, 17, 17, 17]);
  assert.equal(c.gan, true);
  assert.deepEqual(c.net, { width: 16, act: "gelu" });
  assert.equal(c.beta2, 0.999); // schema default
  assert.equal(c.clip, 1);
  assert.deepEqual(resolveConfig(def, { preset: "tiny", set: ["levels=[3,3]"] }).levels, [3, 3]);
  assert.deepEqual(presetConfig(def, "paper-cpu").levels, [17, 17, 17, 17]);
});

test("the preset defaults to $IFSQ_PRESET, else quick; a bad name suggests the closest", () => {
  const saved = process.env.IFSQ_PRESET;
  try {
    delete process.env.IFSQ_PRESET;
    assert.equal(resolveConfig(def).steps, 500);
    process.env.IFSQ_PRESET = "tiny";
    assert.equal(resolveConfig(def).steps, 5);
    process.env.IFSQ_PRESET = "tinny";
    assert.throws(() => resolveConfig(def), /IFSQ_PRESET="tinny" is not a preset \(did you mean "tiny"\?\)/);
  } finally {
    if (saved === undefined) delete process.env.IFSQ_PRESET;
    else process.env.IFSQ_PRESET = saved;
  }
  assert.throws(() => resolveConfig(def, { preset: "paper" }), /preset="paper" is not a preset.*presets are tiny, quick, paper-cpu/);
});

test("unknown keys are errors with a suggestion, at any depth and from every source", () => {
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["lrr=3"] }), (e: Error) => e instanceof ConfigError && /unknown key "lrr" in --set lrr=3 \(did you mean "lr"\?\)/.test(e.message));
  assert.throws(() => resolveConfig(def, { preset: "tiny", overrides: { bnd: "ifsq" } }), /unknown key "bnd" in overrides \(did you mean "bound"\?\)/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", overrides: { net: { widht: 3 } } }), /unknown key "net.widht" in overrides \(did you mean "net.width"\?\); known keys of "net": width, act/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["net.acts=relu"] }), /unknown key "net.acts" in --set net.acts=relu \(did you mean "net.act"\?\)/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["zzzzzz=1"] }), (e: Error) => !/did you mean/.test(e.message) && /known keys: seed, steps/.test(e.message));
  assert.throws(
    () => defineConfig({ name: "bad", schema, presets: { tiny: { steps: 1, batchSize: 1, lr: 1, stepz: 3 } as never, quick: { steps: 1, batchSize: 1, lr: 1 }, "paper-cpu": { steps: 1, batchSize: 1, lr: 1 } } }),
    /bad config: unknown key "stepz" in preset "tiny" \(did you mean "steps"\?\)/,
  );
});

test("bad values name the key, the expectation and the value", () => {
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["lr=fast"] }), /tok config: --set lr: "fast" is not a number/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["gan=maybe"] }), /--set gan: "maybe" is not a boolean/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["bound=ifs"] }), /--set bound: "ifs" is not one of "tanh", "ifsq" \(did you mean "ifsq"\?\)/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["levels=17,x"] }), /--set levels\[1\]: "x" is not a number/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["steps"] }), /--set "steps" must look like key=value/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", overrides: { steps: 2.5 } }), /tok config \(preset "tiny" \+ overrides\) is invalid:\n {2}steps: .*int.*\(got 2\.5\)/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", set: ["levels=17,1"] }), /levels\[1\]: .*(>=|≥|at least).*2.*\(got 1\)/);
  assert.throws(() => resolveConfig(def, { preset: "tiny", overrides: { bound: "round" as never } }), /bound: .*\(got "round"\)/);
});

test("--set coercion follows the schema types", () => {
  assert.deepEqual(parseSet(def, ["seed=7", "gan=0", "net.act=relu", "levels=", "schedule=cosine"]), { seed: 7, gan: false, net: { act: "relu" }, levels: [], schedule: "cosine" });
});

test("configHash is stable: independent of key order, sensitive to values", () => {
  const a = resolveConfig(def, { preset: "tiny" });
  const reordered = Object.fromEntries(Object.entries(a).reverse());
  assert.equal(configHash(reordered), configHash(a));
  assert.match(configHash(a), /^[0-9a-f]{64}$/);
  assert.notEqual(configHash({ ...a, lr: 0.02 }), configHash(a));
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } }), '{"a":{"d":[2,1]},"b":1}');
  assert.equal(configHash({ b: 1, a: 2 }), "d3626ac30a87e6f7a6428233b3c68299976865fa5508e4267c5415c76af7a772"); // sha256('{"a":2,"b":1}')
});

test("didYouMean and the lr schedule", () => {
  assert.equal(didYouMean("batchsize", ["batchSize", "steps"]), "batchSize");
  assert.equal(didYouMean("qqqq", ["batchSize", "steps"]), null);
  const cfg = { lr: 1, steps: 11, warmupSteps: 2, schedule: "cosine" as const, minLrRatio: 0.1 };
  assert.deepEqual([0, 1, 2, 6, 10].map((i) => Number(lrAt(cfg, i).toFixed(6))), [0.5, 1, 1, 0.55, 0.1]);
  assert.equal(lrAt({ ...cfg, schedule: "constant" }, 10), 1);
});
