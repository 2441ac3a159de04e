/**
 * The three fixed benchmark workloads of issue 8, built from lib/nn ops (so profiling them profiles the library),
 * with identical shapes in bench/torch_reference.py. Each is also a train kind ("bench-a", "bench-b", "bench-c"),
 * so the trainer and the data-parallel workers can rebuild it from (kind, config).
 *
 * FLOP count (documented rule, as lib/nn/flops): only matmul and conv work, 1 MAC = 2 FLOPs, a training step
 * (forward + backward) = 3 × forward. Elementwise, norm, softmax and optimizer work is not counted.
 *
 * A. Conv FSQ autoencoder on [B, 32, 32, 1] (410 629 parameters; 55.0 M MACs/image → 110 MFLOP forward per image,
 *    21.1 GFLOP per training step at batch 64). Encoder: conv3×3 1→32, SiLU; conv3×3/2 32→64, SiLU; conv3×3/2
 *    64→64; 2 residual blocks at 64 (GN(8)–SiLU–conv3×3–GN(8)–SiLU–conv3×3, + skip); GN–SiLU–conv1×1 64→4. FSQ
 *    levels [8,8,8,8] (tanh bound with the even-level offset, straight-through round). Decoder: conv3×3 4→64; 2
 *    residual blocks; nearest ×2 + conv3×3 64→64 + SiLU; nearest ×2 + conv3×3 64→32 + SiLU; conv3×3 32→1. L1 loss.
 * B. GPT (1 855 616 parameters at V = 4096): sequence [class, 64 tokens] (T = 65), width 128, 4 pre-LN blocks,
 *    4 heads, GELU(tanh) MLP 4×, learned positions, causal; final LN, untied head with bias on the 64 positions that
 *    predict the tokens; cross-entropy. Forward 11.39 GFLOP per batch of 64 (head 4.29), training 34.2 GFLOP.
 * C. DiT on [B, 8, 8, 4] latents (1 264 132 parameters): patch 1 (64 tokens), width 128, 4 blocks, 4 heads, GELU
 *    MLP 4×, learned positions; conditioning c = MLP(sinusoid₁₂₈(t)) + class embedding (10 classes + null);
 *    adaLN-Zero (6 modulation vectors per block from silu(c)), LayerNorm without affine; final adaLN (2 vectors) +
 *    linear 128→4; flow-matching velocity MSE (x_t = (1−t)·x₀ + t·x₁, target x₁ − x₀). Training 21.1 GFLOP.
 *
 * Data are synthetic and a deterministic function of (seed, step) (so a batch can be split across workers):
 * A smooth random images in [−1, 1], B uniform tokens and classes, C structured latents + noise + times.
 * Optimiser: Adam (AdamW with weight decay 0), lr 1e-3 (trainer default config: no clipping, no EMA).
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { Rng, mixSeed } from "../lib/rng";
import { ParamStore, type ParamScope } from "../lib/nn/params";
import { conv2dLayer, upsampleNearest2x, type ConvParams } from "../lib/nn/conv";
import { linear, type LinearParams } from "../lib/nn/matmul";
import { embedding } from "../lib/nn/embedding";
import { groupNorm, layerNorm, type NormParams } from "../lib/nn/norm";
import { silu } from "../lib/nn/activations";
import { softmaxCrossEntropy } from "../lib/nn/cross-entropy";
import { convParams, linearParams, normParams } from "../lib/nn/layers";
import { transformerParams, transformerStack, type BlockConfig } from "../lib/nn/transformer";
import { modulate } from "../lib/nn/adaln";
import { convMacs, linearMacs, blockMacs, trainingFlops } from "../lib/nn/flops";
import { FSQ } from "../lib/quant/fsq";
import { TrainConfigSchema, defineConfig, resolveConfig, type ConfigDef } from "../lib/train/config";
import { kindRegistry, type KindRegistry, type TrainKind } from "../lib/train/registry";
import type { TrainTask } from "../lib/train/trainer";

export type WorkloadName = "A" | "B" | "C";
export const WORKLOADS: readonly WorkloadName[] = ["A", "B", "C"];

/** What every workload task adds to a TrainTask. */
export interface BenchTask<Bt> extends TrainTask<Bt> {
  workload: WorkloadName;
  /** "images" | "tokens" | "latents": what throughput counts */
  unit: string;
  /** units per sample (B: 64 predicted tokens per sequence) */
  unitsPerSample: number;
  /** forward MACs per sample (matmul + conv only) */
  forwardMacsPerSample: number;
  /** the forward pass alone (sampling-cost proxy); returns the output tensor */
  forward(b: Bt): tf.Tensor;
  dispose(): void;
}

