import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { ParamStore } from "../lib/nn/params";
import { repaProjector, repaProject, repaLoss, repaProjectorMacs, isRepaParam } from "../lib/nn/repa";
import { ntXent } from "../lib/nn/nt-xent";
import { AdamW } from "../lib/nn/adamw";
import { Rng } from "../lib/rng";
import { twoViews } from "../lib/data/augment";
import { loadFashionMnist } from "../lib/data/fashion-mnist";
import { imageBatch } from "../lib/data/batches";
import { PatchTeacher, patchesToGrid } from "../lib/models/teacher";
import { LlamaGen } from "../lib/models/llamagen";
import { DiT } from "../lib/models/dit";
import { runEnv } from "../lib/experiments/kinds";
import { resolveArConfig, trainAr, makeArTask } from "../lib/experiments/ar/index";
import { resolveDiTConfig, makeDiTTask, trainDiT } from "../lib/experiments/dit/index";
import { loadTeacher, teacherTargets, teacherConfig } from "../lib/experiments/teacher/index";
import { repaTrainFlopsPerSample } from "../lib/experiments/repa-training/alignment";
import { presetConfig, configHash } from "../lib/train/config";
import { gradTensors } from "../lib/train/trainer";
import { tempDirs } from "./support/temp-dirs";

