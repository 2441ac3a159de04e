/**
 * LlamaGen (paper §5, scaled down): a class-conditional, decoder-only transformer over the tokenizer's 8×8 grid in
 * raster order, with factorized tokens.
 *
 * Tokens. Position k = (row, col) of the latent grid (k = row·W + col) carries G sub-tokens s_{k,g}, one per FSQ
 * channel group (default one group per latent dim: G = d sub-tokens with L values each). The vocabularies V_g come
 * from the tokenizer's FSQ (`tokenLayout`), never from a number typed in. `"single"` mode is G = 1: one index per
 * position with V = ∏ L (only for small codebooks: K = 17⁴ = 83 521 would need a 1.4 GB logit tensor per batch).
 *
 * Trunk (LlamaGen): sequence x₀ = E_cls[c], x_{k+1} = Σ_g E_g[s_{k,g}] (k = 0 … T−2), length T = H·W; token dropout
 * on x; `depth` shared blocks (nn/transformer: pre-RMSNorm, SwiGLU, bias-free, causal, 2-D RoPE with the class
 * position as a 1-token prefix); h_i = trunk output at position i, which has seen c, s₀ … s_{i−1} and predicts s_i.
 *
 * Head.
 *   single:      logits_i = RMSNorm(h_i)·W_out                                        [B, T, V]
 *   factorized:  per position i, a small causal transformer (`headDepth` blocks, same width, no RoPE) over the
 *                length-G sequence u = [h_i, E₀[s_{i,0}], …, E_{G−2}[s_{i,G−2}]]; its output at slot g, after
 *                RMSNorm, times W_g gives the logits of s_{i,g}. So s_{i,g} is predicted from the trunk state and
 *                the sub-tokens < g of the same position: p(s_i) = ∏_g p(s_{i,g} | h_i, s_{i,<g}).
 * Loss: Σ_g CE_g, each the mean over batch and positions (the negative log-likelihood of a whole position, in nats,
 * comparable with the single-index CE).
 *
 * Conditioning: class c ∈ [0, C) and the null class C (label dropout during training, the unconditional branch of
 * classifier-free guidance). Init (LlamaGen): linear and embedding weights N(0, 0.02), output heads zero.
 * All products go through nn/matmul; lookups in small tables (≤ 512 rows: the sub-token and class tables) are one-hot
 * matmuls, larger ones (single-index vocabularies) nn/embedding with its scatterND gradient: trains on wasm and cpu.
 * Cost: the intra-position head runs on T·G slots, so at D = 128, depth 4, G = 4 it costs about as much as the trunk.
 *
 * REPA hook: `forward(…, { hiddenAt: [ℓ] })` also returns the trunk's hidden states after block ℓ (1-indexed; 0 =
 * the embedding output after token dropout), [B, T, D], position i aligned with the token it predicts.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed, Rng } from "../rng";
import { dropoutRows, rngRows, scaleRows, type BatchRows } from "../batch-rows";
import { breather } from "../event-loop";
import { ParamStore } from "../nn/params";
import { embedding } from "../nn/embedding";
import { linear, matmul, type LinearParams } from "../nn/matmul";
import { rmsNorm } from "../nn/norm";
import { linearParams } from "../nn/layers";
import { ropeTable, type RopeTable } from "../nn/rope";
import { KVCache } from "../nn/attention";
import { swigluHidden } from "../nn/swiglu";
import { blockMacs } from "../nn/flops";
import { transformerBlock, transformerParams, type BlockConfig, type BlockParams, type Dropout } from "../nn/transformer";
import { FSQ } from "../quant/fsq";
import { sampleGuided, checkSamplingOptions, type SamplingOptions } from "./sampling";

export type TokenMode = "factorized" | "single";

/** Embedding tables up to this many rows are read with a one-hot matmul instead of gather/scatterND. */
export const ONE_HOT_MAX_VOCAB = 512;

/** Largest single-index vocabulary the model accepts (LlamaGen's VQ codebook size). */
export const MAX_SINGLE_VOCAB = 16384;

/** How a tokenizer's quantized latent becomes AR tokens: the FSQ cut into channel groups. */
export interface TokenLayout {
  mode: TokenMode;
  /** Latent channels per group (sum = d). */
  groups: number[];
  /** Vocabulary of each group: ∏ of its levels. */
  groupSizes: number[];
  /** The grouped quantizer (same levels, bound and α as the tokenizer's): codes ⇄ sub-token indices. */
  fsq: FSQ;
}

/**
 * The token layout of a tokenizer's FSQ. factorized: groups of `channelsPerGroup` consecutive channels (default 1,
 * so G = d sub-tokens with L_j values each; 2 with d = 4 gives the paper's `f2x2` 2 × 289); single: one group.
 */