const common = { steps: 1000, lr: 1e-3, clip: 0, emaDecay: 0, logEvery: 1000 };

// ---------------------------------------------------------------------------------------------------------------
// A: conv FSQ autoencoder

export const BenchAConfigSchema = TrainConfigSchema.extend({
  width: z.int().positive().default(32).describe("channels of the first level; the others are 2× (paper workload: 32)"),
  latent: z.int().positive().default(4).describe("latent channels = FSQ dims (levels all 8)"),
  image: z.int().positive().default(32).describe("image side (multiple of 4)"),
});
export type BenchAConfig = z.output<typeof BenchAConfigSchema>;
export const benchAConfig: ConfigDef<typeof BenchAConfigSchema> = defineConfig({
  name: "bench-a",
  schema: BenchAConfigSchema,
  presets: {
    tiny: { ...common, batchSize: 4, width: 8, image: 16 },
    quick: { ...common, batchSize: 64 },
    "paper-cpu": { ...common, batchSize: 64 },
  },
});

interface ResBlockP {
  n1: NormParams;
  c1: ConvParams;
  n2: NormParams;
  c2: ConvParams;
}

function resBlockParams(s: ParamScope, c: number): ResBlockP {
  return { n1: normParams(s.scope("norm1"), c), c1: convParams(s.scope("conv1"), 3, c, c), n2: normParams(s.scope("norm2"), c), c2: convParams(s.scope("conv2"), 3, c, c) };
}

function resBlock(x: tf.Tensor4D, p: ResBlockP): tf.Tensor4D {
  let h = conv2dLayer(silu(groupNorm(x, p.n1, 8)), p.c1);
  h = conv2dLayer(silu(groupNorm(h, p.n2, 8)), p.c2);
  return tf.add(x, h);
}

/** Smooth random images [B, S, S, 1] in [−1, 1]: a product of two random sinusoids plus a soft disc. */
export function syntheticImages(seed: number, B: number, S: number): Float32Array {
  const out = new Float32Array(B * S * S);
  const rng = new Rng(seed, "bench-images");
  for (let b = 0; b < B; b++) {
    const fx = 0.5 + 3 * rng.next(), fy = 0.5 + 3 * rng.next();
    const px = 6.283 * rng.next(), py = 6.283 * rng.next();
    const cx = S * rng.next(), cy = S * rng.next(), r = S * (0.1 + 0.25 * rng.next());
    for (let i = 0; i < S; i++) {
      for (let j = 0; j < S; j++) {
        const wave = Math.sin((fx * 6.283 * j) / S + px) * Math.cos((fy * 6.283 * i) / S + py);
        const d = Math.hypot(i - cy, j - cx) - r;
        const disc = 1 / (1 + Math.exp(d));
        out[(b * S + i) * S + j] = Math.max(-1, Math.min(1, 0.6 * wave + 0.8 * disc - 0.4));
      }
    }
  }
  return out;
}

