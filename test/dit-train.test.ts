/**
 * lib/experiments/diffusion.ts: the `dit` train kind on the tiny preset. The tokenizer run it names is trained (a
 * few steps), its training latents are extracted once through the shared token cache, the latent multiplier is
 * 1/std and stored with the run, the loss falls on these real latents, no tensors leak per step, a finished run is
 * reused, and sampling/decoding/gFID run end to end. Plus the config's tokenizer reference and latent helpers.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { FSQ } from "../lib/quant/fsq";
import { runId } from "../lib/train/run";
import { configHash } from "../lib/train/config";
import { lookupKind } from "../lib/train/registry";
import { runEnv } from "../lib/experiments/kinds";
import {
  resolveDiTConfig,
  trainDiT,
  sampleDiTLatents,
  sampleDiTImages,
  decodeDiTLatents,
  evaluateDiT,
  ditRequantizeComparison,
  ditSamplingStudy,
  snapToCodeGrid,
  offGridDistance,
  readLatentRecord,
  ditConfig,
} from "../lib/experiments/dit/index";
import { indicesToCodeArray } from "../lib/experiments/latents";


before(async () => {
  await initBackend("wasm", { log: () => {} });
});

test("config: tiny/quick/paper-cpu resolve; the tokenizer run id and hash are filled in and checked", () => {
  for (const p of ["tiny", "quick", "paper-cpu"]) {
    const c = resolveDiTConfig({ preset: p });
    assert.equal(c.tokenizerRun, runId("tokenizer", c.tokenizer));
    assert.equal(c.tokenizerHash, configHash(c.tokenizer));
  }
  const q = resolveDiTConfig({ preset: "quick" });
  const t = resolveDiTConfig({ preset: "quick", set: ["tokenizer.bound=tanh"] });
  assert.notEqual(q.tokenizerRun, t.tokenizerRun, "a different tokenizer must give a different DiT config");
  assert.throws(() => resolveDiTConfig({ preset: "tiny", set: ["tokenizerRun=tokenizer-000000000000"] }), /does not match the tokenizer config/);
  assert.throws(() => resolveDiTConfig({ preset: "tiny", set: ["dimm=3"] }), /unknown key "dimm".*did you mean "dim"/);
  assert.equal(lookupKind(runEnv().kinds, "dit").configDef, ditConfig);
});

test("latent helpers: indices → codes is exact; snapping to the code grid; off-grid distance", () => {
  const fsq = new FSQ({ levels: [17, 5, 4], bound: "tanh" });
  const codes = tf.tensor2d([[0.5, -1, 0.5], [-0.125, 0.5, -1], [1, 0, 0]]);
  const idx = fsq.codesToIndices(codes);
  assert.deepEqual(Array.from(indicesToCodeArray(fsq, idx.dataSync() as Int32Array, 2)), Array.from(codes.dataSync()));
  // snap: odd L clamps to [−1, 1]; even L = 4 (h = 2) to [−1, 1/2]
  const z = tf.tensor2d([[0.52, -1.7, 0.9], [0.03, 0.3, -0.3]]);
  const s = snapToCodeGrid(fsq, z).dataSync();
  assert.deepEqual(Array.from(s), [0.5, -1, 0.5, 0, 0.5, -0.5]);
  const d = offGridDistance(fsq, tf.tensor2d([[0.5, 0.125, 0.25]])); // on grid; quarter bin (h = 2); half bin
  assert.ok(Math.abs(d.mean - (0 + 0.25 + 0.5) / 3) < 1e-6);
  tf.dispose([codes, idx, z]);
});

test("trainDiT (tiny): names its tokenizer run, caches latents, m = 1/std, loss falls on real latents, no leak per step; reuse; sampling and gFID", async () => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-dit-"));
  try {
    const cfg = resolveDiTConfig({ preset: "tiny", overrides: { steps: 40, trainLimit: 512, tokenizer: { steps: 4, trainLimit: 512 } } });
    const counts: number[] = [];
    const env = runEnv({ runsDir, log: () => {}, progress: false });
    const dit = await trainDiT(env, { config: cfg, train: { progress: false, onStep: () => counts.push(tf.memory().numTensors) } });
    try {
      assert.equal(dit.reused, false);
      assert.equal(path.basename(dit.tokenizerRunDir), cfg.tokenizerRun);
      assert.ok(fs.existsSync(dit.latents.file), "token cache written next to the tokenizer run");
      assert.equal(dit.latents.n, 512);
      // m = 1/std of the codes, recorded with the run
      assert.ok(Math.abs(dit.latentMultiplier * dit.latents.std - 1) < 1e-9);
      const rec = readLatentRecord(dit.runDir);
      assert.ok(rec && rec.latentMultiplier === dit.latentMultiplier && rec.tokenizerRun === cfg.tokenizerRun && rec.tokenizerHash === cfg.tokenizerHash);
      // codes are exact k/h values
      const h = dit.tokenizer.fsq.halfWidths[0];
      assert.ok(dit.latents.codes.every((v) => Math.abs(v * h - Math.round(v * h)) < 1e-5 && Math.abs(v) <= 1));
      // no leak per step (the count after the first step stays); onStep sees the DiT's steps only
      assert.equal(counts.length, 40);
      const ditCounts = counts;
      assert.ok(ditCounts.every((c) => c === ditCounts[0]), `tensor counts: ${ditCounts.join(",")}`);
      // loss falls: first window vs last window
      const rows = dit.metrics.filter((r) => r.type === "train");
      const first = rows[0].loss as number;
      const last = rows[rows.length - 1].loss as number;
      assert.ok(last < 0.85 * first, `loss ${first} → ${last}`);
      assert.ok((rows[rows.length - 1].flops as number) === 40 * dit.model.flops().trainPerSample * cfg.batchSize);
      // sampling: latents in code units, decoding continuous and re-quantized, bad input
      const z = sampleDiTLatents(dit, [0, 1, 10], { steps: 3, seed: 1 });
      assert.deepEqual(z.shape, [3, 8, 8, 4]);
      assert.ok(Array.from(z.dataSync()).every(Number.isFinite));
      const img = decodeDiTLatents(dit, z);
      const imgQ = decodeDiTLatents(dit, z, { requantize: true });
      assert.deepEqual(img.shape, [3, 32, 32, 1]);
      assert.ok(Array.from(imgQ.dataSync()).every(Number.isFinite));
      tf.dispose([z, img, imgQ]);
      const again = await sampleDiTImages(dit, [2, 3], { steps: 2, seed: 5, batchSize: 1 });
      assert.deepEqual(again.shape, [2, 32, 32, 1]);
      again.dispose();
      assert.throws(() => sampleDiTLatents(dit, [0, 11], { steps: 2 }), /classes\[1\]=11 is out of range; expected an integer in \[0, 10\]/);
      assert.throws(() => sampleDiTLatents(dit, [0], { steps: 0 }), /steps=0 must be a positive integer/);
      const ev = await evaluateDiT(dit, { n: 130, steps: 1, featureNet: "tiny" });
      assert.ok(Number.isFinite(ev.gfid) && ev.gfid > 0 && ev.samplesPerSec > 0, JSON.stringify(ev));
      // the re-quantize comparison decodes the same latents both ways
      const rq = await ditRequantizeComparison(dit, { n: 130, steps: 1, featureNet: "tiny" });
      assert.deepEqual(rq.map((r) => r.decoding), ["continuous", "re-quantized"]);
      assert.ok(rq[0].offGrid > 0 && rq[0].offGrid <= 0.5 && rq[1].offGrid === 0 && rq.every((r) => Number.isFinite(r.gfid)));
      // one pass for both tables: the comparison's latents are the sweep's row at requantizeAt (same gFID, to the bit)
      const study = await ditSamplingStudy(dit, { n: 130, steps: [2, 1], requantizeAt: 1, featureNet: "tiny" });
      assert.deepEqual(study.steps.map((r) => r.steps), [2, 1]);
      assert.equal(study.requantize![0].gfid, study.steps[1].gfid);
      assert.deepEqual(study.requantize, rq, "the same table as ditRequantizeComparison at that step count");
      assert.notEqual(study.steps[0].gfid, study.steps[1].gfid);
      assert.equal((await ditSamplingStudy(dit, { n: 130, steps: [2], featureNet: "tiny" })).requantize, null);
      await assert.rejects(ditSamplingStudy(dit, { n: 130, steps: [2], requantizeAt: 5 }), /requantizeAt=5 is not one of steps=\[2\]/);
    } finally {
      dit.dispose();
    }
    // a finished run is reused (no training, same weights)
    const reused = await trainDiT(env, { config: cfg });
    try {
      assert.equal(reused.reused, true);
      assert.equal(reused.latents.cached, true);
    } finally {
      reused.dispose();
    }
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});