export function tokenLayout(fsq: FSQ, mode: TokenMode = "factorized", channelsPerGroup = 1): TokenLayout {
  const d = fsq.dim;
  let groups: number[];
  if (mode === "single") groups = [d];
  else if (mode === "factorized") {
    if (!Number.isInteger(channelsPerGroup) || channelsPerGroup < 1 || d % channelsPerGroup !== 0) {
      throw new Error(`tokenLayout: channelsPerGroup=${channelsPerGroup} must be a positive divisor of the latent dim d=${d}`);
    }
    groups = new Array(d / channelsPerGroup).fill(channelsPerGroup);
  } else throw new Error(`tokenLayout: mode=${JSON.stringify(mode)}; expected "factorized" or "single"`);
  const grouped = new FSQ({ levels: [...fsq.levels], bound: fsq.bound, groups });
  const sizes = [...grouped.groupSizes];
  if (mode === "single" && sizes[0] > MAX_SINGLE_VOCAB) {
    throw new Error(
      `tokenLayout: single-index mode needs a vocabulary of ${sizes[0]} (levels [${fsq.levels.join(",")}]), above ${MAX_SINGLE_VOCAB}; ` +
        `its logits would not fit the wasm heap; use tokens "factorized"`,
    );
  }
  return { mode, groups, groupSizes: sizes, fsq: grouped };
}

/**
 * Quantized codes [B, H, W, d] → int32 tokens [B, H·W, G] in raster order (exact: reads the codes' grid digits).
 */
export function codesToTokens(layout: TokenLayout, codes: tf.Tensor4D): tf.Tensor3D {
  const [B, H, W, d] = codes.shape;
  if (d !== layout.fsq.dim) throw new Error(`codesToTokens: codes have ${d} channels; the token layout has d=${layout.fsq.dim}`);
  const idx = layout.fsq.codesToIndices(codes);
  return tf.tidy(() => tf.reshape(idx, [B, H * W, layout.groupSizes.length])) as tf.Tensor3D;
}

/** Tokens [B, H·W, G] → codes [B, H, W, d] on the FSQ grid (what the tokenizer's decoder takes). */
export function tokensToCodes(layout: TokenLayout, tokens: tf.Tensor3D, gridH: number, gridW: number): tf.Tensor4D {
  const [B, T, G] = tokens.shape;
  if (T !== gridH * gridW || G !== layout.groupSizes.length) {
    throw new Error(`tokensToCodes: tokens have shape [${tokens.shape}]; expected [batch, ${gridH * gridW}, ${layout.groupSizes.length}]`);
  }
  const codes = layout.fsq.indicesToCodes(G === 1 ? tf.reshape(tokens, [B, T]) : tokens);
  return tf.tidy(() => tf.reshape(codes, [B, gridH, gridW, layout.fsq.dim])) as tf.Tensor4D;
}

/**
 * Tokenizer indices (one mixed-radix index per position, first channel least significant, as `Tokenizer.encode`
 * returns them) → sub-tokens, in plain arrays: `indices` [N·T] → [N·T·G]. Pure integer arithmetic.
 */
export function indicesToTokenArray(layout: TokenLayout, indices: Int32Array): Int32Array {
  const levels = layout.fsq.levels;
  const G = layout.groups.length;
  const K = levels.reduce((a, b) => a * b, 1);
  const out = new Int32Array(indices.length * G);
  for (let i = 0; i < indices.length; i++) {
    let rest = indices[i];
    if (!(rest >= 0 && rest < K)) throw new Error(`indicesToTokenArray: index[${i}]=${rest} is outside the codebook [0, ${K})`);
    let j = 0;
    for (let g = 0; g < G; g++) {
      let v = 0;
      let b = 1;
      for (let c = 0; c < layout.groups[g]; c++, j++) {
        const digit = rest % levels[j];
        rest = (rest - digit) / levels[j];
        v += digit * b;
        b *= levels[j];
      }
      out[i * G + g] = v;
    }
  }
  return out;
}

