/**
 * The one transformer block of the code base, shared by the AR model (LlamaGen) and the DiT.
 *
 *   plain (LlamaGen):   x ← x + drop(Attn(Norm₁(x)));            x ← x + drop(MLP(Norm₂(x)))
 *   adaLN (DiT):        [s₁, a₁, g₁, s₂, a₂, g₂] = Linear₀(silu(c))   (zero-init: the block starts as the identity)
 *                       x ← x + g₁·Attn(modulate(Norm₁(x), s₁, a₁));  x ← x + g₂·MLP(modulate(Norm₂(x), s₂, a₂))
 *   Attn(h) = Wₒ·attention(rope(qkNorm(q)), rope(qkNorm(k)), v),  [q|k|v] = h·W_qkv, heads split on the feature axis.
 *
 * LlamaGen: { norm: "rms", mlp: "swiglu", bias: false, causal: true } + 2-D RoPE (ctx.rope) + KV cache (ctx.cache).
 * DiT:      { norm: "rms", mlp: "swiglu", adaLN: true, qkNorm: true, qkvBias: true, bias: true } + RoPE, bidirectional.
 * x is [B, T, D] throughout.
 */
import * as tf from "@tensorflow/tfjs";
import type { Init, ParamScope } from "./params";
import { mixSeed } from "../rng";
import { dropoutRows, type BatchRows } from "../batch-rows";
import { linear, linearSplit, LinearParams } from "./matmul";
import { rmsNorm, layerNorm } from "./norm";
import { gelu } from "./activations";
import { linearParams } from "./layers";
import { swiglu, swigluHidden, swigluParams, SwiGLUParams } from "./swiglu";
import { modulate, gate, adaLNParams, adaLNModulation } from "./adaln";
import { attentionTokensFirst, KVCache } from "./attention";
import { applyRope, RopeTable } from "./rope";

export interface BlockConfig {
  dim: number;
  heads: number;
  /** "swiglu" (default) or "gelu" (Linear–GELU(tanh)–Linear) */
  mlp?: "swiglu" | "gelu";
  /** MLP hidden width; default swigluHidden(dim) for SwiGLU, 4·dim for GELU */
  mlpHidden?: number;
  /** "rms" (default) or "layer" */
  norm?: "rms" | "layer";
  /** default 1e-5 */
  normEps?: number;
  /** learnable norm scale (and LayerNorm shift); default true */
  normAffine?: boolean;
  /** biases in the projection and MLP linears; default false */
  bias?: boolean;
  /** bias in the qkv projection; default = bias */
  qkvBias?: boolean;
  /** causal self-attention; default false */
  causal?: boolean;
  /** adaLN-Zero conditioning with 6 modulation vectors from ctx.cond; default false */
  adaLN?: boolean;
  /** width of ctx.cond; default dim */
  condDim?: number;
  /** RMSNorm (learnable, over the head dim) on q and k; default false */
  qkNorm?: boolean;
  /** linear weight init; default N(0, 0.02) (LlamaGen); DiT uses "xavier" */
  init?: Init;
  /** attention products: see AttentionOptions.impl (default: by backend) */
  attentionImpl?: "grouped" | "batched";
}

export interface BlockParams {
  norm1?: { gamma?: tf.Tensor; beta?: tf.Tensor };
  norm2?: { gamma?: tf.Tensor; beta?: tf.Tensor };
  qkv: LinearParams;
  proj: LinearParams;
  qNorm?: tf.Tensor;
  kNorm?: tf.Tensor;
  mlp: SwiGLUParams | { fc1: LinearParams; fc2: LinearParams };
  adaLN?: LinearParams;
}

export interface BlockContext {
  /** RoPE table; positions start at the cache length (0 without a cache) */
  rope?: RopeTable;
  /** conditioning [B, condDim] (adaLN) */
  cond?: tf.Tensor;
  /** KV cache of this block for incremental decoding (inference) */
  cache?: KVCache;
  /** additive attention mask broadcastable to [B, H, Tq, Tk] */
  mask?: tf.Tensor;
  /** residual dropout on the attention and MLP outputs (training); the seed fixes the masks */
  dropout?: Dropout;
}

/** Residual dropout of a block: rate, the seed fixing its masks, and the batch rows x holds (masks drawn for all rows). */
export interface Dropout {
  rate: number;
  seed: number;
  rows?: BatchRows;
}

