import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend, parseBackendName } from "../lib/backend";
import { ENGINES } from "./engines";

test("an unknown backend name is a clear error listing the valid ones", () => {
  assert.throws(() => parseBackendName("bogus", "IFSQ_BACKEND"), /IFSQ_BACKEND="bogus" is not a backend; expected one of: tensorflow-gpu, tensorflow, native, wasm, cpu/);
});

test("cpu, wasm (and native where built) initialise and compute the same matmul", async () => {
  const a = [[1, 2], [3, 4]];
  const results: number[][] = [];
  for (const name of ENGINES) {
    const info = await initBackend(name, { log: () => {} });
    assert.equal(info.name, name);
    assert.equal(tf.getBackend(), name === "native" ? "wasm" : name); // native = wasm with BLAS kernels
    results.push(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d(a), tf.tensor2d(a))).dataSync()));
  }
  assert.deepEqual(results[0], [7, 10, 15, 22]);
  for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
});

test("the danfojs tfjs-node shim is never taken for the native engine", async () => {
  await assert.rejects(initBackend("tensorflow", { log: () => {} }), /@tensorflow\/tfjs-node is not installed/);
});

test("IFSQ_RUNS_DIR moves the runs folder (relative to the project root unless absolute)", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { defaultRunsDir } = require("../lib/train/run") as typeof import("../lib/train/run");
  const { projectRoot } = require("../lib/project-root") as typeof import("../lib/project-root");
  const saved = process.env.IFSQ_RUNS_DIR;
  try {
    delete process.env.IFSQ_RUNS_DIR;
    assert.equal(defaultRunsDir(), path.join(projectRoot(), "data", "runs"));
    process.env.IFSQ_RUNS_DIR = "/srv/shared-runs";
    assert.equal(defaultRunsDir(), "/srv/shared-runs");
    process.env.IFSQ_RUNS_DIR = "elsewhere/runs";
    assert.equal(defaultRunsDir(), path.join(projectRoot(), "elsewhere", "runs"));
  } finally {
    if (saved === undefined) delete process.env.IFSQ_RUNS_DIR;
    else process.env.IFSQ_RUNS_DIR = saved;
  }
});
