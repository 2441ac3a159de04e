/**
 * DiT for flow matching on the tokenizer's latent grid (paper §6, LightningDiT-style, scaled down).
 *
 *   x [B, g, g, C] ─patch 1─▶ tokens [B, T = g², C] ─Linear─▶ h [B, T, D] (+ fixed 2-D sin-cos position, optional)
 *   c = t_emb(t) + y_emb(y)                                   [B, D]
 *       t_emb = Linear(D→D)(silu(Linear(F→D)(sinusoid_F(t))))  sinusoid of the raw t ∈ [0, 1] (not ×1000):
 *               [cos(t·f_i), sin(t·f_i)], f_i = 10000^(−i/(F/2)), i < F/2  (DiT's TimestepEmbedder)
 *       y_emb = table[y], table [K + 1, D]; index K is the null class (label dropout → classifier-free guidance)
 *   depth × transformerBlock (nn/transformer: adaLN-Zero, RMSNorm, QK-norm, SwiGLU, qkv bias, 2-D RoPE)
 *   final: [shift, scale] = Linear₀(silu(c));  v = Linear₀(modulate(RMSNorm(h), shift, scale))  → [B, g, g, C]
 *
 * Zero init: every block's adaLN modulation, the final adaLN and the final linear are zero, so at initialisation the
 * model outputs exactly 0 and every block is the identity. Other linears are Xavier-uniform (biases 0); the t-MLP
 * and the label table are N(0, 0.02), as in DiT.
 *
 * REPA (paper §7, experiments/repa): `forward(…, { hiddenAfter: ℓ })` also returns the hidden states after block ℓ (1-based; 0 = the embedding output).
 * Parameter names: "x_embed.w", "t_embed.fc1.w", "y_embed.table", "blocks.<i>.attn.qkv.w", "final.adaLN.w", "final.linear.w".
 */
import * as tf from "@tensorflow/tfjs";
import { drawRows, type BatchRows } from "../batch-rows";
import { ParamStore } from "../nn/params";
import { linear, type LinearParams } from "../nn/matmul";
import { linearParams } from "../nn/layers";
import { embedding, checkIds } from "../nn/embedding";
import { silu } from "../nn/activations";
import { rmsNorm } from "../nn/norm";
import { ropeTable, type RopeTable } from "../nn/rope";
import { modulate, adaLNParams, adaLNModulation } from "../nn/adaln";
import { swigluHidden } from "../nn/swiglu";
import { transformerParams, transformerBlock, type BlockConfig, type BlockParams } from "../nn/transformer";
import { blockMacs, linearMacs, forwardFlops, trainingFlops } from "../nn/flops";

/** Architecture of a DiT (everything that changes parameter shapes or the forward pass). */
export interface DiTArch {
  /** Side g of the latent grid (8 for 32×32 images at f = 4). Patch size is 1: T = g² tokens. */
  gridSize: number;
  /** Latent channels C (the tokenizer's d). */
  channels: number;
  /** Width D. Paper (DiT-L): 1024. */
  dim: number;
  /** Blocks. Paper: 24. */
  depth: number;
  /** Heads; the head dim D/heads must be a multiple of 4 (2-D RoPE). Paper: 16. */
  heads: number;
  /** SwiGLU hidden width; default ⌊2/3·4·D⌋ (paper: 2730 for D = 1024). */
  mlpHidden?: number;
  /** Classes K; label K is the null class. Fashion-MNIST: 10. */
  numClasses: number;
  /** Width F of the timestep sinusoid. Paper: 256. */
  freqDim: number;
  /** Add the fixed 2-D sin-cos position embedding to the tokens (the official DiT has it on top of RoPE). */
  absPosEmbed: boolean;
  /** RoPE base θ. Paper: 10 000. */
  ropeBase: number;
  /** RMSNorm ε (paper 1e-6). */
  normEps: number;
}

export const DEFAULT_DIT_ARCH: DiTArch = {
  gridSize: 8,
  channels: 4,
  dim: 128,
  depth: 4,
  heads: 4,
  numClasses: 10,
  freqDim: 256,
  absPosEmbed: true,
  ropeBase: 10000,
  normEps: 1e-6,
};

export interface DiTParams {
  xEmbed: LinearParams;
  tFc1: LinearParams;
  tFc2: LinearParams;
  yTable: tf.Tensor;
  blocks: BlockParams[];
  finalAdaLN: LinearParams;
  finalLinear: LinearParams;
}

export interface DiTForwardOptions {
  /** Also return the hidden states [B, T, D] after block ℓ (1-based, 1 … depth; 0 = the token embedding + position embedding), e.g. for REPA. */
  hiddenAfter?: number;
}