/** Architecture of a LlamaGen model (everything that changes parameter shapes or the forward pass). */
export interface LlamaGenArch {
  /** Width D. Paper (L): 1024. */
  dim: number;
  /** Trunk blocks. Paper: 24. */
  depth: number;
  /** Attention heads (head dim D/heads must be a multiple of 4 for the 2-D RoPE). Paper: 16. */
  heads: number;
  /** SwiGLU hidden width (default ⌈2/3·4D⌉ rounded up to a multiple of 64; the paper rounds to 256). */
  mlpHidden?: number;
  /** Blocks of the intra-position head (factorized only). Paper (`f2x2`): 2. */
  headDepth: number;
  /** SwiGLU hidden width of the intra-position head's blocks (default: the trunk's; the paper uses the trunk's). */
  headMlpHidden?: number;
  /** Latent grid H × W; the sequence has T = H·W positions. */
  gridH: number;
  gridW: number;
  /** Number of real classes C; class C is the null class. */
  numClasses: number;
  /** Vocabulary per sub-token (from `tokenLayout`); length G. */
  groupSizes: number[];
  /** RoPE of the class position: "zero" = the official quirk (its q, k are zeroed), "identity" = no rotation. */
  clsRope?: "zero" | "identity";
  /** RoPE base θ (default 10 000). */
  ropeBase?: number;
  /** RMSNorm ε (default 1e-5). */
  normEps?: number;
}

/** Options of a teacher-forced forward pass. */
export interface ForwardOptions {
  /** Training regularisation (omit for evaluation). Seeds fix every mask. */
  train?: { seed: number; tokenDropout?: number; residDropout?: number; rows?: BatchRows };
  /** Also return the trunk's hidden states after these blocks (1-indexed; 0 = the embedding output, the trunk's input; REPA, CKNNA). */
  hiddenAt?: number[];
}

export interface ForwardResult {
  /** Logits per sub-token group g: [B, T, V_g]. */
  logits: tf.Tensor3D[];
  /** Hidden states after the requested blocks, [B, T, D] each, in the order asked. */
  hidden: tf.Tensor3D[];
}

export interface GenerateOptions extends SamplingOptions {
  /** Seed of the draws; the same seed gives the same tokens. */
  seed?: number;
  /** Reuse keys/values of earlier positions (default true); false recomputes the whole prefix every step. */
  kvCache?: boolean;
  /** Run the [cond; null] batch even at cfgScale 1 (testing the guided path). */
  forceGuidance?: boolean;
  /** Called after each position with the number of positions done. */
  onStep?: (done: number, total: number) => void;
}

interface HeadParams {
  blocks: BlockParams[];
  norm: tf.Tensor;
  out: LinearParams[];
}

function isPosInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/** Validates an architecture; each error names the bad value and what was expected. */
export function validateLlamaGenArch(a: LlamaGenArch): void {
  for (const k of ["dim", "depth", "heads", "gridH", "gridW", "numClasses"] as const) {
    if (!isPosInt(a[k])) throw new Error(`llamagen: ${k}=${a[k]} must be a positive integer`);
  }
  if (a.dim % a.heads !== 0) throw new Error(`llamagen: heads=${a.heads} must divide dim=${a.dim}`);
  if ((a.dim / a.heads) % 4 !== 0) throw new Error(`llamagen: head dim ${a.dim}/${a.heads}=${a.dim / a.heads} must be a multiple of 4 (2-D RoPE splits its pairs between rows and columns)`);
  if (!Array.isArray(a.groupSizes) || a.groupSizes.length === 0 || !a.groupSizes.every(isPosInt) || a.groupSizes.some((v) => v < 2)) {
    throw new Error(`llamagen: groupSizes=${JSON.stringify(a.groupSizes)} must be a non-empty list of vocabulary sizes ≥ 2 (take them from tokenLayout(tokenizer.fsq))`);
  }
  if (a.groupSizes.length === 1 && a.groupSizes[0] > MAX_SINGLE_VOCAB) throw new Error(`llamagen: single vocabulary ${a.groupSizes[0]} > ${MAX_SINGLE_VOCAB}; use factorized tokens`);
  if (a.groupSizes.length > 1 && !isPosInt(a.headDepth)) throw new Error(`llamagen: headDepth=${a.headDepth} must be ≥ 1 with factorized tokens (${a.groupSizes.length} sub-tokens per position)`);
  if (a.mlpHidden !== undefined && !isPosInt(a.mlpHidden)) throw new Error(`llamagen: mlpHidden=${a.mlpHidden} must be a positive integer`);
  if (a.headMlpHidden !== undefined && !isPosInt(a.headMlpHidden)) throw new Error(`llamagen: headMlpHidden=${a.headMlpHidden} must be a positive integer`);
  if (a.clsRope !== undefined && a.clsRope !== "zero" && a.clsRope !== "identity") throw new Error(`llamagen: clsRope=${JSON.stringify(a.clsRope)}; expected "zero" or "identity"`);
}