function checkConfig(cfg: BlockConfig): void {
  if (!Number.isInteger(cfg.dim) || cfg.dim <= 0) throw new Error(`transformer: dim=${cfg.dim} must be a positive integer`);
  if (!Number.isInteger(cfg.heads) || cfg.heads <= 0 || cfg.dim % cfg.heads !== 0) {
    throw new Error(`transformer: heads=${cfg.heads} must divide dim=${cfg.dim}`);
  }
}

/** MLP hidden width of a config. */
export function mlpHiddenOf(cfg: BlockConfig): number {
  return cfg.mlpHidden ?? ((cfg.mlp ?? "swiglu") === "swiglu" ? swigluHidden(cfg.dim) : 4 * cfg.dim);
}

function normParamsOf(scope: ParamScope, cfg: BlockConfig): { gamma?: tf.Tensor; beta?: tf.Tensor } | undefined {
  if (cfg.normAffine === false) return undefined;
  const gamma = scope.add("gamma", [cfg.dim], "ones");
  return (cfg.norm ?? "rms") === "layer" ? { gamma, beta: scope.add("beta", [cfg.dim], "zeros") } : { gamma };
}

/** Creates the parameters of one block under `scope` (names: norm1.gamma, attn.qkv.w, attn.proj.w, mlp.w1.w, adaLN.w, …). */
export function blockParams(scope: ParamScope, cfg: BlockConfig): BlockParams {
  checkConfig(cfg);
  const D = cfg.dim;
  const init = cfg.init ?? { normal: 0.02 };
  const bias = cfg.bias ?? false;
  const attn = scope.scope("attn");
  const hidden = mlpHiddenOf(cfg);
  const p: BlockParams = {
    norm1: normParamsOf(scope.scope("norm1"), cfg),
    norm2: normParamsOf(scope.scope("norm2"), cfg),
    qkv: linearParams(attn.scope("qkv"), D, 3 * D, { bias: cfg.qkvBias ?? bias, init }),
    proj: linearParams(attn.scope("proj"), D, D, { bias, init }),
    mlp:
      (cfg.mlp ?? "swiglu") === "swiglu"
        ? swigluParams(scope.scope("mlp"), D, hidden, { bias, init })
        : {
            fc1: linearParams(scope.scope("mlp").scope("fc1"), D, hidden, { bias, init }),
            fc2: linearParams(scope.scope("mlp").scope("fc2"), hidden, D, { bias, init }),
          },
  };
  if (cfg.qkNorm) {
    p.qNorm = attn.add("qNorm.gamma", [D / cfg.heads], "ones");
    p.kNorm = attn.add("kNorm.gamma", [D / cfg.heads], "ones");
  }
  if (cfg.adaLN) p.adaLN = adaLNParams(scope.scope("adaLN"), cfg.condDim ?? D, D, 6);
  return p;
}

function norm(x: tf.Tensor3D, p: { gamma?: tf.Tensor; beta?: tf.Tensor } | undefined, cfg: BlockConfig): tf.Tensor3D {
  const eps = cfg.normEps ?? 1e-5;
  return (cfg.norm ?? "rms") === "layer" ? layerNorm(x, p ?? {}, eps) : rmsNorm(x, p?.gamma ?? null, eps);
}

/** Self-attention sub-layer: h [B, T, D] → [B, T, D]. */
export function selfAttention(h: tf.Tensor3D, p: BlockParams, cfg: BlockConfig, ctx: BlockContext = {}): tf.Tensor3D {
  const D = h.shape[2];
  const [B, T] = h.shape;
  const H = cfg.heads;
  // q, k, v as one op with three outputs (column blocks of the weight; no slices of the large activations, which on
  // wasm copy their whole input; one transpose of h in the backward pass). Tokens-first heads [B, T, H, Dh]: a free
  // reshape of the projection (no head split/merge transposes)
  let [q, k, v] = linearSplit(h, p.qkv, [D, D, D]).map((t) => tf.reshape(t, [B, T, H, D / H]) as tf.Tensor4D);
  const eps = cfg.normEps ?? 1e-5;
  if (p.qNorm) q = rmsNorm(q, p.qNorm, eps);
  if (p.kNorm) k = rmsNorm(k, p.kNorm, eps);
  const offset = ctx.cache ? ctx.cache.length : 0;
  if (ctx.rope) {
    q = applyRope(q, ctx.rope, offset, "BTHD");
    k = applyRope(k, ctx.rope, offset, "BTHD");
  }
  if (ctx.cache) {
    if (ctx.cache.timeAxis !== 1) throw new Error("selfAttention: the KV cache must be tokens-first (new KVCache() or new KVCache(1))");
    ({ k, v } = ctx.cache.append(k, v));
  }
  const o = attentionTokensFirst(q, k, v, { causal: cfg.causal, mask: ctx.mask, impl: cfg.attentionImpl });
  return linear(tf.reshape(o, [B, T, D]) as tf.Tensor3D, p.proj);
}