export interface DiTOutput {
  /** Predicted velocity [B, g, g, C]. */
  velocity: tf.Tensor4D;
  /** Hidden states after block `hiddenAfter` [B, T, D], when asked for. */
  hidden?: tf.Tensor3D;
}

/** Labels as accepted by the model: int32 tensor [B] or plain integers. */
export type DiTLabels = tf.Tensor1D | Int32Array | number[];
/** Times: tensor [B], plain numbers [B], or one number for the whole batch. */
export type DiTTimes = tf.Tensor1D | Float32Array | number[] | number;

function isPosInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/** Validates an architecture; every error names the bad value and what was expected. */
export function validateDiTArch(a: DiTArch): void {
  for (const k of ["gridSize", "channels", "dim", "depth", "heads", "numClasses", "freqDim"] as const) {
    if (!isPosInt(a[k])) throw new Error(`dit: ${k}=${a[k]} must be a positive integer`);
  }
  if (a.dim % a.heads !== 0) throw new Error(`dit: heads=${a.heads} must divide dim=${a.dim}`);
  const hd = a.dim / a.heads;
  if (hd % 4 !== 0) throw new Error(`dit: head dim dim/heads = ${hd} must be a multiple of 4 (2-D RoPE splits its pairs between rows and columns)`);
  if (a.freqDim % 2 !== 0) throw new Error(`dit: freqDim=${a.freqDim} must be even (cos and sin halves)`);
  if (a.absPosEmbed && a.dim % 4 !== 0) throw new Error(`dit: dim=${a.dim} must be a multiple of 4 for the 2-D sin-cos position embedding`);
  if (a.mlpHidden !== undefined && !isPosInt(a.mlpHidden)) throw new Error(`dit: mlpHidden=${a.mlpHidden} must be a positive integer`);
  if (!(a.ropeBase > 1)) throw new Error(`dit: ropeBase=${a.ropeBase} must be > 1`);
  if (!(a.normEps > 0)) throw new Error(`dit: normEps=${a.normEps} must be > 0`);
}

/** The shared block's configuration for a DiT. */
export function ditBlockConfig(a: DiTArch): BlockConfig {
  return {
    dim: a.dim,
    heads: a.heads,
    mlp: "swiglu",
    mlpHidden: a.mlpHidden ?? swigluHidden(a.dim),
    norm: "rms",
    normEps: a.normEps,
    bias: true,
    qkvBias: true,
    adaLN: true,
    qkNorm: true,
    init: "xavier",
  };
}

/** Forward multiply-adds per sample and the derived FLOP counts (2·MAC; training = 3 × forward). */
export function ditFlops(a: DiTArch): { forwardMacs: number; forwardPerSample: number; trainPerSample: number } {
  validateDiTArch(a);
  const T = a.gridSize * a.gridSize;
  const D = a.dim;
  const macs =
    linearMacs(T, a.channels, D) + // x embed
    linearMacs(1, a.freqDim, D) + linearMacs(1, D, D) + // t MLP
    a.depth * blockMacs({ ...ditBlockConfig(a), condDim: D }, T) +
    linearMacs(1, D, 2 * D) + // final adaLN
    linearMacs(T, D, a.channels); // final linear
  return { forwardMacs: macs, forwardPerSample: forwardFlops(macs), trainPerSample: trainingFlops(macs) };
}

/** Sinusoidal embedding of times t [B] → [B, F]: [cos(t·f_i) | sin(t·f_i)], f_i = maxPeriod^(−i/(F/2)). */
export function timestepEmbedding(t: tf.Tensor1D, freqDim: number, maxPeriod = 10000): tf.Tensor2D {
  if (freqDim % 2 !== 0) throw new Error(`timestepEmbedding: freqDim=${freqDim} must be even`);
  const half = freqDim / 2;
  const f = new Float32Array(half);
  for (let i = 0; i < half; i++) f[i] = Math.exp((-Math.log(maxPeriod) * i) / half);
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(t, [-1, 1]), tf.tensor2d(f, [1, half]));
    return tf.concat([tf.cos(args), tf.sin(args)], 1) as tf.Tensor2D;
  });
}

/**
 * Fixed 2-D sin-cos position embedding [g·g, D] (MAE/DiT): the first D/2 channels encode the column index, the last
 * D/2 the row index, each as [sin(p·ω_i) | cos(p·ω_i)] with ω_i = 10000^(−i/(D/4)), i < D/4. Raster order.
 */