/** The block configs of an architecture: the trunk's and the intra-position head's. */
export function llamaGenBlockConfigs(arch: LlamaGenArch): { trunk: BlockConfig; head: BlockConfig } {
  const D = arch.dim;
  const mlpHidden = arch.mlpHidden ?? swigluHidden(D, { multipleOf: 64 });
  const trunk: BlockConfig = { dim: D, heads: arch.heads, mlp: "swiglu", mlpHidden, norm: "rms", normEps: arch.normEps ?? 1e-5, bias: false, causal: true, init: { normal: 0.02 } };
  return { trunk, head: { ...trunk, mlpHidden: arch.headMlpHidden ?? mlpHidden } };
}

/**
 * Forward multiply-adds per sequence of an architecture (matmuls only: trunk blocks over T tokens, the
 * intra-position head over T sequences of G slots, the output projections; lookups and norms are free), and training
 * FLOPs = 2·3·MACs. A pure function of the architecture (no weights needed).
 */
export function llamaGenFlops(arch: LlamaGenArch): { forwardMacs: number; forwardPerSample: number; trainPerSample: number } {
  validateLlamaGenArch(arch);
  const { trunk, head } = llamaGenBlockConfigs(arch);
  const T = arch.gridH * arch.gridW;
  const G = arch.groupSizes.length;
  let macs = arch.depth * blockMacs(trunk, T);
  if (G > 1) macs += arch.headDepth * T * blockMacs(head, G);
  macs += T * arch.dim * arch.groupSizes.reduce((a, b) => a + b, 0);
  return { forwardMacs: macs, forwardPerSample: 2 * macs, trainPerSample: 6 * macs };
}

/** The class-conditional AR transformer. Weights live in `params`; the model owns its RoPE table (call dispose()). */
export class LlamaGen {
  readonly arch: LlamaGenArch;
  readonly params: ParamStore;
  /** Sequence length T = H·W. */
  readonly seqLen: number;
  /** Sub-tokens per position G. */
  readonly numGroups: number;
  /** Index of the null class (= numClasses). */
  readonly nullClass: number;
  readonly blockConfig: BlockConfig;
  readonly headConfig: BlockConfig;
  private readonly clsEmb: tf.Variable;
  private readonly tokEmb: tf.Variable;
  private readonly offsets: number[];
  private readonly blocks: BlockParams[];
  private readonly head: HeadParams;
  private readonly rope: RopeTable;

  constructor(arch: LlamaGenArch, params: ParamStore | number = 0) {
    validateLlamaGenArch(arch);
    this.arch = { ...arch, groupSizes: [...arch.groupSizes] };
    this.params = typeof params === "number" ? new ParamStore(params) : params;
    const D = arch.dim;
    this.seqLen = arch.gridH * arch.gridW;
    this.numGroups = arch.groupSizes.length;
    this.nullClass = arch.numClasses;
    const configs = llamaGenBlockConfigs(arch);
    this.blockConfig = configs.trunk;
    this.headConfig = configs.head;
    const p = this.params;
    const init = { normal: 0.02 };
    this.clsEmb = p.add("cls_emb", [arch.numClasses + 1, D], init);
    const totalVocab = arch.groupSizes.reduce((a, b) => a + b, 0);
    this.tokEmb = p.add("tok_emb", [totalVocab, D], init);
    this.offsets = arch.groupSizes.map((_, g) => arch.groupSizes.slice(0, g).reduce((a, b) => a + b, 0));
    this.blocks = transformerParams(p.scope("blocks"), this.blockConfig, arch.depth);
    const G = this.numGroups;
    this.head = {
      blocks: G > 1 ? transformerParams(p.scope("head.blocks"), this.headConfig, arch.headDepth) : [],
      // the final RMSNorm: after the trunk (single) or after the intra-position blocks (factorized)
      norm: p.add(G > 1 ? "head.norm.gamma" : "norm.gamma", [D], "ones"),
      out: arch.groupSizes.map((V, g) => linearParams(p.scope(`head.out${g}`), D, V, { bias: false, init: "zeros" })),
    };
    this.rope = ropeTable({ gridH: arch.gridH, gridW: arch.gridW, headDim: D / arch.heads, base: arch.ropeBase ?? 10000, prefix: 1, prefixMode: arch.clsRope ?? "zero" });
  }

  // ------------------------------------------------------------------------------------------------ checks

  /** Throws unless classes is int32 [B] with values in [0, C] (C = null class; `allowNull` false: [0, C)). */
  checkClasses(classes: tf.Tensor, allowNull = true): void {
    if (classes.rank !== 1) throw new Error(`llamagen: classes have shape [${classes.shape}]; expected [batch] int32`);
    if (classes.dtype !== "int32") throw new Error(`llamagen: classes have dtype ${classes.dtype}; expected int32`);
    checkClassValues(classes.dataSync() as Int32Array, this.arch.numClasses, allowNull);
  }

