/**
 * The benchmark workloads (bench/workloads.ts) match the specification (parameter counts, FLOPs per step),
 * train on wasm with the same loss and gradients as on cpu (tiny sizes), leak no tensors; and the wasm heap guard
 * (lib/train/wasm-heap) turns a heap past its limit into a clear error and leaves the backend usable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { computeGrads } from "../lib/train/trainer";
import { makeWorkload, WORKLOADS, type WorkloadName } from "../bench/workloads";
import { installWasmHeapGuard, maxBatchForHeap, wasmHeapBytes, WasmHeapError } from "../lib/train/wasm-heap";

test("workloads A, B, C have the issue's parameter counts and training FLOPs at batch 64", async () => {
  await initBackend("cpu", { log: () => {} });
  const expected: Record<WorkloadName, { params: number; gflop: number }> = {
    A: { params: 410_629, gflop: 21.1 },
    B: { params: 1_855_616, gflop: 34.2 },
    C: { params: 1_264_132, gflop: 21.1 },
  };
  for (const w of WORKLOADS) {
    const t = makeWorkload(w, "quick");
    assert.equal(t.params.count(), expected[w].params, `${w} parameters`);
    assert.equal(Math.round((t.flopsPerStep ?? 0) / 1e8) / 10, expected[w].gflop, `${w} GFLOP per step`);
    t.dispose();
  }
  const bigV = makeWorkload("B", "quick", { vocab: 4913 });
  assert.equal(bigV.params.count(), 2_065_585, "B with V = 4913");
  bigV.dispose();
});

test("wasm and native: every workload's loss and gradients equal cpu's (tiny), without tensor leaks", async () => {
  const results: Record<string, Record<string, { loss: number; grads: Record<string, Float32Array> }>> = {};
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    results[backend] = {};
    for (const w of WORKLOADS) {
      const t = makeWorkload(w, "tiny", { batchSize: 3 });
      const b = t.batch(0);
      await computeGrads(t, b, { step: 0, seed: 1 }); // first call creates kernels/caches
      const before = tf.memory().numTensors;
      results[backend][w] = await computeGrads(t, b, { step: 0, seed: 1 });
      assert.equal(tf.memory().numTensors, before, `${w} on ${backend}: tensor leak`);
      t.disposeBatch!(b);
      t.dispose();
    }
  }
  for (const w of WORKLOADS) for (const engine of ENGINES.filter((e) => e !== "cpu")) {
    const c = results.cpu[w];
    const m = results[engine][w];
    assert.ok(Math.abs(c.loss - m.loss) <= 1e-4 * Math.abs(c.loss), `${w} loss cpu ${c.loss} vs ${engine} ${m.loss}`);
    for (const [k, g] of Object.entries(c.grads)) {
      let ref = 1e-6;
      let d = 0;
      for (let i = 0; i < g.length; i++) {
        ref = Math.max(ref, Math.abs(g[i]));
        d = Math.max(d, Math.abs(g[i] - m.grads[k][i]));
      }
      // A's straight-through round can flip a code on a float-level difference; allow a little more there
      assert.ok(d <= (w === "A" ? 2e-2 : 1e-3) * ref, `${w} ${engine} grad ${k}: max |Δ| ${d} vs max |g| ${ref}`);
    }
  }
});

test("wasm heap guard: a heap past the limit is a clear WasmHeapError; the backend keeps working", async () => {
  await initBackend("wasm", { log: () => {} });
  const heap0 = wasmHeapBytes();
  assert.ok(heap0 !== null && heap0 > 0, "wasm reports its heap");
  const before = tf.memory().numTensors;
  const remove = installWasmHeapGuard({ limitBytes: heap0 + 4 * 2 ** 20, context: "test" });
  try {
    assert.throws(
      () => tf.tensor1d(new Float32Array((heap0 + 64 * 2 ** 20) / 4)),
      (e: unknown) => e instanceof WasmHeapError && /wasm heap .* past the guard's .* GiB \(test\): .*4 GiB.*lower batchSize/.test(e.message),
    );
    const small = tf.tensor1d([1, 2, 3]); // fits without growth
    assert.deepEqual(Array.from(small.dataSync()), [1, 2, 3]);
    small.dispose();
  } finally {
    remove();
  }
  const big = tf.tensor1d(new Float32Array(2 ** 20).fill(2)); // the guard is gone
  const sum = tf.sum(big);
  assert.equal(sum.dataSync()[0], 2 ** 21);
  tf.dispose([big, sum]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(maxBatchForHeap(16, 1100, 100, 4100), 64);
  assert.equal(maxBatchForHeap(16, 100, 100), Infinity);
  await initBackend("cpu", { log: () => {} });
  assert.equal(wasmHeapBytes(), null);
  assert.doesNotThrow(() => installWasmHeapGuard()()); // no-op off wasm
});