function mlpForward(h: tf.Tensor3D, p: BlockParams, cfg: BlockConfig): tf.Tensor3D {
  if ((cfg.mlp ?? "swiglu") === "swiglu") return swiglu(h, p.mlp as SwiGLUParams);
  const m = p.mlp as { fc1: LinearParams; fc2: LinearParams };
  return linear(gelu(linear(h, m.fc1)), m.fc2);
}

function drop(x: tf.Tensor3D, ctx: BlockContext, what: string): tf.Tensor3D {
  if (!ctx.dropout || ctx.dropout.rate <= 0) return x;
  return dropoutRows(x, ctx.dropout.rate, mixSeed(ctx.dropout.seed, what), ctx.dropout.rows);
}

/** One block: x [B, T, D] → [B, T, D]. */
export function transformerBlock(x: tf.Tensor3D, p: BlockParams, cfg: BlockConfig, ctx: BlockContext = {}): tf.Tensor3D {
  if (x.rank !== 3 || x.shape[2] !== cfg.dim) throw new Error(`transformerBlock: x must be [B, T, ${cfg.dim}], got [${x.shape}]`);
  return tf.tidy(() => {
    let mod: tf.Tensor2D[] | null = null;
    if (cfg.adaLN) {
      if (!ctx.cond || !p.adaLN) throw new Error("transformerBlock: an adaLN block needs ctx.cond [B, condDim]");
      if (ctx.cond.shape[0] !== x.shape[0]) throw new Error(`transformerBlock: cond has batch ${ctx.cond.shape[0]}, x has ${x.shape[0]}`);
      mod = adaLNModulation(ctx.cond, p.adaLN, 6);
    }
    let h = norm(x, p.norm1, cfg);
    if (mod) h = modulate(h, mod[0], mod[1]);
    let a = drop(selfAttention(h, p, cfg, ctx), ctx, "attn");
    if (mod) a = gate(a, mod[2]);
    const x1 = tf.add(x, a) as tf.Tensor3D;
    h = norm(x1, p.norm2, cfg);
    if (mod) h = modulate(h, mod[3], mod[4]);
    let m = drop(mlpForward(h, p, cfg), ctx, "mlp");
    if (mod) m = gate(m, mod[5]);
    return tf.add(x1, m) as tf.Tensor3D;
  });
}

/** Parameters of `depth` blocks named "<scope>.<i>.…". */
export function transformerParams(scope: ParamScope, cfg: BlockConfig, depth: number): BlockParams[] {
  return Array.from({ length: depth }, (_, i) => blockParams(scope.scope(String(i)), cfg));
}

export interface StackContext {
  rope?: RopeTable;
  cond?: tf.Tensor;
  /** one cache per block */
  caches?: KVCache[];
  mask?: tf.Tensor;
  /** residual dropout; each block's masks come from mixSeed(seed, blockIndex) */
  dropout?: Dropout;
}

/** Runs the blocks in order: x [B, T, D] → [B, T, D]. */
export function transformerStack(x: tf.Tensor3D, blocks: BlockParams[], cfg: BlockConfig, ctx: StackContext = {}): tf.Tensor3D {
  if (ctx.caches && ctx.caches.length !== blocks.length) {
    throw new Error(`transformerStack: ${ctx.caches.length} KV caches for ${blocks.length} blocks`);
  }
  let h = x;
  blocks.forEach((p, i) => {
    h = transformerBlock(h, p, cfg, {
      rope: ctx.rope,
      cond: ctx.cond,
      cache: ctx.caches?.[i],
      mask: ctx.mask,
      dropout: ctx.dropout ? { ...ctx.dropout, seed: mixSeed(ctx.dropout.seed, i) } : undefined,
    });
  });
  return h;
}