  /** Throws unless tokens is int32 [B, T, G] with every s_{·,·,g} in [0, V_g). */
  checkTokens(tokens: tf.Tensor, batch?: number): void {
    const T = this.seqLen;
    const G = this.numGroups;
    const { gridH, gridW } = this.arch;
    if (tokens.rank !== 3 || tokens.shape[1] !== T || tokens.shape[2] !== G || (batch !== undefined && tokens.shape[0] !== batch)) {
      throw new Error(
        `llamagen: tokens have shape [${tokens.shape}]; expected [${batch ?? "batch"}, ${T}, ${G}] ` +
          `(the ${gridH}×${gridW} grid in raster order, ${G} sub-token${G > 1 ? "s" : ""} per position)`,
      );
    }
    if (tokens.dtype !== "int32") throw new Error(`llamagen: tokens have dtype ${tokens.dtype}; expected int32`);
    const v = tokens.dataSync();
    for (let i = 0; i < v.length; i++) {
      const g = i % G;
      if (v[i] < 0 || v[i] >= this.arch.groupSizes[g]) {
        const pos = Math.floor(i / G) % T;
        throw new Error(`llamagen: tokens[${Math.floor(i / (G * T))}, ${pos}, ${g}]=${v[i]} is out of range; expected [0, ${this.arch.groupSizes[g]}) for sub-token ${g}`);
      }
    }
  }

  /** Throws unless this model's vocabularies are exactly those of `layout` (from the tokenizer it is used with). */
  checkLayout(layout: TokenLayout, what = "the tokenizer"): void {
    const a = this.arch.groupSizes;
    const b = layout.groupSizes;
    if (a.length !== b.length || a.some((v, i) => v !== b[i])) {
      throw new Error(
        `llamagen: the model's sub-token vocabularies [${a.join(", ")}] do not match ${what}'s [${b.join(", ")}] ` +
          `(levels [${layout.fsq.levels.join(",")}], ${layout.mode}); an AR model only works with the tokenizer it was trained on`,
      );
    }
  }

  // ------------------------------------------------------------------------------------------------ forward

  /**
   * Rows of `table` [V, D] at int32 ids [...] → [..., D]. Small tables (V ≤ ONE_HOT_MAX_VOCAB) use a one-hot
   * matmul, whose gradient is one plain product (on wasm ~20× cheaper than scatterND at V ≈ 70); large ones
   * nn/embedding (gather forward, scatterND gradient).
   */
  private lookup(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
    const [V, D] = table.shape as [number, number];
    if (V > ONE_HOT_MAX_VOCAB) return embedding(table, ids);
    const flat = tf.reshape(ids, [ids.size]) as tf.Tensor1D;
    return tf.reshape(matmul(oneHotF32(flat, V), table), [...ids.shape, D]);
  }

  /** E_g[s_g] for every sub-token: tokens [B, n, G] → [B, n, G, D] (one lookup in the concatenated table). */
  private embedGroups(tokens: tf.Tensor3D): tf.Tensor4D {
    const ids = this.numGroups === 1 ? tokens : tf.add(tokens, tf.tensor1d(this.offsets, "int32"));
    return this.lookup(this.tokEmb, ids) as tf.Tensor4D;
  }

  /** Σ_g E_g[s_g]: per-group embeddings [B, n, G, D] → [B, n, D]. */
  private sumGroups(e: tf.Tensor4D): tf.Tensor3D {
    const [B, n, G, D] = e.shape;
    return (G === 1 ? tf.reshape(e, [B, n, D]) : tf.sum(e, 2)) as tf.Tensor3D;
  }

  /** Input sequence [c, x(s₀), …, x(s_{n−1})]: classes [B], token embeddings [B, n, D] (or none) → [B, n+1, D]. */
  private inputSequence(classes: tf.Tensor1D, prefix: tf.Tensor3D | null): tf.Tensor3D {
    const B = classes.shape[0];
    const c = tf.reshape(this.lookup(this.clsEmb, classes), [B, 1, this.arch.dim]) as tf.Tensor3D;
    if (!prefix || prefix.shape[1] === 0) return c;
    return tf.concat([c, prefix], 1) as tf.Tensor3D;
  }