export function makeBenchA(cfg: BenchAConfig): BenchTask<tf.Tensor4D> {
  const W = cfg.width, W2 = 2 * cfg.width, d = cfg.latent, S = cfg.image;
  if (S % 4 !== 0) throw new Error(`bench-a: image=${S} must be a multiple of 4 (two stride-2 levels)`);
  if (W % 8 !== 0) throw new Error(`bench-a: width=${W} must be a multiple of 8 (GroupNorm(8))`);
  const params = new ParamStore(cfg.seed);
  const e = params.scope("enc"), dd = params.scope("dec");
  const p = {
    in: convParams(e.scope("conv_in"), 3, 1, W),
    down1: convParams(e.scope("down1"), 3, W, W2),
    down2: convParams(e.scope("down2"), 3, W2, W2),
    eres: [0, 1].map((i) => resBlockParams(e.scope(`res${i}`), W2)),
    enorm: normParams(e.scope("norm_out"), W2),
    eout: convParams(e.scope("conv_out"), 1, W2, d),
    din: convParams(dd.scope("conv_in"), 3, d, W2),
    dres: [0, 1].map((i) => resBlockParams(dd.scope(`res${i}`), W2)),
    up1: convParams(dd.scope("up1"), 3, W2, W2),
    up2: convParams(dd.scope("up2"), 3, W2, W),
    dout: convParams(dd.scope("conv_out"), 3, W, 1),
  };
  const fsq = new FSQ({ levels: Array(d).fill(8), bound: "tanh" });
  const forward = (x: tf.Tensor4D): tf.Tensor4D =>
    tf.tidy(() => {
      let h = silu(conv2dLayer(x, p.in));
      h = silu(conv2dLayer(h, p.down1, { stride: 2 }));
      h = conv2dLayer(h, p.down2, { stride: 2 });
      for (const r of p.eres) h = resBlock(h, r);
      const z = conv2dLayer(silu(groupNorm(h, p.enorm, 8)), p.eout);
      const q = fsq.quantize(z) as tf.Tensor4D;
      h = conv2dLayer(q, p.din);
      for (const r of p.dres) h = resBlock(h, r);
      h = silu(conv2dLayer(upsampleNearest2x(h), p.up1));
      h = silu(conv2dLayer(upsampleNearest2x(h), p.up2));
      return conv2dLayer(h, p.dout);
    });
  const s2 = S / 2, s4 = S / 4;
  const macs =
    convMacs(S, S, 3, 1, W) + convMacs(s2, s2, 3, W, W2) + convMacs(s4, s4, 3, W2, W2) + 4 * convMacs(s4, s4, 3, W2, W2) + convMacs(s4, s4, 1, W2, d) +
    convMacs(s4, s4, 3, d, W2) + 4 * convMacs(s4, s4, 3, W2, W2) + convMacs(s2, s2, 3, W2, W2) + convMacs(S, S, 3, W2, W) + convMacs(S, S, 3, W, 1);
  return {
    kind: "bench-a",
    config: cfg,
    params,
    workload: "A",
    unit: "images",
    unitsPerSample: 1,
    forwardMacsPerSample: macs,
    batch: (step) => tf.tensor4d(syntheticImages(mixSeed(cfg.seed, "A", step), cfg.batchSize, S), [cfg.batchSize, S, S, 1]),
    loss: (x) => ({ loss: tf.tidy(() => tf.mean(tf.abs(tf.sub(forward(x), x))) as tf.Scalar) }),
    disposeBatch: (x) => x.dispose(),
    forward,
    flopsPerStep: trainingFlops(macs) * cfg.batchSize,
    dispose: () => params.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Transformers (B and C) share these knobs

const transformerKnobs = {
  dim: z.int().positive().default(128).describe("width D"),
  depth: z.int().positive().default(4).describe("blocks"),
  heads: z.int().positive().default(4).describe("attention heads"),
  grid: z.int().positive().default(8).describe("token grid side: grid² tokens"),
};

// ---------------------------------------------------------------------------------------------------------------
// B: GPT

export const BenchBConfigSchema = TrainConfigSchema.extend({
  ...transformerKnobs,
  vocab: z.int().min(2).default(4096).describe("vocabulary V (4096; 4913 = 17³ is the larger variant)"),
  classes: z.int().positive().default(10).describe("class tokens"),
});
export type BenchBConfig = z.output<typeof BenchBConfigSchema>;
export const benchBConfig: ConfigDef<typeof BenchBConfigSchema> = defineConfig({
  name: "bench-b",
  schema: BenchBConfigSchema,
  presets: {
    tiny: { ...common, batchSize: 4, dim: 16, depth: 1, heads: 2, grid: 4, vocab: 64 },
    quick: { ...common, batchSize: 64 },
    "paper-cpu": { ...common, batchSize: 64 },
  },
});

export interface BenchBBatch {
  classes: tf.Tensor1D;
  tokens: tf.Tensor2D;
}

export function makeBenchB(cfg: BenchBConfig): BenchTask<BenchBBatch> {
  const D = cfg.dim, V = cfg.vocab, N = cfg.grid * cfg.grid, T = N + 1;
  const block: BlockConfig = { dim: D, heads: cfg.heads, mlp: "gelu", mlpHidden: 4 * D, norm: "layer", bias: true, causal: true, init: { normal: 0.02 } };
  const params = new ParamStore(cfg.seed);
  const tokEmb = params.add("tok_emb", [V, D], { normal: 0.02 });
  const clsEmb = params.add("cls_emb", [cfg.classes, D], { normal: 0.02 });
  const pos = params.add("pos_emb", [T, D], { normal: 0.02 });
  const blocks = transformerParams(params.scope("blocks"), block, cfg.depth);
  const lnF = normParams(params.scope("norm_f"), D);
  const head = linearParams(params.scope("head"), D, V, { bias: true, init: { normal: 0.02 } });
  /** logits [B·N, V] of the N positions that predict the tokens */
  const logits = (b: BenchBBatch): tf.Tensor2D =>
    tf.tidy(() => {
      const B = b.classes.shape[0];
      const c = tf.reshape(embedding(clsEmb, b.classes), [B, 1, D]);
      const x = tf.add(tf.concat([c, embedding(tokEmb, b.tokens)], 1), pos) as tf.Tensor3D;
      const h = layerNorm(transformerStack(x, blocks, block), lnF);
      return linear(tf.reshape(tf.slice(h, [0, 0, 0], [B, N, D]), [B * N, D]), head) as tf.Tensor2D;
    });
  const macs = cfg.depth * blockMacs(block, T) + linearMacs(N, D, V);
  return {
    kind: "bench-b",
    config: cfg,
    params,
    workload: "B",
    unit: "tokens",
    unitsPerSample: N,
    forwardMacsPerSample: macs,
    batch: (step) => {
      const rng = new Rng(mixSeed(cfg.seed, "B", step));
      const B = cfg.batchSize;
      const cls = new Int32Array(B).map(() => rng.int(cfg.classes));
      const tok = new Int32Array(B * N).map(() => rng.int(V));
      return { classes: tf.tensor1d(cls, "int32"), tokens: tf.tensor2d(tok, [B, N], "int32") };
    },
    loss: (b) => ({
      loss: tf.tidy(() => {
        return softmaxCrossEntropy(logits(b), tf.reshape(b.tokens, [-1]) as tf.Tensor1D);
      }),
    }),
    disposeBatch: (b) => tf.dispose([b.classes, b.tokens]),
    forward: logits,
    flopsPerStep: trainingFlops(macs) * cfg.batchSize,
    dispose: () => params.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// C: DiT with flow matching

export const BenchCConfigSchema = TrainConfigSchema.extend({
  ...transformerKnobs,
  channels: z.int().positive().default(4).describe("latent channels"),
  freqDim: z.int().positive().default(128).describe("width of the timestep sinusoid (even)"),
  classes: z.int().positive().default(10).describe("classes (+1 null class row)"),
});
export type BenchCConfig = z.output<typeof BenchCConfigSchema>;
export const benchCConfig: ConfigDef<typeof BenchCConfigSchema> = defineConfig({
  name: "bench-c",
  schema: BenchCConfigSchema,
  presets: {
    tiny: { ...common, batchSize: 4, dim: 16, depth: 1, heads: 2, grid: 4, freqDim: 16 },
    quick: { ...common, batchSize: 64 },
    "paper-cpu": { ...common, batchSize: 64 },
  },
});

export interface BenchCBatch {
  xt: tf.Tensor4D;
  t: tf.Tensor1D;
  labels: tf.Tensor1D;
  target: tf.Tensor4D;
}

/** sinusoid(t) [B, F]: [cos(t·ω_i), sin(t·ω_i)], ω_i = 10000^(−i/(F/2)), t scaled by 1000 (DiT convention). */
function timeEmbedding(t: tf.Tensor1D, F: number): tf.Tensor2D {
  const half = F / 2;
  const freqs = new Float32Array(half).map((_, i) => Math.exp((-Math.log(10000) * i) / half));
  return tf.tidy(() => {
    const a = tf.mul(tf.reshape(tf.mul(t, 1000), [-1, 1]), tf.tensor2d(freqs, [1, half]));
    return tf.concat([tf.cos(a), tf.sin(a)], 1) as tf.Tensor2D;
  });
}

export function makeBenchC(cfg: BenchCConfig): BenchTask<BenchCBatch> {
  const D = cfg.dim, N = cfg.grid * cfg.grid, C = cfg.channels, F = cfg.freqDim;
  if (F % 2 !== 0) throw new Error(`bench-c: freqDim=${F} must be even`);
  const block: BlockConfig = { dim: D, heads: cfg.heads, mlp: "gelu", mlpHidden: 4 * D, norm: "layer", normEps: 1e-6, normAffine: false, bias: true, adaLN: true, condDim: D, init: "xavier" };
  const params = new ParamStore(cfg.seed);
  const patch = linearParams(params.scope("patch"), C, D, { init: "xavier" });
  const pos = params.add("pos_emb", [N, D], { normal: 0.02 });
  const t1 = linearParams(params.scope("t_mlp1"), F, D, { init: { normal: 0.02 } });
  const t2 = linearParams(params.scope("t_mlp2"), D, D, { init: { normal: 0.02 } });
  const clsEmb = params.add("cls_emb", [cfg.classes + 1, D], { normal: 0.02 });
  const blocks = transformerParams(params.scope("blocks"), block, cfg.depth);
  const finalMod: LinearParams = { w: params.add("final.adaLN.w", [D, 2 * D], "zeros"), b: params.add("final.adaLN.b", [2 * D], "zeros") };
  const out = linearParams(params.scope("final.linear"), D, C, { init: "zeros" });
  const velocity = (b: BenchCBatch): tf.Tensor4D =>
    tf.tidy(() => {
      const B = b.xt.shape[0];
      const x = tf.add(linear(tf.reshape(b.xt, [B, N, C]), patch), pos) as tf.Tensor3D;
      const c = tf.add(linear(silu(linear(timeEmbedding(b.t, F), t1)), t2), embedding(clsEmb, b.labels));
      const h = transformerStack(x, blocks, block, { cond: c });
      const [shift, scale] = tf.split(linear(silu(c), finalMod), 2, 1);
      const y = linear(modulate(layerNorm(h, {}, 1e-6), shift, scale), out);
      return tf.reshape(y, [B, cfg.grid, cfg.grid, C]) as tf.Tensor4D;
    });
  const macs = cfg.depth * blockMacs(block, N) + linearMacs(N, C, D) + linearMacs(1, F, D) + linearMacs(1, D, D) + linearMacs(1, D, 2 * D) + linearMacs(N, D, C);
  return {
    kind: "bench-c",
    config: cfg,
    params,
    workload: "C",
    unit: "latents",
    unitsPerSample: 1,
    forwardMacsPerSample: macs,
    batch: (step) => {
      const rng = new Rng(mixSeed(cfg.seed, "C", step));
      const B = cfg.batchSize, per = N * C;
      const xt = new Float32Array(B * per), target = new Float32Array(B * per);
      const t = new Float32Array(B), labels = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        labels[b] = rng.int(cfg.classes);
        t[b] = 1 / (1 + Math.exp(-rng.normal())); // logit-normal
        for (let i = 0; i < per; i++) {
          const x1 = Math.sin(0.3 * i + labels[b]) + 0.5 * rng.normal();
          const x0 = rng.normal();
          xt[b * per + i] = (1 - t[b]) * x0 + t[b] * x1;
          target[b * per + i] = x1 - x0;
        }
      }
      const shape: [number, number, number, number] = [B, cfg.grid, cfg.grid, C];
      return { xt: tf.tensor4d(xt, shape), t: tf.tensor1d(t), labels: tf.tensor1d(labels, "int32"), target: tf.tensor4d(target, shape) };
    },
    loss: (b) => ({
      loss: tf.tidy(() => {
        const d = tf.sub(velocity(b), b.target);
        return tf.mean(tf.mul(d, d)) as tf.Scalar;
      }),
    }),
    disposeBatch: (b) => tf.dispose([b.xt, b.t, b.labels, b.target]),
    forward: velocity,
    flopsPerStep: trainingFlops(macs) * cfg.batchSize,
    dispose: () => params.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------------------------

/** The benchmark kinds (a data-parallel worker's `kindsModule` is this file). */
export function makeKinds(): KindRegistry {
  return kindRegistry({
    "bench-a": { description: "benchmark workload A: conv FSQ autoencoder (issue 8)", configDef: benchAConfig, makeTask: makeBenchA },
    "bench-b": { description: "benchmark workload B: GPT, T=65, V=4096 (issue 8)", configDef: benchBConfig, makeTask: makeBenchB },
    "bench-c": { description: "benchmark workload C: DiT + flow matching on 8×8×4 latents (issue 8)", configDef: benchCConfig, makeTask: makeBenchC },
  } as unknown as Record<string, TrainKind>);
}

export const BENCH_KINDS: Record<WorkloadName, string> = { A: "bench-a", B: "bench-b", C: "bench-c" };

/** Builds workload `w` from a preset and overrides (e.g. { batchSize: 16 }). */
export function makeWorkload(w: WorkloadName, preset: "tiny" | "quick" = "quick", overrides: Record<string, unknown> = {}): BenchTask<unknown> {
  switch (w) {
    case "A":
      return makeBenchA(resolveConfig(benchAConfig, { preset, overrides: overrides as never })) as unknown as BenchTask<unknown>;
    case "B":
      return makeBenchB(resolveConfig(benchBConfig, { preset, overrides: overrides as never })) as unknown as BenchTask<unknown>;
    case "C":
      return makeBenchC(resolveConfig(benchCConfig, { preset, overrides: overrides as never })) as unknown as BenchTask<unknown>;
  }
}
