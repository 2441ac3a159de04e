/** The shared transformer block (LlamaGen and DiT configurations), RoPE, attention and the KV cache. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { Rng } from "../lib/rng";
import { ParamStore } from "../lib/nn/params";
import { ropeTable, applyRope, ropeAngles } from "../lib/nn/rope";
import { attention, attentionTokensFirst, KVCache } from "../lib/nn/attention";
import { BlockConfig, transformerParams, transformerStack, blockParams, transformerBlock } from "../lib/nn/transformer";
import { swigluHidden } from "../lib/nn/swiglu";
import { blockMacs, trainingFlops } from "../lib/nn/flops";

const LLAMA: BlockConfig = { dim: 16, heads: 2, norm: "rms", mlp: "swiglu", bias: false, causal: true };
const DIT: BlockConfig = { dim: 16, heads: 2, norm: "rms", normEps: 1e-6, mlp: "swiglu", adaLN: true, qkNorm: true, qkvBias: true, bias: true, init: "xavier" };

function randn(shape: number[], seed: string): tf.Tensor {
  const rng = new Rng(3, seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test("RoPE: interleaved pairs, rows then columns, θ = 10000; q·k depends only on the 2-D offset", async () => {
  await initBackend("cpu", { log: () => {} });
  const angles = ropeAngles({ gridH: 3, gridW: 4, headDim: 8, prefix: 1 });
  assert.equal(angles.length, 13);
  assert.deepEqual(angles[0], [0, 0, 0, 0]);
  // cell 6 = (row 1, col 2); Dh 8 → 4 pairs: 2 by row with f = [1, 10000^(−1/2)], 2 by column
  const f1 = Math.pow(10000, -2 / 4);
  assert.deepEqual(angles[1 + 6].map((a) => +a.toFixed(12)), [1, f1, 2, 2 * f1].map((a) => +a.toFixed(12)));

  const rope = ropeTable({ gridH: 3, gridW: 4, headDim: 8, prefix: 1 });
  tf.tidy(() => {
    const T = 13;
    const qv = randn([1, 1, 1, 8], "q");
    const kv = randn([1, 1, 1, 8], "k");
    const q = applyRope(tf.tile(qv, [1, 1, T, 1]) as tf.Tensor4D, rope);
    const k = applyRope(tf.tile(kv, [1, 1, T, 1]) as tf.Tensor4D, rope);
    // explicit pair formula at position 7 (cell 6), pair 0 (angle = row·1 = 1)
    const x = qv.dataSync();
    const out = q.dataSync().slice(7 * 8, 8 * 8);
    assert.ok(Math.abs(out[0] - (x[0] * Math.cos(1) - x[1] * Math.sin(1))) < 1e-5);
    assert.ok(Math.abs(out[1] - (x[0] * Math.sin(1) + x[1] * Math.cos(1))) < 1e-5);
    // class position: no rotation
    assert.ok(maxDiff(tf.slice(q, [0, 0, 0, 0], [1, 1, 1, 8]), qv) < 1e-7);
    const dots = tf.matMul(tf.reshape(q, [T, 8]), tf.reshape(k, [T, 8]), false, true).arraySync() as number[][];
    const cell = (i: number) => [Math.floor(i / 4), i % 4];
    for (let i = 0; i < 12; i++)
      for (let j = 0; j < 12; j++)
        for (let i2 = 0; i2 < 12; i2++)
          for (let j2 = 0; j2 < 12; j2++) {
            const [a, b] = [cell(i), cell(j)];
            const [c, d] = [cell(i2), cell(j2)];
            if (a[0] - b[0] === c[0] - d[0] && a[1] - b[1] === c[1] - d[1]) {
              assert.ok(Math.abs(dots[1 + i][1 + j] - dots[1 + i2][1 + j2]) < 1e-4, `offset (${a[0] - b[0]},${a[1] - b[1]})`);
            }
          }
  });
  rope.dispose();
  const quirk = ropeTable({ gridH: 2, gridW: 2, headDim: 4, prefix: 1, prefixMode: "zero" });
  tf.tidy(() => {
    const q = applyRope(tf.ones([1, 1, 5, 4]) as tf.Tensor4D, quirk);
    assert.deepEqual(Array.from(q.dataSync().slice(0, 4)), [0, 0, 0, 0]);
  });
  quirk.dispose();
  assert.throws(() => ropeTable({ gridH: 2, gridW: 2, headDim: 6 }), /headDim=6 must be a positive multiple of 4/);
});

test("causal attention: changing a later token never changes earlier outputs (LlamaGen stack)", async () => {
  await initBackend("cpu", { log: () => {} });
  const store = new ParamStore(1);
  const blocks = transformerParams(store.scope("blocks"), LLAMA, 2);
  const rope = ropeTable({ gridH: 2, gridW: 4, headDim: 8, prefix: 1 });
  tf.tidy(() => {
    const x = randn([2, 9, 16], "x") as tf.Tensor3D;
    const y = transformerStack(x, blocks, LLAMA, { rope });
    const bump = tf.concat([tf.zeros([2, 5, 16]), tf.fill([2, 4, 16], 3)], 1);
    const y2 = transformerStack(tf.add(x, bump) as tf.Tensor3D, blocks, LLAMA, { rope });
    assert.equal(maxDiff(tf.slice(y, [0, 0, 0], [2, 5, 16]), tf.slice(y2, [0, 0, 0], [2, 5, 16])), 0);
    assert.ok(maxDiff(tf.slice(y, [0, 5, 0], [2, 1, 16]), tf.slice(y2, [0, 5, 0], [2, 1, 16])) > 1e-3);
  });
  rope.dispose();
  store.dispose();
});

for (const backend of ENGINES)
test(`KV cache: prefill + one token at a time equals full recomputation (${backend})`, async () => {
  await initBackend(backend, { log: () => {} });
  const store = new ParamStore(2);
  const blocks = transformerParams(store.scope("blocks"), LLAMA, 2);
  const rope = ropeTable({ gridH: 2, gridW: 4, headDim: 8, prefix: 1 });
  const before = tf.memory().numTensors;
  const caches = blocks.map(() => new KVCache());
  tf.tidy(() => {
    const x = randn([2, 9, 16], "x") as tf.Tensor3D;
    const full = transformerStack(x, blocks, LLAMA, { rope });
    const parts = [transformerStack(tf.slice(x, [0, 0, 0], [2, 3, 16]), blocks, LLAMA, { rope, caches })];
    for (let t = 3; t < 9; t++) parts.push(transformerStack(tf.slice(x, [0, t, 0], [2, 1, 16]), blocks, LLAMA, { rope, caches }));
    assert.equal(caches[0].length, 9);
    assert.ok(maxDiff(tf.concat(parts, 1), full) < 1e-5);
  });
  caches.forEach((c) => c.dispose());
  assert.equal(tf.memory().numTensors, before, "cache tensors freed");
  rope.dispose();
  store.dispose();
});

test("adaLN-Zero block is the identity at initialisation; dropout is fixed by its seed", async () => {
  await initBackend("cpu", { log: () => {} });
  const store = new ParamStore(3);
  const p = blockParams(store.scope("b"), DIT);
  const rope = ropeTable({ gridH: 2, gridW: 2, headDim: 8 });
  tf.tidy(() => {
    const x = randn([2, 4, 16], "x") as tf.Tensor3D;
    const cond = randn([2, 16], "c");
    assert.equal(maxDiff(transformerBlock(x, p, DIT, { rope, cond }), x), 0);
    assert.throws(() => transformerBlock(x, p, DIT, { rope }), /needs ctx.cond/);
  });
  const ls = new ParamStore(4);
  const lp = blockParams(ls.scope("b"), LLAMA);
  tf.tidy(() => {
    const x = randn([2, 4, 16], "x") as tf.Tensor3D;
    const a = transformerBlock(x, lp, LLAMA, { rope, dropout: { rate: 0.5, seed: 11 } });
    const b = transformerBlock(x, lp, LLAMA, { rope, dropout: { rate: 0.5, seed: 11 } });
    const c = transformerBlock(x, lp, LLAMA, { rope, dropout: { rate: 0.5, seed: 12 } });
    assert.equal(maxDiff(a, b), 0);
    assert.ok(maxDiff(a, c) > 1e-4);
  });
  rope.dispose();
  store.dispose();
  ls.dispose();
});

test("attention with a cache offset matches the masked full attention", async () => {
  await initBackend("cpu", { log: () => {} });
  tf.tidy(() => {
    const q = randn([1, 2, 5, 4], "q") as tf.Tensor4D;
    const k = randn([1, 2, 5, 4], "k") as tf.Tensor4D;
    const v = randn([1, 2, 5, 4], "v") as tf.Tensor4D;
    const full = attention(q, k, v, { causal: true });
    const last2 = attention(tf.slice(q, [0, 0, 3, 0], [1, 2, 2, 4]) as tf.Tensor4D, k, v, { causal: true });
    assert.ok(maxDiff(last2, tf.slice(full, [0, 0, 3, 0], [1, 2, 2, 4])) < 1e-6);
    // the first query sees only the first key
    assert.ok(maxDiff(tf.slice(full, [0, 0, 0, 0], [1, 2, 1, 4]), tf.slice(v, [0, 0, 0, 0], [1, 2, 1, 4])) < 1e-6);
  });
});

test("a single query over a cache (a decoding step): every implementation, both layouts, equals the full causal attention's last row", async () => {
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    tf.tidy(() => {
      const [B, H, T, Dh] = [3, 2, 7, 4];
      const q = randn([B, H, T, Dh], "q") as tf.Tensor4D;
      const k = randn([B, H, T, Dh], "k") as tf.Tensor4D;
      const v = randn([B, H, T, Dh], "v") as tf.Tensor4D;
      const last = tf.slice(attention(q, k, v, { causal: true, impl: "batched" }), [0, 0, T - 1, 0], [B, H, 1, Dh]);
      const q1 = tf.slice(q, [0, 0, T - 1, 0], [B, H, 1, Dh]) as tf.Tensor4D;
      const tok = (t: tf.Tensor4D) => tf.transpose(t, [0, 2, 1, 3]) as tf.Tensor4D;
      for (const impl of ["grouped", "batched"] as const) {
        assert.ok(maxDiff(attention(q1, k, v, { causal: true, impl }), last) < 1e-6, `${backend} ${impl} [B, H, T, Dh]`);
        const o = attentionTokensFirst(tok(q1), tok(k), tok(v), { causal: true, impl });
        assert.deepEqual(o.shape, [B, 1, H, Dh]);
        assert.ok(maxDiff(tok(o), last) < 1e-6, `${backend} ${impl} [B, T, H, Dh]`);
      }
      // one key: the output is its value
      const k1 = tf.slice(k, [0, 0, 0, 0], [B, H, 1, Dh]) as tf.Tensor4D;
      const v1 = tf.slice(v, [0, 0, 0, 0], [B, H, 1, Dh]) as tf.Tensor4D;
      assert.ok(maxDiff(attention(q1, k1, v1, { impl: "grouped" }), v1) < 1e-6);
    });
  }
});

/** Gradients of a scalar loss w.r.t. every parameter, as plain arrays. */
function paramGrads(store: ParamStore, loss: () => tf.Scalar): Record<string, Float32Array> {
  const { value, grads } = tf.variableGrads(loss, store.variables());
  value.dispose();
  const out: Record<string, Float32Array> = {};
  for (const [name, v] of store.entries()) out[name] = grads[v.name].dataSync().slice() as Float32Array;
  tf.dispose(Object.values(grads));
  return out;
}

