/**
 * The project's own models at their `quick` presets, as benchmark tasks on synthetic data (no tokenizer training,
 * no data set): the tokenizer (L1 reconstruction), LlamaGen (teacher-forced cross-entropy on random tokens) and
 * the DiT (flow matching on random latents), plus sampling throughput: LlamaGen generation with its KV cache, DiT
 * Euler integration. Loaded lazily: a model module that fails to load turns into a skipped row, not a crash.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng, mixSeed } from "../lib/rng";
import type { TrainTask } from "../lib/train/trainer";
import { syntheticImages } from "./workloads";

export type ModelName = "tokenizer" | "ar" | "dit";
export const MODELS: readonly ModelName[] = ["tokenizer", "ar", "dit"];

export interface ModelBench {
  task: TrainTask<unknown>;
  unit: string;
  unitsPerSample: number;
  batchSize: number;
  /** samples/s of the model's sampler; `n` samples per call */
  sample?: { what: string; n: number; run: () => Promise<void> };
  dispose(): void;
}

/* eslint-disable @typescript-eslint/no-require-imports */
export function makeModelBench(name: ModelName, preset: "tiny" | "quick" = "quick", sampleN = 32): ModelBench {
  const { resolveConfig } = require("../lib/train/config") as typeof import("../lib/train/config");
  const { Tokenizer } = require("../lib/models/tokenizer") as typeof import("../lib/models/tokenizer");
  const tokX = require("../lib/experiments/tokenizer/index") as typeof import("../lib/experiments/tokenizer/index");
  if (name === "tokenizer") {
    const cfg = resolveConfig(tokX.tokenizerConfig, { preset });
    const tok = new Tokenizer(tokX.tokenizerArch(cfg), cfg.seed);
    const S = tok.arch.imageSize;
    const B = cfg.batchSize;
    const task: TrainTask<tf.Tensor4D> = {
      kind: "tokenizer",
      config: cfg,
      params: tok.params,
      batch: (i) => tf.tensor4d(syntheticImages(mixSeed(cfg.seed, "tok", i), B, S), [B, S, S, 1]),
      loss: (x) => tok.loss(x),
      disposeBatch: (x) => x.dispose(),
      flopsPerStep: tok.flops().trainPerImage * B,
    };
    return { task: task as TrainTask<unknown>, unit: "images", unitsPerSample: 1, batchSize: B, dispose: () => tok.dispose() };
  }
  if (name === "ar") {
    const arX = require("../lib/experiments/ar/index") as typeof import("../lib/experiments/ar/index");
    const { LlamaGen, tokenLayout } = require("../lib/models/llamagen") as typeof import("../lib/models/llamagen");
    const cfg = arX.resolveArConfig({ preset });
    const tok = new Tokenizer(tokX.tokenizerArch(cfg.tokenizer), cfg.tokenizer.seed);
    const layout = tokenLayout(tok.fsq, cfg.tokens, cfg.channelsPerGroup);
    const model = new LlamaGen(arX.llamaGenArch(cfg, layout, tok.gridSize, 10), cfg.seed);
    tok.dispose();
    const B = cfg.batchSize, T = model.seqLen, G = model.numGroups, sizes = model.arch.groupSizes;
    const task: TrainTask<{ classes: tf.Tensor1D; tokens: tf.Tensor3D }> = {
      kind: "ar",
      config: cfg,
      params: model.params,
      batch: (i) => {
        const rng = new Rng(mixSeed(cfg.seed, "ar-bench", i));
        const toks = new Int32Array(B * T * G).map((_, j) => rng.int(sizes[j % G]));
        return { classes: tf.tensor1d(new Int32Array(B).map(() => rng.int(10)), "int32"), tokens: tf.tensor3d(toks, [B, T, G], "int32") };
      },
      loss: (b, ctx) => {
        const r = model.loss(b.classes, b.tokens, { seed: ctx.seed, labelDropout: cfg.labelDropout, tokenDropout: cfg.tokenDropout, residDropout: cfg.residDropout });
        return { loss: r.loss, parts: r.parts };
      },
      disposeBatch: (b) => tf.dispose([b.classes, b.tokens]),
      flopsPerStep: model.flops().trainPerSample * B,
    };
    const classes = Array.from({ length: sampleN }, (_, i) => i % 10);
    return {
      task: task as TrainTask<unknown>,
      unit: "tokens",
      unitsPerSample: T * G,
      batchSize: B,
      sample: { what: `LlamaGen KV-cache generation, ${T}×${G} tokens, cfg 1`, n: sampleN, run: async () => void (await model.generate(classes, { seed: 1, kvCache: true })) },
      dispose: () => model.dispose(),
    };
  }
  const difX = require("../lib/experiments/dit/index") as typeof import("../lib/experiments/dit/index");
  const { DiT } = require("../lib/models/dit") as typeof import("../lib/models/dit");
  const flow = require("../lib/flow/index") as typeof import("../lib/flow/index");
  const cfg = difX.resolveDiTConfig({ preset });
  const tok = new Tokenizer(tokX.tokenizerArch(cfg.tokenizer), cfg.tokenizer.seed);
  const [g, , C] = tok.latentShape;
  tok.dispose();
  const model = new DiT(difX.ditArch(cfg, g, C, 10), cfg.seed);
  const B = cfg.batchSize;
  const tOpts = { distribution: cfg.timeDist, mean: cfg.timeMean, std: cfg.timeStd };
  const task: TrainTask<{ x1: tf.Tensor4D; labels: tf.Tensor1D }> = {
    kind: "dit",
    config: cfg,
    params: model.params,
    batch: (i) => {
      const rng = new Rng(mixSeed(cfg.seed, "dit-bench", i));
      return {
        x1: tf.tidy(() => tf.randomNormal([B, g, g, C], 0, 1, "float32", rng.seed()) as tf.Tensor4D),
        labels: tf.tensor1d(new Int32Array(B).map(() => rng.int(10)), "int32"),
      };
    },
    loss: (b, ctx) => {
      const y = model.dropLabels(b.labels, cfg.labelDropout, mixSeed(ctx.seed, "labels"));
      const pair = flow.flowPair(b.x1, mixSeed(ctx.seed, "flow"), tOpts);
      const r = flow.flowMatchingLoss(model.velocity(pair.xt, pair.t, y), pair.target, { cosineWeight: cfg.cosineWeight });
      return { loss: r.loss, parts: { mse: r.mse, cosine: r.cosine } };
    },
    disposeBatch: (b) => tf.dispose([b.x1, b.labels]),
    flopsPerStep: model.flops().trainPerSample * B,
  };
  const labels = Int32Array.from({ length: sampleN }, (_, i) => i % 10);
  return {
    task: task as TrainTask<unknown>,
    unit: "latents",
    unitsPerSample: 1,
    batchSize: B,
    sample: {
      what: `DiT Euler, ${cfg.evalSteps} steps, cfg 1`,
      n: sampleN,
      run: async () => {
        const y = tf.tensor1d(labels, "int32");
        const x = flow.sampleFlow(model, y, [g, g, C], { steps: cfg.evalSteps, seed: 1 });
        await x.data();
        tf.dispose([x, y]);
      },
    },
    dispose: () => model.dispose(),
  };
}
