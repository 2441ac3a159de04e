/**
 * A toy TrainTask: a 2-layer MLP regressing a fixed smooth function of Gaussian inputs. It exercises the whole run
 * machinery (config, checkpoints, resume, EMA, eval, FLOPs) in seconds, for tests and as the CLI's `toy` kind.
 *
 *   x ~ N(0, I) [B, D]      y = sin(2·x·a) + 0.5·(x·b) + σ·ε   [B, 1]   (a, b fixed unit vectors from the seed)
 *   ŷ = W₂ · silu(W₁ x + b₁) + b₂                              loss = mean (ŷ − y)²
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { Rng, mixSeed } from "../rng";
import { ParamStore } from "../nn/params";
import { linear } from "../nn/matmul";
import { linearParams } from "../nn/layers";
import { silu } from "../nn/activations";
import { TrainConfigSchema, defineConfig, type ConfigDef } from "./config";
import type { TrainTask } from "./trainer";
import type { TrainKind } from "./registry";

export const ToyConfigSchema = TrainConfigSchema.extend({
  inDim: z.int().positive().default(4).describe("input dimension D"),
  hidden: z.int().positive().default(32).describe("hidden width"),
  noise: z.number().min(0).default(0.05).describe("target noise σ"),
  evalSize: z.int().positive().default(256).describe("held-out examples for evaluate()"),
});
export type ToyConfig = z.output<typeof ToyConfigSchema>;

export const toyConfig: ConfigDef<typeof ToyConfigSchema> = defineConfig({
  name: "toy",
  schema: ToyConfigSchema,
  presets: {
    tiny: { steps: 40, batchSize: 16, lr: 1e-2, hidden: 16, logEvery: 5, evalEvery: 20, ckptEvery: 10, emaDecay: 0.9 },
    quick: { steps: 2000, batchSize: 64, lr: 3e-3, hidden: 64, logEvery: 50, evalEvery: 500, ckptEvery: 500, emaDecay: 0.99, schedule: "cosine", warmupSteps: 100 },
    "paper-cpu": { steps: 20000, batchSize: 128, lr: 3e-3, hidden: 128, logEvery: 100, evalEvery: 2000, ckptEvery: 2000, emaDecay: 0.999, schedule: "cosine", warmupSteps: 500 },
  },
});

export interface ToyBatch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

export interface ToyTask extends TrainTask<ToyBatch> {
  config: ToyConfig;
  /** Mean squared error of the current weights on a batch. */
  mse(b: ToyBatch): tf.Scalar;
  /** Frees the parameters and the held-out set. */
  dispose(): void;
}

function unitVector(rng: Rng, d: number): number[] {
  const v = Array.from({ length: d }, () => rng.normal());
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

export function makeToyTask(config: ToyConfig): ToyTask {
  const { inDim: D, hidden: H, batchSize: B } = config;
  const teacher = new Rng(config.seed, "toy-teacher");
  const a = tf.keep(tf.tensor2d(unitVector(teacher, D), [D, 1]));
  const bvec = tf.keep(tf.tensor2d(unitVector(teacher, D), [D, 1]));

  const makeBatch = (n: number, seed: number): ToyBatch =>
    tf.tidy(() => {
      const x = tf.randomNormal([n, D], 0, 1, "float32", mixSeed(seed, "x")) as tf.Tensor2D;
      const clean = tf.add(tf.sin(tf.mul(2, tf.matMul(x, a))), tf.mul(0.5, tf.matMul(x, bvec)));
      const y = tf.add(clean, tf.randomNormal([n, 1], 0, config.noise, "float32", mixSeed(seed, "noise"))) as tf.Tensor2D;
      return { x, y };
    });

  const params = new ParamStore(config.seed);
  const l1 = linearParams(params.scope("fc1"), D, H);
  const l2 = linearParams(params.scope("fc2"), H, 1);
  const held = makeBatch(config.evalSize, mixSeed(config.seed, "toy-eval"));

  const mse = (b: ToyBatch): tf.Scalar =>
    tf.tidy(() => {
      const h = silu(linear(b.x, l1)); // [B, H]
      const yHat = linear(h, l2); // [B, 1]
      const d = tf.sub(yHat, b.y);
      return tf.mean(tf.mul(d, d)) as tf.Scalar;
    });

  return {
    kind: "toy",
    config,
    params,
    batch: (i) => makeBatch(B, mixSeed(config.seed, "toy-batch", i)),
    loss: (b) => {
      const loss = mse(b);
      return { loss, parts: { mse: loss } };
    },
    disposeBatch: (b) => tf.dispose([b.x, b.y]),
    flopsPerStep: 2 * 3 * B * (D * H + H),
    evaluate: async () => {
      const m = mse(held);
      const v = (await m.data())[0];
      m.dispose();
      return { evalMse: v };
    },
    mse,
    dispose: () => {
      params.dispose();
      tf.dispose([a, bvec, held.x, held.y]);
    },
  };
}

/** The `toy` kind (for the CLI and tests of the run machinery). */
export const toyKind: TrainKind<typeof ToyConfigSchema> = {
  description: "2-layer MLP regression on synthetic data (exercises the run machinery)",
  configDef: toyConfig,
  makeTask: makeToyTask,
};