  /** Trunk blocks over x [B, n, D] (optionally with KV caches), collecting hidden states after the listed blocks. */
  private trunk(x: tf.Tensor3D, opts: { caches?: KVCache[]; dropout?: Dropout; hiddenAt?: number[] }): { h: tf.Tensor3D; hidden: tf.Tensor3D[] } {
    const want = opts.hiddenAt ?? [];
    const got = new Map<number, tf.Tensor3D>();
    let h = x;
    if (want.includes(0)) got.set(0, h);
    this.blocks.forEach((p, i) => {
      h = transformerBlock(h, p, this.blockConfig, {
        rope: this.rope,
        cache: opts.caches?.[i],
        dropout: opts.dropout && opts.dropout.rate > 0 ? { ...opts.dropout, seed: mixSeed(opts.dropout.seed, i) } : undefined,
      });
      if (want.includes(i + 1)) got.set(i + 1, h);
    });
    return { h, hidden: want.map((l) => got.get(l)!) };
  }

  /**
   * Logits of the first `slots` sub-tokens of each position: h [B, n, D] (trunk output), `slotEmb` [B, n, ≥ slots−1, D]
   * (E_g[s_g] of the position's own sub-tokens; only the first slots−1 are read) → [B, n, V_g] for g < slots.
   * single: RMSNorm(h)·W. factorized: the intra-position blocks over [h, E₀[s₀], …, E_{slots−2}[s_{slots−2}]].
   */
  private headLogits(h: tf.Tensor3D, slotEmb: tf.Tensor4D | null, slots: number, dropout?: Dropout): tf.Tensor3D[] {
    const [B, n, D] = h.shape;
    if (this.numGroups === 1) return [linear(rmsNorm(h, this.head.norm, this.blockConfig.normEps), this.head.out[0]) as tf.Tensor3D];
    let u = tf.reshape(h, [B * n, 1, D]) as tf.Tensor3D;
    if (slots > 1) {
      const e = slotEmb!.shape[2] === slots - 1 ? slotEmb! : tf.slice(slotEmb!, [0, 0, 0, 0], [B, n, slots - 1, D]);
      u = tf.concat([u, tf.reshape(e, [B * n, slots - 1, D])], 1) as tf.Tensor3D;
    }
    this.head.blocks.forEach((p, i) => {
      // u is [B·n, slots, D]: the shard's rows of the batch are rows [lo·n, hi·n) of the whole batch's
      const d = dropout && dropout.rate > 0 ? { rate: dropout.rate, seed: mixSeed(dropout.seed, "head", i), rows: scaleRows(dropout.rows, n) } : undefined;
      u = transformerBlock(u, p, this.headConfig, { dropout: d });
    });
    u = rmsNorm(u, this.head.norm, this.headConfig.normEps);
    const parts = slots === 1 ? [u] : tf.split(u, slots, 1);
    return parts.map((part, g) => linear(tf.reshape(part, [B, n, D]), this.head.out[g]) as tf.Tensor3D);
  }

  /**
   * Sampling, factorized head: logits [rows, V_g] of sub-token g from slot g's input [rows, 1, D] (the trunk output
   * for g = 0, else E_{g−1}[s_{g−1}]), the head blocks attending to the earlier slots through `caches` (one per head
   * block, appended to). Equals headLogits over slots 0 … g, computed once per slot instead of once per sub-token.
   */
  private headSlotLogits(slot: tf.Tensor3D, g: number, caches: KVCache[]): tf.Tensor2D {
    const [rows, , D] = slot.shape;
    let u = slot;
    this.head.blocks.forEach((p, i) => {
      u = transformerBlock(u, p, this.headConfig, { cache: caches[i] });
    });
    u = rmsNorm(u, this.head.norm, this.headConfig.normEps);
    const logits = linear(tf.reshape(u, [rows, 1, D]) as tf.Tensor3D, this.head.out[g]);
    return tf.reshape(logits, [rows, this.arch.groupSizes[g]]) as tf.Tensor2D;
  }

  /**
   * Teacher-forced forward: classes [B] int32 (values in [0, C], C = null), tokens [B, T, G] int32 →
   * logits per group [B, T, V_g] (position i predicts s_i from c, s_{<i} and s_{i,<g}). Inputs are validated.
   */
  forward(classes: tf.Tensor1D, tokens: tf.Tensor3D, opts: ForwardOptions = {}): ForwardResult {
    this.checkClasses(classes);
    this.checkTokens(tokens, classes.shape[0]);
    for (const l of opts.hiddenAt ?? []) {
      if (!Number.isInteger(l) || l < 0 || l > this.arch.depth) throw new Error(`llamagen: hiddenAt ${l} is not a block; expected 1 … ${this.arch.depth} (or 0, the embedding output)`);
    }
    return tf.tidy(() => {
      const [B, T, G] = tokens.shape;
      const D = this.arch.dim;
      const e = this.embedGroups(tokens); // [B, T, G, D]
      let x = this.inputSequence(classes, this.sumGroups(tf.slice(e, [0, 0, 0, 0], [B, T - 1, G, D]) as tf.Tensor4D));
      const tr = opts.train;
      if (tr && (tr.tokenDropout ?? 0) > 0) x = dropoutRows(x, tr.tokenDropout!, mixSeed(tr.seed, "token-dropout"), tr.rows);
      const drop = tr && (tr.residDropout ?? 0) > 0 ? { rate: tr.residDropout!, seed: mixSeed(tr.seed, "resid"), rows: tr.rows } : undefined;
      const { h, hidden } = this.trunk(x, { dropout: drop, hiddenAt: opts.hiddenAt });
      const logits = this.headLogits(h, G > 1 ? (tf.slice(e, [0, 0, 0, 0], [B, T, G - 1, D]) as tf.Tensor4D) : null, G, drop);
      return { logits, hidden };
    });
  }