test("gradients flow on wasm and match cpu (LlamaGen and DiT configurations); no leaks", async () => {
  const results: Record<string, Record<string, Float32Array>> = {};
  for (const backend of ENGINES) {
    await initBackend(backend, { log: () => {} });
    for (const [label, cfg] of [["llama", LLAMA], ["dit", DIT]] as const) {
      const store = new ParamStore(5);
      const blocks = transformerParams(store.scope("blocks"), cfg, 2);
      if (cfg.adaLN) {
        // move off the zero init so that every parameter gets a gradient
        for (const [name, v] of store.entries()) if (name.includes("adaLN")) v.assign(tf.tidy(() => randn(v.shape, name).mul(0.1)));
      }
      const rope = ropeTable({ gridH: 2, gridW: 3, headDim: 8 });
      const x = randn([2, 6, 16], "x") as tf.Tensor3D;
      const cond = randn([2, 16], "c");
      const target = randn([2, 6, 16], "t");
      const n0 = tf.memory().numTensors;
      const grads = paramGrads(store, () => tf.mean(tf.square(tf.sub(transformerStack(x, blocks, cfg, { rope, cond }), target))) as tf.Scalar);
      assert.equal(tf.memory().numTensors, n0, `${backend} ${label}: tensor leak`);
      for (const [name, g] of Object.entries(grads)) {
        assert.ok(g.every(Number.isFinite), `${name} finite`);
        assert.ok(g.some((v) => v !== 0), `${backend} ${label}: ${name} has a zero gradient`);
      }
      results[`${backend}/${label}`] = grads;
      tf.dispose([x, cond, target]);
      rope.dispose();
      store.dispose();
    }
  }
  for (const label of ["llama", "dit"]) {
    for (const [name, g] of Object.entries(results[`cpu/${label}`])) {
      const w = results[`wasm/${label}`][name];
      const scale = Math.max(...g.map(Math.abs), 1e-6);
      const diff = Math.max(...g.map((v, i) => Math.abs(v - w[i])));
      assert.ok(diff <= 1e-3 * scale, `${label} ${name}: wasm vs cpu ${diff} (scale ${scale})`);
    }
  }
});

test("sizes and FLOPs: SwiGLU hidden widths of the paper; block MACs", () => {
  assert.equal(swigluHidden(1024, { multipleOf: 256 }), 2816);
  assert.equal(swigluHidden(1024), 2730);
  // workload B of the benchmark: T = 65, D = 128, GELU MLP 4×: (12·D²·T + 2·T²·D) MACs per sequence
  const macs = blockMacs({ dim: 128, heads: 4, mlp: "gelu" }, 65);
  assert.equal(macs, 12 * 128 * 128 * 65 + 2 * 65 * 65 * 128);
  assert.equal(trainingFlops(macs), 6 * macs);
});