const tmpDir = tempDirs("ifsq-repa-");
const close = (a: number, b: number, tol: number, msg = "") => assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b} (tol ${tol})`);

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

for (const backend of ENGINES) {
  test(`repaLoss (${backend}): −1 for targets equal to the projection, +1 for their negation, −mean cos by hand; the projector learns to align`, async () => {
    await initBackend(backend, { log: () => {} });
    const store = new ParamStore(3);
    const p = repaProjector(store, { inDim: 6, hidden: 8, outDim: 5 });
    assert.deepEqual(store.names(), ["repa.proj.fc1.w", "repa.proj.fc1.b", "repa.proj.fc2.w", "repa.proj.fc2.b", "repa.proj.fc3.w", "repa.proj.fc3.b"]);
    assert.ok(store.names().every(isRepaParam));
    const h = tf.randomNormal([2, 3, 6], 0, 30, "float32", 1) as tf.Tensor3D; // wide enough that ‖h_φ(h)‖² ≫ ε at init
    const proj = repaProject(h, p) as tf.Tensor3D;
    close(repaLoss(h, proj, p).dataSync()[0], -1, 1e-5, "aligned");
    close(repaLoss(h, tf.neg(proj) as tf.Tensor3D, p).dataSync()[0], 1, 1e-5, "opposite");
    // by hand: −(1/6) Σ_n cos(proj_n, y_n)
    const y = tf.randomNormal([2, 3, 5], 0, 1, "float32", 2) as tf.Tensor3D;
    const P = proj.arraySync() as number[][][];
    const Y = y.arraySync() as number[][][];
    let s = 0;
    for (let b = 0; b < 2; b++) {
      for (let n = 0; n < 3; n++) {
        const dot = P[b][n].reduce((a, v, k) => a + v * Y[b][n][k], 0);
        const nrm = (v: number[]) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
        s += dot / (nrm(P[b][n]) * nrm(Y[b][n]));
      }
    }
    close(repaLoss(h, y, p).dataSync()[0], -s / 6, 1e-5, "by hand");
    assert.throws(() => repaLoss(h, tf.zeros([2, 3, 4]) as tf.Tensor3D, p), /targets have shape \[2,3,4\]; expected \[2, 3, 5\]/);
    // 40 AdamW steps on the projector alone raise the alignment to fixed targets
    const opt = new AdamW(store, { lr: 1e-2 });
    const first = repaLoss(h, y, p).dataSync()[0];
    for (let i = 0; i < 40; i++) {
      const { value, grads } = tf.variableGrads(() => repaLoss(h, y, p), store.variables());
      opt.step(Object.fromEntries(store.entries().map(([n, v]) => [n, grads[v.name]])));
      tf.dispose([value, ...Object.values(grads)]);
    }
    const last = repaLoss(h, y, p).dataSync()[0];
    assert.ok(last < first - 0.3, `alignment learnt: ${first} → ${last}`);
    tf.dispose([h, proj, y]);
    store.dispose();
    await initBackend("cpu", { log: () => {} });
  });
}

test("repaProjectorMacs and ntXent by hand", () => {
  assert.equal(repaProjectorMacs({ inDim: 4, hidden: 8, outDim: 3 }, 5), 5 * (32 + 64 + 24));
  // 2 images, views identical: u = e1 (image 0), e2 (image 1); s_ij/τ with τ = 1: s(partner) = 1, others 0
  // ℓ_i = −1 + log(e^0 + e^1 + e^0) (three j ≠ i: partner 1, two others 0) for every row
  const z = tf.tensor2d([[1, 0], [0, 1], [1, 0], [0, 1]]);
  close(ntXent(z, 1).dataSync()[0], -1 + Math.log(2 + Math.E), 1e-5);
  assert.throws(() => ntXent(tf.zeros([3, 2]) as tf.Tensor2D), /3 embeddings; expected an even number ≥ 4/);
  z.dispose();
});

test("twoViews: seeded, in range, different views of one image", () => {
  const ds = loadFashionMnist("train", { limit: 4 });
  const a = twoViews(ds.images, 4, 32, new Rng(1, "v"));
  const b = twoViews(ds.images, 4, 32, new Rng(1, "v"));
  assert.deepEqual(a, b);
  assert.equal(a.length, 8 * 1024);
  let diff = 0;
  for (let p = 0; p < 1024; p++) diff += Math.abs(a[p] - a[4 * 1024 + p]);
  assert.ok(diff / 1024 > 0.02, `the two views of image 0 differ (mean |Δ| ${diff / 1024})`);
  assert.ok(a.every((v) => v > -1.5 && v < 1.5));
});

test("teacher (tiny): SimCLR loss falls, probe accuracy well above chance, patch features cached by row; REPA AR and DiT tasks (alignment, FLOPs, no leak), inference without the projector", async () => {
  await initBackend("wasm", { log: () => {} });
  const runsDir = tmpDir();
  const env = runEnv({ runsDir, log: () => {}, progress: false });
  const t = await loadTeacher(env, "tiny");
  assert.equal(t.reused, false);
  assert.ok(t.probeAccuracy > 0.4, `linear probe ${t.probeAccuracy} (chance 0.1)`);
  const rows = JSON.parse(JSON.stringify(fs.readFileSync(path.join(t.dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))));
  const train = rows.filter((r: { type: string }) => r.type === "train");
  assert.ok(train[train.length - 1].loss < train[0].loss, `NT-Xent falls: ${train[0].loss} → ${train[train.length - 1].loss}`);
  assert.equal(t.teacher.grid, 8);
  // the feature network and the teacher differ in kind and config
  assert.notEqual(configHash(presetConfig(teacherConfig, "tiny")), "");

  // REPA AR task at tiny on a tiny tokenizer
  const overrides = { steps: 6, trainLimit: 256, tokenizer: { steps: 2, trainLimit: 256 }, repa: { depth: 1, weight: 2, teacher: "tiny" } };
  const cfg = resolveArConfig({ preset: "tiny", overrides });
  const base = resolveArConfig({ preset: "tiny", overrides: { ...overrides, repa: undefined } });
  assert.equal(base.repa, undefined);
  assert.notEqual(configHash(cfg), configHash(base));
  const task = await makeArTask(cfg, env);
  assert.ok(task.repa, "REPA is on");
  const repaNames = task.params.names().filter(isRepaParam);
  assert.equal(repaNames.length, 6);
  // targets: row i of the cache = the teacher's patch features of training image i, raster order
  const targets = await teacherTargets(t, task.tokenizerRunDir, { n: 256, grid: 8 });
  assert.equal(targets.cached, true, "the task computed the cache; this call reads it");
  const img = loadFashionMnist("train", { limit: 8 });
  const direct = tf.tidy(() => patchesToGrid(t.teacher.forward(imageBatch(img, [5, 2])).patches, 8)).dataSync();
  const fromCache = targets.gather([5, 2]);
  for (let i = 0; i < direct.length; i++) close(fromCache[i], direct[i], 1e-5, `cache value ${i}`);
  // FLOPs: the model's plus the projector's 6·T·(D·H + H·H + H·Dt) per sample
  const D = cfg.dim;
  const Dt = t.config.featureDim;
  assert.equal(repaTrainFlopsPerSample(cfg.repa!, D, 64), 6 * 64 * (D * 2 * D + 4 * D * D + 2 * D * Dt));
  assert.equal(task.flopsPerStep, (task.model.flops().trainPerSample + 6 * 64 * (D * 2 * D + 4 * D * D + 2 * D * Dt)) * cfg.batchSize);
  // the loss has a repa part in [−1, 1]; no tensor leak per step
  const counts: number[] = [];
  for (let s = 0; s < 3; s++) {
    const b = task.batch(s);
    assert.deepEqual(b.targets!.shape, [cfg.batchSize, 64, Dt]);
    const r = tf.tidy(() => {
      const g = gradTensors(task, b, { step: s, seed: s });
      assert.ok(g.grads["repa.proj.fc1.w"], "the projector gets a gradient");
      assert.ok(g.grads["blocks.0.attn.qkv.w"] ?? Object.keys(g.grads).some((k) => k.startsWith("blocks.0")), "block 1 gets a gradient");
      const out = { repa: g.parts.repa.dataSync()[0], loss: g.loss.dataSync()[0], ce: Object.keys(g.parts).filter((k) => k.startsWith("ce")).reduce((a, k) => a + g.parts[k].dataSync()[0], 0) };
      tf.dispose(Object.values(g.parts)); // gradTensors keeps the parts for its caller (the trainer disposes them)
      return out;
    });
    assert.ok(r.repa >= -1 && r.repa <= 1, `L_REPA ${r.repa}`);
    close(r.loss, r.ce + 2 * r.repa, 1e-4, "loss = CE + λ·L_REPA");
    task.disposeBatch!(b);
    counts.push(tf.memory().numTensors);
  }
  assert.deepEqual(counts.slice(1), [counts[0], counts[0]], `tensors per step: ${counts}`);
  task.dispose();

  // a finished REPA run loads for inference without the projector: same parameters and sampling cost as without REPA
  const ar = await trainAr(env, { config: cfg, train: { progress: false } });
  const plain = new LlamaGen(ar.model.arch, 0);
  assert.equal(ar.model.params.names().filter(isRepaParam).length, 0);
  assert.deepEqual(ar.model.params.names(), plain.params.names());
  assert.equal(ar.model.params.count(), plain.params.count());
  assert.deepEqual(ar.model.flops(), plain.flops());
  const metrics = ar.metrics.filter((r) => r.type === "train");
  assert.equal(typeof metrics[0].repa, "number");
  const tokens = await ar.model.generate([0, 1], { seed: 3 });
  assert.equal(tokens.length, 2 * 64 * ar.model.numGroups);
  plain.dispose();
  ar.dispose();

  // DiT: token i with patch i, same projector, same checks
  const dcfg = resolveDiTConfig({ preset: "tiny", overrides: { ...overrides, repa: { depth: 1, weight: 0.5, teacher: "tiny" } } });
  const dtask = await makeDiTTask(dcfg, env);
  assert.ok(dtask.repa);
  const db = dtask.batch(0);
  const dr = tf.tidy(() => {
    const g = gradTensors(dtask, db, { step: 0, seed: 0 });
    assert.ok(g.grads["repa.proj.fc3.w"]);
    const out = { repa: g.parts.repa.dataSync()[0], loss: g.loss.dataSync()[0], mse: g.parts.mse.dataSync()[0], cos: g.parts.cosine.dataSync()[0] };
    tf.dispose(Object.values(g.parts));
    return out;
  });
  close(dr.loss, dr.mse + dcfg.cosineWeight * dr.cos + 0.5 * dr.repa, 1e-4, "loss = flow + λ·L_REPA");
  dtask.disposeBatch!(db);
  assert.equal(dtask.flopsPerStep, (dtask.model.flops().trainPerSample + repaTrainFlopsPerSample(dcfg.repa!, dcfg.dim, 64)) * dcfg.batchSize);
  dtask.dispose();
  const dit = await trainDiT(env, { config: dcfg, train: { progress: false } });
  const dplain = new DiT(dit.model.arch, 0);
  assert.deepEqual(dit.model.params.names(), dplain.params.names());
  assert.equal(dit.model.params.count(), dplain.params.count());
  dplain.dispose();
  dit.dispose();
  // ℓ beyond the depth is a clear error
  await assert.rejects(makeArTask(resolveArConfig({ preset: "tiny", overrides: { ...overrides, repa: { depth: 9, weight: 1, teacher: "tiny" } } }), env), /repa.depth=9 is not a block of this 2-block model/);
  t.teacher.dispose();
  await initBackend("cpu", { log: () => {} });
});
