import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, parseBackendName } from "../lib/backend";

test("an unknown backend name is a clear error listing the valid ones", () => {
  assert.throws(() => parseBackendName("bogus", "IFSQ_BACKEND"), /IFSQ_BACKEND="bogus" is not a backend; expected one of: tensorflow-gpu, tensorflow, wasm, cpu/);
});

test("cpu and wasm both initialise and compute the same matmul", async () => {
  const a = [[1, 2], [3, 4]];
  const results: number[][] = [];
  for (const name of ["cpu", "wasm"] as const) {
    const info = await initBackend(name, { log: () => {} });
    assert.equal(info.name, name);
    assert.equal(tf.getBackend(), name);
    results.push(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d(a), tf.tensor2d(a))).dataSync()));
  }
  assert.deepEqual(results[0], [7, 10, 15, 22]);
  assert.deepEqual(results[1], results[0]);
});

test("the danfojs tfjs-node shim is never taken for the native engine", async () => {
  await assert.rejects(initBackend("tensorflow", { log: () => {} }), /@tensorflow\/tfjs-node is not installed/);
});
