/**
 * CKNNA per layer of the AR (lib/experiments/repa/cknna-layers.ts): the pooled hidden states leave out position 0, the
 * class embedding alone (issue 27), so the CKNNA measures the image's tokens, not the class.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { LlamaGen } from "../lib/models/llamagen";
import { Rng } from "../lib/rng";
import { cknna } from "../lib/eval/cknna";
import { arPooledHidden } from "../lib/experiments/repa/cknna-layers";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

test("arPooledHidden: the mean over positions 1 … T−1; layer 0 is the same for two classes with the same tokens; the class-only position would raise CKNNA to class features", () => {
  const t0 = Date.now();
  const m = new LlamaGen({ dim: 32, depth: 2, heads: 2, headDepth: 1, gridH: 8, gridW: 8, numClasses: 10, groupSizes: [5, 5] }, 1);
  const cls = m.params.entries().find(([name]) => name === "cls_emb")![1];
  cls.assign(tf.randomNormal(cls.shape, 0, 0.5, "float32", 2)); // class embeddings of the size of a trained model's
  const n = 24;
  const T = m.seqLen;
  const G = m.numGroups;
  const rng = new Rng(3, "cknna-layers-test");
  const classes = Int32Array.from({ length: n }, (_, i) => i % 10);
  const tokens = Int32Array.from({ length: n * T * G }, () => rng.int(5));
  const [h0, h2] = arPooledHidden(m, classes, tokens, [0, 2]);
  assert.equal(h0.length, n * 32);
  // by hand: forward's hidden states, mean over positions 1 … T−1 (and the old pooling over 0 … T−1 for comparison)
  const out = m.forward(tf.tensor1d(classes, "int32"), tf.tensor3d(tokens, [n, T, G], "int32"), { hiddenAt: [0, 2] });
  const H = out.hidden.map((h) => h.arraySync() as number[][][]);
  tf.dispose([out.logits, ...out.hidden]);
  const pool = (h: number[][][], first: number) => Float32Array.from(h.flatMap((row) => Array.from({ length: 32 }, (_, d) => row.slice(first).reduce((s, p) => s + p[d], 0) / (T - first))));
  const byHand = [pool(H[0], 1), pool(H[1], 1)];
  const withClass = [pool(H[0], 0), pool(H[1], 0)];
  [h0, h2].forEach((v, l) => v.forEach((x, i) => assert.ok(Math.abs(x - byHand[l][i]) < 1e-5, `layer ${l} value ${i}: ${x} vs ${byHand[l][i]}`)));
  // layer 0 (embedding output) of the tokens' positions holds no class: two classes, the same tokens → the same features
  const [a0] = arPooledHidden(m, [0, 7], tokens.slice(0, 2 * T * G).map((_, i) => tokens[i % (T * G)]), [0]);
  for (let d = 0; d < 32; d++) assert.ok(Math.abs(a0[d] - a0[32 + d]) < 1e-6, `layer 0, channel ${d}: ${a0[d]} vs ${a0[32 + d]}`);
  // features that depend on the class only (one-hot): with position 0 pooled, layer 0 would share their neighbours
  const B = Float32Array.from({ length: n * 10 }, (_, i) => (i % 10 === classes[Math.floor(i / 10)] ? 1 : 0));
  const now = cknna(h0, B, n, 32, 10, { k: 3 });
  const old = cknna(withClass[0], B, n, 32, 10, { k: 3 });
  console.log(`layer-0 CKNNA to class one-hots: ${now.toFixed(3)} (tokens' positions) vs ${old.toFixed(3)} (class position pooled too); ${Date.now() - t0} ms`);
  assert.ok(Math.abs(now) < 0.15, `layer 0 without the class position: CKNNA ${now} to class-only features (tokens are random)`);
  assert.ok(old > now + 0.3, `pooling the class position raises it: ${old} vs ${now}`);
  m.dispose();
});
