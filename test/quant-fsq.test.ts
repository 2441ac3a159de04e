import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { FSQ, roundSte } from "../lib/quant/fsq";
import { boundDerivative, boundInverse, boundConstants, boundValue } from "../lib/quant/bounds";

const BACKENDS = ENGINES;
const quiet = { log: () => {} };

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const ok = Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i]));
    assert.ok(ok, `${what}[${i}] = ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
  }
}

const read = (t: tf.Tensor): number[] => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};

// ---------------------------------------------------------------------------------------------------------------
// Construction, properties and errors (no tensors)

test("properties: codebook size, group vocabularies, bits, basis (first dim least significant)", () => {
  const f = new FSQ({ levels: [17, 17, 17, 17], bound: "ifsq" });
  assert.equal(f.codebookSize, 83521);
  assert.deepEqual(f.groupSizes, [83521]);
  assert.deepEqual(f.basis, [1, 17, 289, 4913]);
  assert.deepEqual(f.halfWidths, [8, 8, 8, 8]);
  assert.deepEqual(f.bound, { kind: "ifsq", alpha: 1.6 });
  assert.ok(Math.abs(f.bitsPerDim - Math.log2(17)) < 1e-12);
  assert.ok(Math.abs(f.bitsPerToken - 16.349851365001356) < 1e-12);
  const g = new FSQ({ levels: [17, 17, 17, 17], bound: { kind: "ifsq", alpha: 1.7 }, groups: [2, 2] });
  assert.deepEqual(g.groupSizes, [289, 289]);
  assert.deepEqual(g.basis, [1, 17, 1, 17]);
  assert.deepEqual(g.bound, { kind: "ifsq", alpha: 1.7 });
  const t = new FSQ({ levels: [8, 5, 5, 5], bound: "tanh" });
  assert.equal(t.codebookSize, 1000);
  assert.deepEqual(t.bound, { kind: "tanh", eps: 1e-3 });
  assert.deepEqual(t.halfWidths, [4, 2, 2, 2]);
  assert.deepEqual(t.basis, [1, 8, 40, 200]);
  assert.equal(String(g), "FSQ(ifsq α=1.7, levels [17,17,17,17], K=83521, groups [2,2] → vocab [289,289], 4.09 bits/dim)");
});

test("bad options are errors that name the value and what was expected", () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ levels: [], bound: "ifsq" }, /levels=\[\] is invalid; expected a non-empty array of integers ≥ 2/],
    [{ levels: "17", bound: "ifsq" }, /levels="17" is invalid/],
    [{ levels: [17, 2.5], bound: "tanh" }, /levels\[1\]=2\.5 is not an integer/],
    [{ levels: [5, NaN], bound: "tanh" }, /levels\[1\]=NaN is not an integer/],
    [{ levels: [1], bound: "tanh" }, /levels\[0\]=1 is too small; expected at least 2 levels/],
    [{ levels: [17, 16], bound: "ifsq" }, /levels\[1\]=16 is even; the ifsq bound needs odd levels because it has no offset\/shift/],
    [{ levels: [5], bound: { kind: "ifsq", alpha: 0 } }, /alpha=0 is invalid; expected a finite number > 0/],
    [{ levels: [5], bound: { kind: "ifsq", alpha: -1.6 } }, /alpha=-1\.6 is invalid/],
    [{ levels: [5], bound: { kind: "ifsq", alpha: NaN } }, /alpha=NaN is invalid/],
    [{ levels: [5], bound: { kind: "ifsq", alpha: Infinity } }, /alpha=Infinity is invalid/],
    [{ levels: [5], bound: { kind: "tanh", alpha: 1.6 } }, /alpha=1\.6 was given with bound "tanh"; alpha only applies to bound "ifsq"/],
    [{ levels: [5, 5, 5, 5], bound: "ifsq", groups: [2, 1] }, /groups=\[2, 1\] sum to 3; expected them to sum to d=4/],
    [{ levels: [5, 5], bound: "ifsq", groups: [0, 2] }, /groups\[0\]=0 is invalid; expected a positive integer/],
    [{ levels: [5, 5], bound: "ifsq", groups: [] }, /groups=\[\] is invalid/],
    [{ levels: [5], bound: "relu" }, /bound="relu" is not a bound; expected "tanh" or "ifsq"/],
    [{ levels: [5], bound: "ifsq", alhpa: 2 }, /FSQ option "alhpa" is unknown/],
    [{ levels: [5], bound: "ifsq", alpha: 2 }, /FSQ option "alpha" is unknown.*α is part of the bound/],
    [{ levels: [5], bound: { kind: "ifsq", eps: 0 } }, /eps=0 was given with bound "ifsq"/],
    [{ levels: [1001], bound: "tanh" }, /levels\[0\]=1001 is too large for the tanh bound/],
    [{ levels: [65537, 65537], bound: "ifsq" }, /group 0 has vocabulary 4295098369 > 2³¹−1/],
  ];
  for (const [opts, re] of bad) assert.throws(() => new FSQ(opts as never), re, JSON.stringify(opts));
  // the same 65537² codebook is fine split into two groups
  assert.deepEqual(new FSQ({ levels: [65537, 65537], bound: "ifsq", groups: [1, 1] }).groupSizes, [65537, 65537]);
});

// ---------------------------------------------------------------------------------------------------------------
// Tensor behaviour on both backends

for (const backend of BACKENDS) {
  test(`bound: exact values of both formulas, odd and even L (${backend})`, async () => {
    await initBackend(backend, quiet);
    const zs = [-2, -0.5, 0, 0.3, 1, 2.5];
    const z = (d: number) => tf.tensor2d(zs.flatMap((v) => new Array<number>(d).fill(v)), [zs.length, d]);
    // literals from an independent double-precision evaluation of tanh(z + s)·half_l − o and (2σ(αz) − 1)(L−1)/2
    const tanh8 = [-3.8365097969799944, -1.6980390793616889, 0, 0.9599183435983274, 2.3576462031544567, 2.9682582300450853];
    const tanh5 = [-1.9299832153117853, -0.9251585488345394, 0, 0.583207850128085, 1.524711500223441, 1.9752018248991632];
    const ifsq5 = [-1.8433371088129427, -0.7598979245104498, 0, 0.4709914990769959, 1.3280735405356978, 1.9280551601516338];
    const ifsq17a2 = [-7.712220640606535, -3.6969372580800783, 0, 2.3305008996127263, 6.092753247646117, 7.892914385211444];
    const t = new FSQ({ levels: [8, 5], bound: "tanh" });
    const vt = read(t.applyBound(z(2)));
    close(vt.filter((_, i) => i % 2 === 0), tanh8, 2e-6, "tanh L=8");
    close(vt.filter((_, i) => i % 2 === 1), tanh5, 2e-6, "tanh L=5");
    close(read(new FSQ({ levels: [5], bound: "ifsq" }).applyBound(z(1))), ifsq5, 2e-6, "ifsq L=5");
    close(read(new FSQ({ levels: [17], bound: { kind: "ifsq", alpha: 2 } }).applyBound(z(1))), ifsq17a2, 2e-6, "ifsq L=17 α=2");
    // iFSQ with α = 2 is tanh without ε: (2σ(2z) − 1) = tanh(z)
    const plain = read(tf.tidy(() => tf.mul(tf.tanh(z(1)), 8)));
    close(read(new FSQ({ levels: [17], bound: { kind: "ifsq", alpha: 2 } }).applyBound(z(1))), plain, 2e-6, "ifsq α=2 vs 8·tanh");
  });

  test(`quantize: every code is reached, rounding half to even, codes normalised by ⌊L/2⌋ (${backend})`, async () => {
    await initBackend(backend, quiet);
    for (const [bound, L] of [["tanh", 2], ["tanh", 3], ["tanh", 4], ["tanh", 8], ["ifsq", 3], ["ifsq", 5], ["ifsq", 17]] as const) {
      const f = new FSQ({ levels: [L], bound });
      const b = boundConstants(bound, L);
      const qs: number[] = [];
      const zs: number[] = [];
      for (let q = -Math.floor(L / 2); q <= (L % 2 === 0 ? L / 2 - 1 : (L - 1) / 2); q++) {
        qs.push(q);
        const z = boundInverse(b, q); // the centre of code q's bin (±∞ at the open ends of ifsq)
        zs.push(Number.isFinite(z) ? z : Math.sign(z) * 30);
      }
      const codes = read(f.quantize(tf.tensor2d(zs, [zs.length, 1])));
      close(codes, qs.map((q) => Math.fround(q / Math.floor(L / 2))), 0, `${bound} L=${L} codes`);
    }
    // half to even, like torch.round: 0.5 → 0, 1.5 → 2, 2.5 → 2, −0.5 → −0, −1.5 → −2
    close(read(roundSte(tf.tensor1d([0.5, 1.5, 2.5, -0.5, -1.5, 0.49, 0.51]))), [0, 2, 2, 0, -2, 0, 1], 0, "round");
    // extreme inputs stay on the grid
    const f = new FSQ({ levels: [5, 8], bound: "tanh" });
    close(read(f.quantize(tf.tensor2d([1e6, 1e6, -1e6, -1e6, Infinity, Infinity, -Infinity, -Infinity], [4, 2]))), [1, 0.75, -1, -1, 1, 0.75, -1, -1], 0, "saturated");
  });

  test(`indices ↔ codes: exact round trip of every code of small codebooks, mixed radix, groups (${backend})`, async () => {
    await initBackend(backend, quiet);
    const configs: Array<{ levels: number[]; bound: "tanh" | "ifsq"; groups?: number[] }> = [
      { levels: [2], bound: "tanh" },
      { levels: [3], bound: "ifsq" },
      { levels: [8, 6, 5], bound: "tanh" },
      { levels: [4, 3, 2], bound: "tanh", groups: [1, 2] },
      { levels: [5, 3, 3, 7], bound: "ifsq", groups: [2, 1, 1] },
      { levels: [7, 5, 5, 5, 5], bound: "tanh" },
      { levels: [9, 9, 9], bound: "ifsq", groups: [1, 1, 1] },
    ];
    for (const cfg of configs) {
      const f = new FSQ(cfg);
      const K = f.codebookSize;
      const d = f.dim;
      // every code of the grid, enumerated with the first channel fastest: digits of k in mixed radix
      const grid: number[] = [];
      for (let k = 0; k < K; k++) {
        let rest = k;
        for (let j = 0; j < d; j++) {
          const digit = rest % cfg.levels[j];
          rest = Math.floor(rest / cfg.levels[j]);
          grid.push((digit - f.halfWidths[j]) / f.halfWidths[j]);
        }
      }
      const grid32 = Array.from(new Float32Array(grid)); // codes are float32
      const codes = tf.tensor2d(grid, [K, d]);
      const idx = f.codesToIndices(codes);
      assert.equal(idx.dtype, "int32");
      const G = f.groups.length;
      assert.deepEqual(idx.shape, G === 1 ? [K] : [K, G]);
      // expected per-group indices: Σ digit_j·B_j within each group
      const expected: number[] = [];
      for (let k = 0; k < K; k++) {
        let j = 0;
        for (let g = 0; g < G; g++) {
          let s = 0;
          for (let c = 0; c < f.groups[g]; c++, j++) s += Math.round(grid[k * d + j] * f.halfWidths[j] + f.halfWidths[j]) * f.basis[j];
          expected.push(s);
        }
      }
      const idxValues = Array.from(idx.dataSync());
      assert.deepEqual(idxValues, expected, JSON.stringify(cfg));
      if (G === 1) assert.deepEqual(idxValues, Array.from({ length: K }, (_, k) => k));
      const back = f.indicesToCodes(idx);
      assert.deepEqual(back.shape, [K, d]);
      close(Array.from(back.dataSync()), grid32, 0, `round trip ${JSON.stringify(cfg)}`);
      // and the integer round trip indices → codes → indices
      const again = f.codesToIndices(back);
      assert.deepEqual(Array.from(again.dataSync()), idxValues);
      tf.dispose([codes, idx, back, again]);
      if (G === 1) {
        const cb = f.implicitCodebook();
        close(Array.from(cb.dataSync()), grid32, 0, "implicitCodebook");
        cb.dispose();
      }
    }
    // leading axes are kept: [B, H, W, d] → [B, H, W] (one group) / [B, H, W, G]
    const f = new FSQ({ levels: [17, 17, 17, 17], bound: "ifsq", groups: [2, 2] });
    const codes = f.quantize(tf.randomNormal([2, 3, 3, 4], 0, 1.5, "float32", 5));
    const idx = f.codesToIndices(codes);
    assert.deepEqual(idx.shape, [2, 3, 3, 2]);
    close(read(f.indicesToCodes(idx)), Array.from(codes.dataSync()), 0, "grouped quantize round trip");
    // the 17⁴ = 83521 vocabulary's largest index is exact in int32
    const top = new FSQ({ levels: [17, 17, 17, 17], bound: "ifsq" });
    assert.deepEqual(read(top.codesToIndices(tf.tensor2d([1, 1, 1, 1, -1, -1, -1, -1, 0, 0, 0, 0], [3, 4]))), [83520, 0, 41760]);
    tf.dispose([codes, idx]);
  });

  test(`straight-through gradient equals bound′(z)/h (analytic and finite differences) (${backend})`, async () => {
    await initBackend(backend, quiet);
    const zs = [-3, -1.7, -0.9, -0.26, 0, 0.13, 0.5, 1.1, 2.2, 4];
    for (const [bound, levels, alpha] of [
      ["ifsq", [17, 5, 3], 1.6],
      ["ifsq", [9, 9, 9], 2.3],
      ["tanh", [8, 5, 2], undefined],
    ] as const) {
      const f = new FSQ({ levels: [...levels], bound: bound === "ifsq" ? { kind: "ifsq", alpha } : "tanh" });
      const d = levels.length;
      const flat = zs.flatMap((z, i) => levels.map((_, j) => z + 0.07 * j * (i % 3)));
      const z = tf.tensor2d(flat, [zs.length, d]);
      const w = tf.tensor2d(flat.map((_, i) => 1 + (i % 4) * 0.25), [zs.length, d]);
      const grad = read(tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f.quantize(x), w)))(z));
      const wv = Array.from(w.dataSync());
      const shapes = levels.map((L) => boundConstants(f.bound, L));
      const analytic = flat.map((x, i) => (wv[i] * boundDerivative(shapes[i % d], x)) / f.halfWidths[i % d]);
      close(grad, analytic, 2e-6, `${bound} ${levels} STE vs analytic`);
      // central finite differences of the float32 bound, step 1e-2
      const step = 1e-2;
      const up = read(f.applyBound(tf.tensor2d(flat.map((x) => x + step), [zs.length, d])));
      const down = read(f.applyBound(tf.tensor2d(flat.map((x) => x - step), [zs.length, d])));
      const fd = flat.map((_, i) => (wv[i] * (up[i] - down[i])) / (2 * step) / f.halfWidths[i % d]);
      close(grad, fd, 2e-3, `${bound} ${levels} STE vs finite differences`);
      // the double-precision derivative itself matches finite differences of the double-precision bound
      for (let i = 0; i < flat.length; i++) {
        const s = shapes[i % d];
        const h = 1e-5;
        const num = (boundValue(s, flat[i] + h) - boundValue(s, flat[i] - h)) / (2 * h);
        assert.ok(Math.abs(num - boundDerivative(s, flat[i])) < 1e-8, `bound′ at ${flat[i]}`);
      }
      tf.dispose([z, w]);
    }
  });

  test(`NaN never becomes a code; bad codes and indices are clear errors; no tensors leak (${backend})`, async () => {
    await initBackend(backend, quiet);
    const f = new FSQ({ levels: [5, 8], bound: "tanh" });
    const before = tf.memory().numTensors;
    // NaN propagates through bound and quantize (documented), and codesToIndices refuses it
    const withNaN = tf.tensor2d([0.3, NaN, 1, 2], [2, 2]);
    const codes = f.quantize(withNaN);
    const values = Array.from(codes.dataSync());
    assert.ok(Number.isNaN(values[1]), `quantize(NaN) = ${values[1]}, expected NaN`);
    assert.throws(() => f.codesToIndices(codes), /codes\[0, 1\]=NaN is not a code \(NaN: the input to quantize contained NaN\)/);
    tf.dispose([withNaN, codes]);
    const g = new FSQ({ levels: [5, 5], bound: "ifsq", groups: [1, 1] });
    const cases: Array<[() => unknown, RegExp]> = [
      [() => f.quantize(tf.zeros([2, 3])), /z has shape \[2, 3\]; expected last dimension d=2/],
      [() => f.quantize(tf.zeros([2, 2], "int32")), /z has dtype int32; expected float32/],
      [() => f.codesToIndices(tf.tensor2d([0.3, 0], [1, 2])), /codes\[0, 0\]=0\.30000001192092896 is not a code; expected a value on channel 0's grid \{−1, …, 1\} in steps of 1\/2 \(L=5\)/],
      [() => f.codesToIndices(tf.tensor2d([0, 1], [1, 2])), /codes\[0, 1\]=1 is not a code; expected a value on channel 1's grid \{−1, …, 0\.75\} in steps of 1\/4 \(L=8\)/],
      [() => f.codesToIndices(tf.tensor2d([1.5, 0], [1, 2])), /codes\[0, 0\]=1\.5 is not a code/],
      [() => f.codesToIndices(tf.zeros([4])), /codes has shape \[4\]; expected last dimension d=2/],
      [() => f.indicesToCodes(tf.tensor1d([3, 40], "int32")), /indices\[1\]=40 is out of range; expected an integer in \[0, 40\)/],
      [() => f.indicesToCodes(tf.tensor1d([-1], "int32")), /indices\[0\]=-1 is out of range/],
      [() => f.indicesToCodes(tf.tensor1d([2.5])), /indices\[0\]=2\.5 is not an integer; expected an integer in \[0, 40\)/],
      [() => f.indicesToCodes(tf.tensor1d([NaN])), /indices\[0\]=NaN is not an integer/],
      [() => g.indicesToCodes(tf.tensor2d([3, 5], [1, 2], "int32")), /indices\[0, 1\]=5 is out of range; expected an integer in \[0, 5\) for group 1/],
      [() => g.indicesToCodes(tf.tensor2d([1, 2, 3], [1, 3], "int32")), /indices have shape \[1, 3\]; expected last dimension 2/],
    ];
    for (const [fn, re] of cases) tf.tidy(() => assert.throws(fn as () => void, re));
    // integral float indices are accepted
    const floatIdx = tf.tensor1d([39]);
    assert.deepEqual(read(f.indicesToCodes(floatIdx)), [1, 0.75]);
    floatIdx.dispose();
    // every public op disposes its intermediates
    const z = tf.randomNormal([4, 2], 0, 1, "float32", 1);
    tf.dispose([f.applyBound(z), f.quantize(z)]);
    const c = f.quantize(z);
    const i = f.codesToIndices(c);
    const back = f.indicesToCodes(i);
    tf.dispose([z, c, i, back]);
    const gz = tf.randomNormal([4, 2], 0, 1, "float32", 2);
    tf.grad((x: tf.Tensor) => tf.sum(f.quantize(x)))(gz).dispose();
    gz.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
}

test("cpu and wasm give identical codes and indices", async () => {
  const out: number[][] = [];
  for (const backend of BACKENDS) {
    await initBackend(backend, quiet);
    const f = new FSQ({ levels: [17, 9, 5, 3], bound: "ifsq" });
    const z = tf.randomNormal([512, 4], 0, 1.5, "float32", 11);
    const c = f.quantize(z);
    out.push([...Array.from(c.dataSync()), ...read(f.codesToIndices(c))]);
    tf.dispose([z, c]);
  }
  assert.deepEqual(out[1], out[0]);
});