export function sincosPosEmbed2d(dim: number, grid: number): Float32Array {
  if (dim % 4 !== 0) throw new Error(`sincosPosEmbed2d: dim=${dim} must be a multiple of 4`);
  const q = dim / 4;
  const out = new Float32Array(grid * grid * dim);
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const o = (r * grid + c) * dim;
      for (let i = 0; i < q; i++) {
        const w = Math.pow(10000, -i / q);
        out[o + i] = Math.sin(c * w);
        out[o + q + i] = Math.cos(c * w);
        out[o + 2 * q + i] = Math.sin(r * w);
        out[o + 3 * q + i] = Math.cos(r * w);
      }
    }
  }
  return out;
}

/** Class-conditional DiT velocity model. Owns its RoPE table and position embedding (call dispose()). */
export class DiT {
  readonly arch: DiTArch;
  readonly params: ParamStore;
  readonly blockConfig: BlockConfig;
  /** Tokens per sample, g². */
  readonly tokens: number;
  /** The null-class label (= numClasses). */
  readonly nullClass: number;
  private readonly p: DiTParams;
  private readonly rope: RopeTable;
  private readonly pos: tf.Tensor2D | null;

  /**
   * @param arch   architecture (validated)
   * @param params a ParamStore to create the weights in, or a seed for a new one
   */
  constructor(arch: DiTArch, params: ParamStore | number = 0) {
    validateDiTArch(arch);
    this.arch = { ...arch };
    this.params = typeof params === "number" ? new ParamStore(params) : params;
    this.blockConfig = ditBlockConfig(this.arch);
    this.tokens = arch.gridSize * arch.gridSize;
    this.nullClass = arch.numClasses;
    const s = this.params;
    const D = arch.dim;
    const small = { normal: 0.02 } as const;
    this.p = {
      xEmbed: linearParams(s.scope("x_embed"), arch.channels, D, { init: "xavier" }),
      tFc1: linearParams(s.scope("t_embed.fc1"), arch.freqDim, D, { init: small }),
      tFc2: linearParams(s.scope("t_embed.fc2"), D, D, { init: small }),
      yTable: s.add("y_embed.table", [arch.numClasses + 1, D], small),
      blocks: transformerParams(s.scope("blocks"), this.blockConfig, arch.depth),
      finalAdaLN: adaLNParams(s.scope("final.adaLN"), D, D, 2),
      finalLinear: { w: s.add("final.linear.w", [D, arch.channels], "zeros"), b: s.add("final.linear.b", [arch.channels], "zeros") },
    };
    this.rope = ropeTable({ gridH: arch.gridSize, gridW: arch.gridSize, headDim: D / arch.heads, base: arch.ropeBase });
    tf.keep(this.rope.cos), tf.keep(this.rope.sin), tf.keep(this.rope.rot);
    this.pos = arch.absPosEmbed ? tf.keep(tf.tensor2d(sincosPosEmbed2d(D, arch.gridSize), [this.tokens, D])) : null;
  }

  /** Latent shape of one sample: [g, g, C]. */
  get latentShape(): [number, number, number] {
    return [this.arch.gridSize, this.arch.gridSize, this.arch.channels];
  }

  /** FLOPs per sample (see ditFlops). */
  flops(): ReturnType<typeof ditFlops> {
    return ditFlops(this.arch);
  }

  // ------------------------------------------------------------------------------------------------ input checks

  /** Throws a clear error unless x is float32 [B, g, g, C]. */
  checkLatents(x: tf.Tensor, what = "x"): asserts x is tf.Tensor4D {
    const [g, , C] = this.latentShape;
    if (x.rank !== 4 || x.shape[1] !== g || x.shape[2] !== g || x.shape[3] !== C) {
      throw new Error(`dit: ${what} has shape [${x.shape}]; expected [batch, ${g}, ${g}, ${C}] (latents, channels last)`);
    }
    if (x.dtype !== "float32") throw new Error(`dit: ${what} has dtype ${x.dtype}; expected float32`);
  }

  /** Labels → int32 [B], checking the batch size and the range [0, K] (K = the null class). */
  labelTensor(y: DiTLabels, batch: number): tf.Tensor1D {
    const n = y instanceof tf.Tensor ? y.size : y.length;
    if (y instanceof tf.Tensor && (y.rank !== 1 || y.dtype !== "int32")) throw new Error(`dit: labels must be an int32 tensor [B], got ${y.dtype} [${y.shape}]`);
    if (n !== batch) throw new Error(`dit: ${n} labels for a batch of ${batch}`);
    checkIds(y, this.arch.numClasses + 1, `dit: labels (classes 0…${this.arch.numClasses - 1}, null class ${this.nullClass})`);
    return y instanceof tf.Tensor ? y.clone() : tf.tensor1d(Int32Array.from(y), "int32");
  }

