import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { PatchTeacher, patchesToGrid } from "../lib/models/teacher";
import { ntXent } from "../lib/nn/nt-xent";
import { loadFashionMnist } from "../lib/data/fashion-mnist";
import { imageBatch } from "../lib/data/batches";
import { makeTeacherTask, resolveTeacherConfig, teacherArch } from "../lib/experiments/teacher/index";
import { train } from "../lib/train/trainer";
import { tempDirs } from "./support/temp-dirs";

const tmpDir = tempDirs("ifsq-teacher-");
const arch = { channels: [4, 8, 8] as [number, number, number], featureDim: 6, projDim: 5, side: 32 };

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

test("PatchTeacher: shapes, pooled = mean of the patches, cpu and wasm agree on outputs and gradients", async () => {
  const ds = loadFashionMnist("train", { limit: 4 });
  const result: Record<string, { patches: Float32Array; grads: Float32Array[] }> = {};
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    const t = new PatchTeacher(arch, 9);
    const x = imageBatch(ds, [0, 1, 2, 3]);
    const out = t.forward(x);
    assert.deepEqual(out.patches.shape, [4, 8, 8, 6]);
    assert.deepEqual(out.pooled.shape, [4, 6]);
    const mean = tf.tidy(() => tf.mean(out.patches, [1, 2]));
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(mean, out.pooled)))).dataSync()[0] < 1e-6);
    const { grads } = tf.variableGrads(() => ntXent(t.project(t.forward(x).pooled), 0.5), t.params.variables());
    result[backend] = { patches: out.patches.dataSync().slice() as Float32Array, grads: t.params.variables().map((v) => grads[v.name].dataSync().slice() as Float32Array) };
    for (const g of result[backend].grads) assert.ok(g.every(Number.isFinite) && g.some((v) => v !== 0), "every parameter gets a finite, non-zero gradient");
    tf.dispose([x, out.patches, out.pooled, mean, ...Object.values(grads)]);
    t.dispose();
  }
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(maxDiff(result.cpu.patches, result.wasm.patches) < 1e-4);
  result.cpu.grads.forEach((g, i) => {
    const scale = Math.max(1e-6, ...Array.from(g, Math.abs));
    assert.ok(maxDiff(g, result.wasm.grads[i]) / scale < 1e-3, `gradient ${i}`);
  });
  await initBackend("cpu", { log: () => {} });
  assert.throws(() => new PatchTeacher({ ...arch, side: 30 }, 0), /side=30 must be a positive multiple of 4/);
});

test("patchesToGrid: raster order on the same grid, 2×2 means on a coarser one, errors on a grid that does not divide", () => {
  const p = tf.tensor4d(Float32Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
  assert.deepEqual(Array.from(patchesToGrid(p, 4).dataSync()), Array.from({ length: 16 }, (_, i) => i));
  // cells (0,0),(0,1),(1,0),(1,1) = 0,1,4,5 → 2.5; then 2,3,6,7 → 4.5; 8,9,12,13 → 10.5; 10,11,14,15 → 12.5
  assert.deepEqual(Array.from(patchesToGrid(p, 2).dataSync()), [2.5, 4.5, 10.5, 12.5]);
  assert.throws(() => patchesToGrid(p, 3), /4×4 patch grid cannot be pooled onto a 3×3 latent grid/);
  p.dispose();
});

test("teacher task (tiny): no tensor leak per step, a linear probe above chance at the end", async () => {
  await initBackend("wasm", { log: () => {} });
  const cfg = resolveTeacherConfig({ preset: "tiny", overrides: { steps: 5, probeTrain: 200, probeTest: 200 } });
  assert.deepEqual(teacherArch(cfg).channels, [8, 16, 16]);
  const counts: number[] = [];
  const task = makeTeacherTask(cfg);
  const r = await train(task, { runsDir: tmpDir(), progress: false, log: () => {}, onStep: () => counts.push(tf.memory().numTensors) });
  assert.equal(r.step, 5);
  assert.deepEqual(counts.slice(1), new Array(counts.length - 1).fill(counts[1]), `tensors per step: ${counts}`);
  const done = r.metrics.filter((m) => m.type === "eval");
  assert.ok(Number(done[done.length - 1].probeAccuracy) > 0.2, `probe accuracy ${done[done.length - 1].probeAccuracy}`);
  task.dispose();
  await initBackend("cpu", { log: () => {} });
});
