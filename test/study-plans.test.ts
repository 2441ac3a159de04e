/**
 * Studies as typed plans (issue 26): every study's run folders at every preset are the ones finished runs already have
 * (fixture), and changing a knob of a notebook's parameter cell (λ in 07, L in 05, the budget and seeds in 06) trains
 * only the runs that are new. The runs here train stand-in tasks (the toy MLP under each kind's name and real config,
 * so run folders and locks are the real ones) through the notebooks' planner and trainPlan, in seconds.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { kindRegistry, type TrainKind } from "../lib/train/registry";
import { resolveConfig, type ConfigDef } from "../lib/train/config";
import { makeToyTask, toyConfig, type ToyConfig } from "../lib/train/toy";
import { tokenizerConfig } from "../lib/experiments/tokenizer/config";
import { arConfig } from "../lib/experiments/ar/config";
import { ditConfig } from "../lib/experiments/dit/config";
import type { RunEnv } from "../lib/experiments/env";
import { STUDIES } from "../lib/experiments/studies";
import { planStudy } from "../lib/experiments/plan";
import { trainPlan } from "../lib/experiments/train-plan";
import { repaSetup, repaStudy } from "../lib/experiments/repa/grid";
import { bitsSetup, bitsStudy } from "../lib/experiments/bits/grid";
import { convergenceSetup, convergenceStudy } from "../lib/experiments/convergence/grid";
import { alsoInColumn, otherPlanners, runPlanners } from "../lib/experiments/shared-runs";
import { tempDirs } from "./support/temp-dirs";

const tmpDir = tempDirs("ifsq-study-plans-");

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

test("every study plans the run folders finished runs already have (tiny, quick, paper-cpu)", () => {
  const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "study-run-ids.json"), "utf8")) as Record<string, string[]>;
  let n = 0;
  for (const s of STUDIES.values()) {
    for (const preset of ["tiny", "quick", "paper-cpu"] as const) {
      assert.deepEqual(s.plan(preset).map((r) => r.id).sort(), fixture[`${s.name}@${preset}`], `${s.name}@${preset}`);
      n++;
    }
  }
  assert.equal(n, Object.keys(fixture).length - 1);
});

/** An environment whose tokenizer / ar / dit kinds keep their config definitions but train a 2-step toy MLP. */
function standInEnv(): RunEnv {
  // the real config (its hash names the run folder), the toy MLP's parameters, batches and loss
  const standIn = (kind: string, configDef: ConfigDef): TrainKind => ({
    configDef,
    makeTask: (config) => ({ ...makeToyTask(resolveConfig(toyConfig, { preset: "tiny", overrides: { seed: Number(config.seed), hidden: 4, batchSize: 4 } })), kind, config: config as unknown as ToyConfig }),
  });
  const kinds = kindRegistry({ tokenizer: standIn("tokenizer", tokenizerConfig), ar: standIn("ar", arConfig), dit: standIn("dit", ditConfig) });
  return { kinds, runsDir: tmpDir(), log: () => {}, progress: false };
}

test("a changed knob at tiny trains only the new runs: λ (07), L (05), the budget and seeds (06); 06 reuses the runs 07 trained as its baselines", async () => {
  const t0 = Date.now();
  const env = standInEnv();
  const count = async (planned: Parameters<typeof trainPlan>[1]) => {
    const s = await trainPlan(env, planned);
    return [s.trained.length, s.reused.length];
  };
  // 07: its curves (06's 4 runs and their 4 REPA runs) and the tiny ablation (3 runs); then λ = 3 added to the ablation's weights: one new run (ℓ = 1, λ = 3)
  const repa = repaSetup("tiny");
  assert.deepEqual(await count(planStudy(repaStudy, repa)), [11, 0]);
  const withL3 = { ...repa, ablation: { ...repa.ablation!, weights: [2, 3] } };
  assert.deepEqual(await count(planStudy(repaStudy, withL3)), [1, 11]);
  assert.deepEqual(await count(planStudy(repaStudy, repa)), [0, 11]);
  // 05: L = 7 added: its 2 iFSQ tokenizers (2 seeds), its AR and its DiT; the AR runs of L = 3, 5 keep their steps
  // (tiny: 6 tokenizers + 1 half-budget + 2 AR + 2 DiT)
  assert.deepEqual(await count(planStudy(bitsStudy, bitsSetup({ preset: "tiny" }))), [11, 0]);
  assert.deepEqual(await count(planStudy(bitsStudy, bitsSetup({ preset: "tiny", levels: [3, 5, 7] }))), [4, 11]);
  // 06: a new budget changes every run (steps, evaluation points); a third seed adds one run per generator
  // 06 after 07: its 4 runs are 07's baselines, trained once
  const conv = convergenceSetup("tiny");
  assert.deepEqual(await count(planStudy(convergenceStudy, conv)), [0, 4]);
  assert.deepEqual(await count(planStudy(convergenceStudy, { ...conv, budget: 24 })), [4, 0]);
  assert.deepEqual(await count(planStudy(convergenceStudy, { ...conv, seeds: [0, 1, 2] })), [2, 4]);
  console.log(`study-plans: knob changes trained and reused as expected in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test("one tokenizer family per preset (quick, paper-cpu): 02's runs are 05's L = 17 runs, whose seed-0 iFSQ run is the tokenizer of 03, 04, 06 and 07", () => {
  for (const preset of ["quick", "paper-cpu"] as const) {
    const plan = (name: string) => STUDIES.get(name)!.plan(preset);
    const bits = plan("bits");
    const bitsIds = new Set(bits.map((r) => r.id));
    const cfg = (r: { config: unknown }) => r.config as Record<string, any>;
    const tok02 = plan("tokenizers");
    assert.equal(tok02.length, preset === "quick" ? 4 : 6);
    for (const r of tok02) assert.ok(bitsIds.has(r.id), `${preset}: 02's ${r.label} (${r.id}) is not one of 05's runs`);
    const shared = bits.find((r) => r.kind === "tokenizer" && cfg(r).levels[0] === 17 && cfg(r).bound === "ifsq" && cfg(r).seed === 0 && !r.label.endsWith("half-budget"))!;
    // the tokenizer every generator preset (03, 04) and the convergence / repa studies (06, 07) train on
    const gens = [...plan("convergence"), ...plan("repa")].filter((r) => r.kind === "ar" || r.kind === "dit");
    assert.ok(gens.length > 0);
    for (const r of gens) assert.equal(cfg(r).tokenizerRun, shared.id, `${preset}: ${r.label}`);
    assert.equal(resolveConfig(arConfig, { preset }).tokenizerRun, shared.id, `${preset}: the ar preset`);
    assert.equal(resolveConfig(ditConfig, { preset }).tokenizerRun, shared.id, `${preset}: the dit preset`);
    // the run tables name where a shared run also comes from
    assert.deepEqual(runPlanners(preset).get(shared.id), ["02", "03", "04", "05", "06", "07"]);
    assert.equal(otherPlanners(runPlanners(preset), tok02[0].id, "05"), "02");
    assert.deepEqual(alsoInColumn(`/runs/${shared.id}`, preset, "02"), { "also in notebooks": "03, 04, 05, 06, 07" });
    assert.deepEqual(alsoInColumn(`/runs/${shared.id}`, undefined, "02"), {});
  }
});