  /**
   * Training loss: Σ_g mean CE(logits_g, s_g) over batch and positions, with label dropout (class → null with
   * probability `labelDropout`), token and residual dropout, all seeded by `seed`. Parts: ce0 … ce{G−1}. With `rows`
   * (a data-parallel shard) every dropout draw is that of those rows of the whole batch.
   */
  loss(
    classes: tf.Tensor1D,
    tokens: tf.Tensor3D,
    opts: { seed: number; labelDropout?: number; tokenDropout?: number; residDropout?: number; hiddenAt?: number[]; rows?: BatchRows } = { seed: 0 },
  ): { loss: tf.Scalar; parts: Record<string, tf.Scalar>; hidden: tf.Tensor3D[] } {
    const p = opts.labelDropout ?? 0;
    if (!(p >= 0 && p <= 1)) throw new Error(`llamagen: labelDropout=${p} must be in [0, 1]`);
    let cls = classes;
    if (p > 0) {
      const vals = classes.dataSync();
      checkClassValues(vals as Int32Array, this.arch.numClasses, true);
      const u = rngRows(new Rng(opts.seed, "label-dropout"), vals.length, opts.rows);
      const dropped = Int32Array.from(vals, (c, i) => (u[i] < p ? this.nullClass : c));
      cls = tf.tensor1d(dropped, "int32");
    }
    try {
      const train = { seed: opts.seed, tokenDropout: opts.tokenDropout, residDropout: opts.residDropout, rows: opts.rows };
      const { logits, hidden } = this.forward(cls, tokens, { train, hiddenAt: opts.hiddenAt });
      return tf.tidy(() => {
        const parts: Record<string, tf.Scalar> = {};
        const ces = logits.map((l, g) => {
          const V = l.shape[2];
          const targets = tf.reshape(tf.slice(tokens, [0, 0, g], [tokens.shape[0], tokens.shape[1], 1]), [-1]);
          const flat = tf.reshape(l, [-1, V]);
          const lse = tf.logSumExp(flat, 1);
          const picked = tf.sum(tf.mul(flat, oneHotF32(targets as tf.Tensor1D, V)), 1);
          const ce = tf.mean(tf.sub(lse, picked)) as tf.Scalar;
          parts[`ce${g}`] = ce;
          return ce;
        });
        tf.dispose(logits);
        const loss = (ces.length === 1 ? tf.clone(ces[0]) : tf.addN(ces)) as tf.Scalar;
        return { loss, parts, hidden }; // hidden comes from forward's tidy: not tracked here, owned by the caller's scope (no tf.keep, which would leak it out of a gradient tape)
      });
    } finally {
      if (cls !== classes) cls.dispose();
    }
  }

  // ---------------------------------------------------------------------------------------------- sampling

