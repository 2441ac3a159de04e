import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { ENGINES } from "./engines";
import { FSQ } from "../lib/quant/fsq";
import { codeProbabilities } from "../lib/quant/collapse";
import { codeCounts, sampleOccupancy } from "../lib/quant/histogram";

// Monte Carlo through the tfjs quantizer vs the exact analysis: ≤ 2e-3 per bin (issue 3), and within 5 standard errors.
const N = 2_000_000;

for (const backend of ENGINES) {
  test(`analytic code probabilities match Monte Carlo through FSQ.quantize, ${N} samples (${backend})`, async () => {
    await initBackend(backend, { log: () => {} });
    // the pure-JS cpu engine is slower: it gets fewer channels
    const cases = [
      { bound: "tanh" as const, levels: backend === "wasm" ? [5, 9, 17, 8] : [17, 8], sigma: 1.3 },
      { bound: "ifsq" as const, levels: backend === "wasm" ? [5, 9, 17] : [5, 17], sigma: 2 },
    ];
    for (const { bound, levels, sigma } of cases) {
      const fsq = new FSQ({ levels, bound });
      const before = tf.memory().numTensors;
      const mc = sampleOccupancy(fsq, { n: N, sigma, seed: 20260123 });
      assert.equal(tf.memory().numTensors, before, "no tensors leak");
      levels.forEach((L, j) => {
        assert.equal(mc.counts[j].reduce((a, b) => a + b, 0), N);
        const p = codeProbabilities(bound, L, sigma).probs;
        p.forEach((pk, k) => {
          const diff = Math.abs(mc.freqs[j][k] - pk);
          const se = Math.sqrt((pk * (1 - pk)) / N);
          assert.ok(diff <= 2e-3 && diff <= 5 * se + 1e-6, `${bound} L=${L} σ=${sigma} bin ${k}: MC ${mc.freqs[j][k]} vs exact ${pk} (|Δ| ${diff.toExponential(2)}, 5·se ${(5 * se).toExponential(2)})`);
        });
      });
    }
  });
}

test("codeCounts counts digits per channel and refuses NaN", async () => {
  await initBackend("cpu", { log: () => {} });
  const fsq = new FSQ({ levels: [3, 4], bound: "tanh" });
  const codes = tf.tensor2d([-1, -1, 0, 0.5, 1, 0.5, 1, -0.5], [4, 2]);
  assert.deepEqual(codeCounts(fsq, codes), [[1, 1, 2], [1, 1, 0, 2]]);
  const bad = tf.tensor2d([NaN, 0], [1, 2]);
  assert.throws(() => codeCounts(fsq, bad), /code NaN on channel 0 is not on the grid of L=3/);
  tf.dispose([codes, bad]);
});