  /** DiTTimes → float32 [B]. Plain numbers must lie in [0, 1]. */
  timeTensor(t: DiTTimes, batch: number): tf.Tensor1D {
    if (typeof t === "number") {
      if (!(t >= 0 && t <= 1)) throw new Error(`dit: t=${t} must lie in [0, 1] (0 = noise, 1 = data)`);
      return tf.fill([batch], t) as tf.Tensor1D;
    }
    if (t instanceof tf.Tensor) {
      if (t.rank !== 1 || t.shape[0] !== batch) throw new Error(`dit: t has shape [${t.shape}]; expected [${batch}] (one time per sample)`);
      return t.dtype === "float32" ? t.clone() : (tf.cast(t, "float32") as tf.Tensor1D);
    }
    if (t.length !== batch) throw new Error(`dit: ${t.length} times for a batch of ${batch}`);
    for (let i = 0; i < t.length; i++) if (!(t[i] >= 0 && t[i] <= 1)) throw new Error(`dit: t[${i}]=${t[i]} must lie in [0, 1]`);
    return tf.tensor1d(Float32Array.from(t));
  }

  // ----------------------------------------------------------------------------------------------------- forward

  /** Conditioning c = t_emb(t) + y_emb(y): [B, D]. */
  conditioning(t: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const te = linear(silu(linear(timestepEmbedding(t, this.arch.freqDim), this.p.tFc1)), this.p.tFc2);
      return tf.add(te, embedding(this.p.yTable, y)) as tf.Tensor2D;
    });
  }

  /** Velocity v̂(x_t, t, y) [B, g, g, C] (and optionally the hidden states after block ℓ). Differentiable. */
  forward(x: tf.Tensor, t: DiTTimes, y: DiTLabels, opts: DiTForwardOptions = {}): DiTOutput {
    this.checkLatents(x);
    const B = x.shape[0];
    const { depth, dim: D, channels: C, gridSize: g } = this.arch;
    const l = opts.hiddenAfter;
    if (l !== undefined && !(Number.isInteger(l) && l >= 0 && l <= depth)) throw new Error(`dit: hiddenAfter=${l} must be a block number in 1…${depth} (or 0, the embedding output)`);
    return tf.tidy(() => {
      const tt = this.timeTensor(t, B);
      const yy = this.labelTensor(y, B);
      const c = this.conditioning(tt, yy);
      let h = linear(tf.reshape(x, [B, this.tokens, C]), this.p.xEmbed) as tf.Tensor3D;
      if (this.pos) h = tf.add(h, this.pos);
      let hidden: tf.Tensor3D | undefined = l === 0 ? h : undefined;
      this.p.blocks.forEach((bp, i) => {
        h = transformerBlock(h, bp, this.blockConfig, { rope: this.rope, cond: c });
        if (l === i + 1) hidden = h;
      });
      const [shift, scale] = adaLNModulation(c, this.p.finalAdaLN, 2);
      const out = linear(modulate(rmsNorm(h, null, this.arch.normEps), shift, scale), this.p.finalLinear);
      const velocity = tf.reshape(out, [B, g, g, C]) as tf.Tensor4D;
      return hidden ? { velocity, hidden } : { velocity };
    });
  }

  /** Velocity only (the flow/ sampler's model interface). */
  velocity(x: tf.Tensor, t: DiTTimes, y: DiTLabels): tf.Tensor4D {
    return this.forward(x, t, y).velocity;
  }

  /**
   * Label dropout for classifier-free guidance training: each label becomes the null class with probability
   * `rate`, from `seed` (same seed ⇒ same mask; with `rows`, the mask of those rows of the whole batch's).
   */
  dropLabels(y: tf.Tensor1D, rate: number, seed: number, rows?: BatchRows): tf.Tensor1D {
    if (!(rate >= 0 && rate <= 1)) throw new Error(`dit: label dropout rate=${rate} must lie in [0, 1]`);
    if (rate === 0) return y.clone();
    return tf.tidy(() => {
      const drop = tf.less(drawRows(y.shape, rows, (s) => tf.randomUniform(s, 0, 1, "float32", seed)), rate);
      return tf.where(drop, tf.fill(y.shape, this.nullClass, "int32"), y) as tf.Tensor1D;
    });
  }

  /** Frees the weights and the constant tables. */
  dispose(): void {
    this.params.dispose();
    this.rope.dispose();
    this.pos?.dispose();
  }
}