  /**
   * Samples tokens [B, T, G] for classes [B] (values in [0, C]; C = unconditional). Classifier-free guidance on
   * logits with the [cond; null] batch when cfgScale ≠ 1, temperature, top-k, top-p; one Rng per (position,
   * sub-token) derived from `seed`, so a seed fixes the tokens whatever the batch composition of the forward pass.
   * With the KV cache each position costs one trunk step; without, the whole prefix is recomputed (same tokens).
   */
  async generate(classes: Int32Array | number[], opts: GenerateOptions = {}): Promise<Int32Array> {
    const cls = Int32Array.from(classes);
    checkClassValues(cls, this.arch.numClasses, true);
    const so = checkSamplingOptions(opts);
    const B = cls.length;
    if (B === 0) throw new Error("llamagen.generate: no classes given (batch 0)");
    const guided = so.cfgScale !== 1 || opts.forceGuidance === true;
    const rows = guided ? 2 * B : B;
    const T = this.seqLen;
    const G = this.numGroups;
    const seed = opts.seed ?? 0;
    const useCache = opts.kvCache ?? true;
    const out = new Int32Array(B * T * G);
    const rowClasses = guided ? Int32Array.from([...cls, ...new Array(B).fill(this.nullClass)]) : cls;
    const clsT = tf.tensor1d(rowClasses, "int32");
    const caches = useCache ? this.blocks.map(() => new KVCache()) : undefined;
    const breathe = breather(); // a notebook kernel stays responsive (and interruptible) while it samples
    try {
      for (let k = 0; k < T; k++) {
        // trunk state at position k: [rows, 1, D]
        const h = tf.tidy(() => {
          if (useCache) {
            const x = k === 0 ? this.inputSequence(clsT, null) : this.sumGroups(this.embedGroups(this.tokenRows(out, B, k - 1, 1, guided)));
            return this.trunk(x, { caches }).h;
          }
          const x = this.inputSequence(clsT, k === 0 ? null : this.sumGroups(this.embedGroups(this.tokenRows(out, B, 0, k, guided))));
          const full = this.trunk(x, {}).h;
          return tf.slice(full, [0, k, 0], [rows, 1, this.arch.dim]) as tf.Tensor3D;
        });
        // the intra-position head runs slot by slot over its own KV caches (its attention is causal over the slots)
        const headCaches = G > 1 ? this.head.blocks.map(() => new KVCache()) : [];
        try {
          for (let g = 0; g < G; g++) {
            const lt = tf.tidy(() => {
              if (G === 1) return tf.reshape(this.headLogits(h, null, 1)[0], [rows, this.arch.groupSizes[0]]);
              const slot = g === 0 ? h : (tf.reshape(tf.slice(this.embedGroups(this.tokenRows(out, B, k, 1, guided)), [0, 0, g - 1, 0], [rows, 1, 1, this.arch.dim]), [rows, 1, this.arch.dim]) as tf.Tensor3D);
              return this.headSlotLogits(slot, g, headCaches);
            });
            const logits = (await lt.data()) as Float32Array;
            lt.dispose();
            const toks = sampleGuided(logits, this.arch.groupSizes[g], B, so, new Rng(seed, "ar-sample", k, g));
            for (let b = 0; b < B; b++) out[(b * T + k) * G + g] = toks[b];
          }
        } finally {
          h.dispose();
          headCaches.forEach((c) => c.dispose());
        }
        opts.onStep?.(k + 1, T);
        await breathe();
      }
    } finally {
      clsT.dispose();
      caches?.forEach((c) => c.dispose());
    }
    return out;
  }

  /** Tokens of positions [from, from+n) as an int32 tensor [rows, n, G] (duplicated for the null half when guided). */
  private tokenRows(all: Int32Array, B: number, from: number, n: number, guided: boolean): tf.Tensor3D {
    const T = this.seqLen;
    const G = this.numGroups;
    const rows = guided ? 2 * B : B;
    const v = new Int32Array(rows * n * G);
    for (let r = 0; r < rows; r++) {
      const b = r % B;
      v.set(all.subarray((b * T + from) * G, (b * T + from + n) * G), r * n * G);
    }
    return tf.tensor3d(v, [rows, n, G], "int32");
  }

  // ------------------------------------------------------------------------------------------------ costs

  /**
   * Forward multiply-adds per sequence (matmuls only: trunk blocks over T tokens, the intra-position head over T
   * sequences of G slots, the output projections; lookups and norms are free), and training FLOPs = 2·3·MACs.
   */
  flops(): { forwardMacs: number; forwardPerSample: number; trainPerSample: number } {
    return llamaGenFlops(this.arch);
  }

  /** Frees the weights and the RoPE table. */
  dispose(): void {
    this.rope.dispose();
    this.params.dispose();
  }
}

/**
 * One-hot rows as float32. (tfjs-wasm 4.22's OneHot with dtype "float32" writes the int32 bit patterns into the
 * float buffer — 1 becomes 1.4e−45 — so build it as int32 and cast.)
 */
function oneHotF32(ids: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(ids, depth), "float32") as tf.Tensor2D;
}

/** Throws unless every class is an integer in [0, C] ([0, C) without the null class). */
export function checkClassValues(classes: ArrayLike<number>, numClasses: number, allowNull = true): void {
  const hi = allowNull ? numClasses : numClasses - 1;
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i];
    if (!Number.isInteger(c) || c < 0 || c > hi) {
      throw new Error(`llamagen: class[${i}]=${c} is out of range; expected an integer in [0, ${numClasses})${allowNull ? ` or ${numClasses} (the null class)` : ""}`);
    }
  }
}
