/**
 * The FSQ-VAE image tokenizer (paper §4, scaled down): a convolutional encoder/decoder in the LDM style (ResNet blocks
 * GN → SiLU → conv3×3 → GN → SiLU → conv3×3 plus a skip, GroupNorm, SiLU, no attention) with an FSQ / iFSQ bottleneck.
 *
 *   x [B, S, S, C] ──encoder──▶ z [B, S/f, S/f, d] ──FSQ──▶ ẑ ∈ {k/h}^d, idx ∈ [0, ∏L)  ──decoder──▶ x̂ [B, S, S, C]
 *
 * With `channels = [c0, c1, …, c_{n−1}]` the encoder has n resolution levels and downsamples n−1 times, so
 * f = 2^(n−1) (f = 4 for three widths: 32×32×1 → 8×8×d).
 *
 * Encoder (paper `Encoder`): conv_in 3×3 C → c0; per level i: `resBlocks` ResnetBlocks to width c_i, then (except the
 * last level) a Downsample: a 3×3 stride-2 conv that pads one zero row/column at the bottom/right and none at the
 * top/left. That is exactly TF's "same" padding for a 3×3 stride-2 conv on an even input, so the paper's
 * `F.pad(x, (0,1,0,1))` + valid conv and our `pad: [0, 1, 0, 1]` give the same map. Mid: `midBlocks` ResnetBlocks,
 * then GN → SiLU → conv_out 3×3 → 2d channels (the paper's `double_z`), then quant_conv 1×1: 2d → d.
 *
 * Decoder (paper `Decoder`): post_quant_conv 1×1 d → d, conv_in 3×3 d → c_{n−1}, mid `midBlocks` ResnetBlocks; per
 * level i = n−1 … 0: `resBlocks + 1` ResnetBlocks to width c_i, then (except level 0) nearest ×2 + conv 3×3; finally
 * GN → SiLU → conv_out 3×3 c0 → C. No final tanh (the paper has none either; outputs are about [−1, 1]).
 *
 * All ops come from `nn/` (wasm has no filter gradient for tf.conv2d). Parameters live in a `ParamStore`, named
 * "enc.conv_in.w", "enc.down0.block0.conv1.w", "dec.up1.upsample.w", … — stable names for checkpoints and EMA.
 */
import * as tf from "@tensorflow/tfjs";
import { ParamStore, ParamScope } from "../nn/params";
import { conv2dLayer, upsampleNearest2x } from "../nn/conv";
import { groupNorm } from "../nn/norm";
import { silu } from "../nn/activations";
import { convParams, normParams } from "../nn/layers";
import { convMacs as nnConvMacs, forwardFlops, trainingFlops } from "../nn/flops";
import { FSQ } from "../quant/fsq";
import type { Bound } from "../quant/bounds";

/** Architecture of a tokenizer (everything that changes the parameter shapes or the forward pass). */
export interface TokenizerArch {
  /** Input side S (images are S×S). */
  imageSize: number;
  /** Input channels C (1 for Fashion-MNIST). */
  inChannels: number;
  /** Width per resolution level; f = 2^(channels.length − 1). Paper: [128, 128, 256, 512, 512]. */
  channels: number[];
  /** ResnetBlocks per encoder level (the decoder has one more per level, as in the paper). Paper: 2. */
  resBlocks: number;
  /** ResnetBlocks in the middle of the encoder and of the decoder. Paper: 2. */
  midBlocks: number;
  /** Latent channels d. Paper: 4. */
  latentDim: number;
  /** FSQ levels, one per latent channel (length d). Paper: [17, 17, 17, 17] (4 bits). */
  levels: number[];
  /** The FSQ bound: { kind: "tanh" } = original FSQ, { kind: "ifsq", alpha } = 2σ(α z) − 1 (paper α = 1.6);
   *  "tanh" / "ifsq" = default parameters. */
  bound: Bound | Bound["kind"];
  /** GroupNorm groups (paper 32); must divide every width. */
  normGroups: number;
  /** GroupNorm epsilon (paper 1e-6). */
  normEps: number;
  /**
   * Scale of quant_conv's initial weights, the layer that makes z (default 1: kaiming U(±√(1/fanIn)), which gives z a
   * std of about 0.2 here). Only the initial values change (the same random draw times the gain).
   */
  latentInitGain?: number;
}

export const DEFAULT_TOKENIZER_ARCH: TokenizerArch = {
  imageSize: 32,
  inChannels: 1,
  channels: [32, 64, 64],
  resBlocks: 1,
  midBlocks: 1,
  latentDim: 4,
  levels: [17, 17, 17, 17],
  bound: { kind: "ifsq", alpha: 1.6 },
  normGroups: 8,
  normEps: 1e-6,
};

/** What `encode` returns. The caller owns (and disposes) every tensor. */
export interface TokenizerEncoding {
  /** Quantized latent ẑ [B, g, g, d], values k/h_j ∈ [−1, 1] (what diffusion models consume). */
  codes: tf.Tensor4D;
  /** One int32 index per position [B, g, g], mixed radix with the first channel least significant (what AR consumes). */
  indices: tf.Tensor3D;
  /** Encoder output z before the bound [B, g, g, d]. */
  preQuant: tf.Tensor4D;
  /**
   * Bounded activation before rounding on the code scale: y_j = bound_j(z_j) / h_j with h_j = ⌊L_j/2⌋ [B, g, g, d]
   * (so codes = round(y·h)/h; ≈ [−1, 1]). Its per-channel histogram is the paper's "bin utilisation" picture.
   */
  bounded: tf.Tensor4D;
}

/** A differentiable perceptual distance hook, e.g. a frozen feature network: (x, x̂) → mean distance (scalar). */
export type TokenizerPerceptualLoss = (x: tf.Tensor4D, xHat: tf.Tensor4D) => tf.Scalar;

/** Options of `Tokenizer.loss`. */
export interface TokenizerLossOptions {
  /** Optional perceptual term added with weight `perceptualWeight` (paper: LPIPS-VGG with weight 1). */
  perceptual?: TokenizerPerceptualLoss;
  perceptualWeight?: number;
}

interface ConvP {
  w: tf.Variable;
  b?: tf.Variable;
}
interface NormP {
  gamma: tf.Variable;
  beta: tf.Variable;
}
interface ResBlockP {
  norm1: NormP;
  conv1: ConvP;
  norm2: NormP;
  conv2: ConvP;
  skip?: ConvP;
}
interface EncoderP {
  convIn: ConvP;
  levels: { blocks: ResBlockP[]; down?: ConvP }[];
  mid: ResBlockP[];
  normOut: NormP;
  convOut: ConvP;
  quantConv: ConvP;
}
interface DecoderP {
  postQuantConv: ConvP;
  convIn: ConvP;
  mid: ResBlockP[];
  /** Index i = resolution level (0 = full resolution); run from the deepest level up. */
  levels: { blocks: ResBlockP[]; up?: ConvP }[];
  normOut: NormP;
  convOut: ConvP;
}

function isPosInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/** Validates an architecture; every error names the bad value and what was expected. */
export function validateTokenizerArch(a: TokenizerArch): void {
  if (a.latentInitGain !== undefined && !(Number.isFinite(a.latentInitGain) && a.latentInitGain > 0)) throw new Error(`tokenizer: latentInitGain=${a.latentInitGain} must be a positive number`);
  if (!isPosInt(a.imageSize)) throw new Error(`tokenizer: imageSize=${a.imageSize} must be a positive integer`);
  if (!isPosInt(a.inChannels)) throw new Error(`tokenizer: inChannels=${a.inChannels} must be a positive integer`);
  if (!Array.isArray(a.channels) || a.channels.length < 1)
    throw new Error(`tokenizer: channels=${JSON.stringify(a.channels)} must be a non-empty list of widths`);
  a.channels.forEach((c, i) => {
    if (!isPosInt(c)) throw new Error(`tokenizer: channels[${i}]=${c} must be a positive integer`);
    const g = Math.min(a.normGroups, c);
    if (c % g !== 0) throw new Error(`tokenizer: channels[${i}]=${c} is not divisible by normGroups=${a.normGroups} (GroupNorm needs equal groups)`);
  });
  const f = 2 ** (a.channels.length - 1);
  if (a.imageSize % f !== 0)
    throw new Error(`tokenizer: imageSize=${a.imageSize} is not divisible by the downsampling factor f=${f} (from ${a.channels.length} widths)`);
  if (!Number.isInteger(a.resBlocks) || a.resBlocks < 0) throw new Error(`tokenizer: resBlocks=${a.resBlocks} must be an integer ≥ 0`);
  if (!Number.isInteger(a.midBlocks) || a.midBlocks < 0) throw new Error(`tokenizer: midBlocks=${a.midBlocks} must be an integer ≥ 0`);
  if (!isPosInt(a.latentDim)) throw new Error(`tokenizer: latentDim=${a.latentDim} must be a positive integer`);
  if (!Array.isArray(a.levels) || a.levels.length !== a.latentDim)
    throw new Error(`tokenizer: levels=${JSON.stringify(a.levels)} must have one level per latent channel (latentDim=${a.latentDim})`);
  if (!isPosInt(a.normGroups)) throw new Error(`tokenizer: normGroups=${a.normGroups} must be a positive integer`);
  if (!(a.normEps > 0)) throw new Error(`tokenizer: normEps=${a.normEps} must be > 0`);
}

/** Multiply-accumulate count of a k×k conv producing an [ho, wo, cout] map from cin channels, per image. */
function convMacs(k: number, cin: number, cout: number, ho: number, wo: number): number {
  return nnConvMacs(ho, wo, k, cin, cout);
}

/**
 * Forward FLOPs per image (2·MAC of every conv; norms, activations, rounding not counted), split by part.
 * Training per image ≈ 3× forward (`trainPerImage`), the convention of tfjs-performance.md §3.
 */
export function tokenizerFlops(arch: TokenizerArch): { encoder: number; decoder: number; forwardPerImage: number; trainPerImage: number } {
  validateTokenizerArch(arch);
  const ch = arch.channels;
  const n = ch.length;
  const d = arch.latentDim;
  let enc = 0;
  let dec = 0;
  const block = (cin: number, cout: number, s: number) =>
    convMacs(3, cin, cout, s, s) + convMacs(3, cout, cout, s, s) + (cin !== cout ? convMacs(1, cin, cout, s, s) : 0);
  let s = arch.imageSize;
  enc += convMacs(3, arch.inChannels, ch[0], s, s);
  let c = ch[0];
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < arch.resBlocks; b++) {
      enc += block(c, ch[i], s);
      c = ch[i];
    }
    if (i < n - 1) {
      s /= 2;
      enc += convMacs(3, c, c, s, s);
    }
  }
  for (let b = 0; b < arch.midBlocks; b++) enc += block(c, c, s);
  enc += convMacs(3, c, 2 * d, s, s) + convMacs(1, 2 * d, d, s, s);

  dec += convMacs(1, d, d, s, s) + convMacs(3, d, ch[n - 1], s, s);
  c = ch[n - 1];
  for (let b = 0; b < arch.midBlocks; b++) dec += block(c, c, s);
  for (let i = n - 1; i >= 0; i--) {
    for (let b = 0; b < arch.resBlocks + 1; b++) {
      dec += block(c, ch[i], s);
      c = ch[i];
    }
    if (i > 0) {
      s *= 2;
      dec += convMacs(3, c, c, s, s);
    }
  }
  dec += convMacs(3, c, arch.inChannels, s, s);
  return { encoder: forwardFlops(enc), decoder: forwardFlops(dec), forwardPerImage: forwardFlops(enc + dec), trainPerImage: trainingFlops(enc + dec) };
}

/** The FSQ-VAE tokenizer. Owns its FSQ; its weights live in `params` (shared with optimizer, EMA, checkpoints). */
export class Tokenizer {
  readonly arch: TokenizerArch;
  readonly params: ParamStore;
  readonly fsq: FSQ;
  /** Downsampling factor f. */
  readonly factor: number;
  /** Side of the latent grid, S / f. */
  readonly gridSize: number;
  private readonly enc: EncoderP;
  private readonly dec: DecoderP;

  /**
   * @param arch   architecture (validated)
   * @param params a ParamStore to create the weights in, or a seed for a new one
   */
  constructor(arch: TokenizerArch, params: ParamStore | number = 0) {
    validateTokenizerArch(arch);
    this.arch = { ...arch, channels: [...arch.channels], levels: [...arch.levels] };
    this.fsq = new FSQ({ levels: this.arch.levels, bound: this.arch.bound });
    this.params = typeof params === "number" ? new ParamStore(params) : params;
    this.factor = 2 ** (arch.channels.length - 1);
    this.gridSize = arch.imageSize / this.factor;
    this.enc = this.buildEncoder(this.params.scope("enc"));
    this.dec = this.buildDecoder(this.params.scope("dec"));
  }

  /** Latent shape of one image: [g, g, d]. */
  get latentShape(): [number, number, number] {
    return [this.gridSize, this.gridSize, this.arch.latentDim];
  }

  /** Bits per image: g²·Σ_j log₂ L_j. */
  get bitsPerImage(): number {
    return this.gridSize * this.gridSize * this.arch.levels.reduce((s, l) => s + Math.log2(l), 0);
  }

  /** Forward FLOPs per image, encoder and decoder (see `tokenizerFlops`). */
  flops(): ReturnType<typeof tokenizerFlops> {
    return tokenizerFlops(this.arch);
  }

  // ---------------------------------------------------------------------------------------------------- params

  private conv(scope: ParamScope, k: number, cin: number, cout: number): ConvP {
    return convParams(scope, k, cin, cout, { bias: true }) as ConvP;
  }

  private norm(scope: ParamScope, c: number): NormP {
    return normParams(scope, c) as NormP;
  }

  private resBlock(scope: ParamScope, cin: number, cout: number): ResBlockP {
    return {
      norm1: this.norm(scope.scope("norm1"), cin),
      conv1: this.conv(scope.scope("conv1"), 3, cin, cout),
      norm2: this.norm(scope.scope("norm2"), cout),
      conv2: this.conv(scope.scope("conv2"), 3, cout, cout),
      skip: cin !== cout ? this.conv(scope.scope("skip"), 1, cin, cout) : undefined,
    };
  }

  private buildEncoder(s: ParamScope): EncoderP {
    const { channels: ch, inChannels, resBlocks, midBlocks, latentDim: d } = this.arch;
    const convIn = this.conv(s.scope("conv_in"), 3, inChannels, ch[0]);
    let c = ch[0];
    const levels: EncoderP["levels"] = [];
    for (let i = 0; i < ch.length; i++) {
      const ls = s.scope(`down${i}`);
      const blocks: ResBlockP[] = [];
      for (let b = 0; b < resBlocks; b++) {
        blocks.push(this.resBlock(ls.scope(`block${b}`), c, ch[i]));
        c = ch[i];
      }
      levels.push({ blocks, down: i < ch.length - 1 ? this.conv(ls.scope("downsample"), 3, c, c) : undefined });
    }
    const mid: ResBlockP[] = [];
    for (let b = 0; b < midBlocks; b++) mid.push(this.resBlock(s.scope(`mid.block${b}`), c, c));
    return {
      convIn,
      levels,
      mid,
      normOut: this.norm(s.scope("norm_out"), c),
      convOut: this.conv(s.scope("conv_out"), 3, c, 2 * d),
      quantConv: this.arch.latentInitGain === undefined || this.arch.latentInitGain === 1
        ? this.conv(s.scope("quant_conv"), 1, 2 * d, d)
        : (convParams(s.scope("quant_conv"), 1, 2 * d, d, { bias: true, init: { uniform: this.arch.latentInitGain * Math.sqrt(1 / (2 * d)) } }) as ConvP),
    };
  }

  private buildDecoder(s: ParamScope): DecoderP {
    const { channels: ch, inChannels, resBlocks, midBlocks, latentDim: d } = this.arch;
    const n = ch.length;
    const postQuantConv = this.conv(s.scope("post_quant_conv"), 1, d, d);
    const convIn = this.conv(s.scope("conv_in"), 3, d, ch[n - 1]);
    let c = ch[n - 1];
    const mid: ResBlockP[] = [];
    for (let b = 0; b < midBlocks; b++) mid.push(this.resBlock(s.scope(`mid.block${b}`), c, c));
    const levels: DecoderP["levels"] = new Array(n);
    for (let i = n - 1; i >= 0; i--) {
      const ls = s.scope(`up${i}`);
      const blocks: ResBlockP[] = [];
      for (let b = 0; b < resBlocks + 1; b++) {
        blocks.push(this.resBlock(ls.scope(`block${b}`), c, ch[i]));
        c = ch[i];
      }
      levels[i] = { blocks, up: i > 0 ? this.conv(ls.scope("upsample"), 3, c, c) : undefined };
    }
    return {
      postQuantConv,
      convIn,
      mid,
      levels,
      normOut: this.norm(s.scope("norm_out"), c),
      convOut: this.conv(s.scope("conv_out"), 3, c, inChannels),
    };
  }

  // --------------------------------------------------------------------------------------------------- forward

  private gn(x: tf.Tensor4D, p: NormP): tf.Tensor4D {
    const c = x.shape[3];
    return groupNorm(x, p, Math.min(this.arch.normGroups, c), this.arch.normEps) as tf.Tensor4D;
  }

  private resBlockForward(x: tf.Tensor4D, p: ResBlockP): tf.Tensor4D {
    let h = conv2dLayer(silu(this.gn(x, p.norm1)), p.conv1, { pad: "same" }) as tf.Tensor4D;
    h = conv2dLayer(silu(this.gn(h, p.norm2)), p.conv2, { pad: "same" }) as tf.Tensor4D;
    const skip = p.skip ? (conv2dLayer(x, p.skip, { pad: "same" }) as tf.Tensor4D) : x;
    return tf.add(skip, h);
  }

  /** Throws a clear error unless x is [B, S, S, C] float32 with this tokenizer's S and C. */
  checkImages(x: tf.Tensor, what = "x"): asserts x is tf.Tensor4D {
    const { imageSize: s, inChannels: c } = this.arch;
    if (x.rank !== 4 || x.shape[1] !== s || x.shape[2] !== s || x.shape[3] !== c)
      throw new Error(`tokenizer: ${what} has shape [${x.shape}]; expected [batch, ${s}, ${s}, ${c}] (NHWC images)`);
    if (x.dtype !== "float32") throw new Error(`tokenizer: ${what} has dtype ${x.dtype}; expected float32`);
  }

  /** Throws a clear error unless c is [B, g, g, d]. */
  private checkLatent(c: tf.Tensor, what: string): asserts c is tf.Tensor4D {
    const [g, , d] = this.latentShape;
    if (c.rank !== 4 || c.shape[1] !== g || c.shape[2] !== g || c.shape[3] !== d)
      throw new Error(`tokenizer: ${what} has shape [${c.shape}]; expected [batch, ${g}, ${g}, ${d}]`);
  }

  /** Encoder: images [B, S, S, C] → pre-quantization latent z [B, g, g, d]. Differentiable. */
  encoderForward(x: tf.Tensor4D): tf.Tensor4D {
    this.checkImages(x);
    return tf.tidy(() => {
      const p = this.enc;
      let h = conv2dLayer(x, p.convIn, { pad: "same" }) as tf.Tensor4D;
      for (const lvl of p.levels) {
        for (const b of lvl.blocks) h = this.resBlockForward(h, b);
        if (lvl.down) h = conv2dLayer(h, lvl.down, { stride: 2, pad: [0, 1, 0, 1] }) as tf.Tensor4D;
      }
      for (const b of p.mid) h = this.resBlockForward(h, b);
      h = conv2dLayer(silu(this.gn(h, p.normOut)), p.convOut, { pad: "same" }) as tf.Tensor4D;
      return conv2dLayer(h, p.quantConv, { pad: "same" }) as tf.Tensor4D;
    });
  }

  /** Decoder: codes (or any continuous latent) [B, g, g, d] → images [B, S, S, C]. Differentiable. */
  decode(codes: tf.Tensor4D): tf.Tensor4D {
    this.checkLatent(codes, "codes");
    return tf.tidy(() => {
      const p = this.dec;
      let h = conv2dLayer(codes, p.postQuantConv, { pad: "same" }) as tf.Tensor4D;
      h = conv2dLayer(h, p.convIn, { pad: "same" }) as tf.Tensor4D;
      for (const b of p.mid) h = this.resBlockForward(h, b);
      for (let i = p.levels.length - 1; i >= 0; i--) {
        const lvl = p.levels[i];
        for (const b of lvl.blocks) h = this.resBlockForward(h, b);
        if (lvl.up) h = conv2dLayer(upsampleNearest2x(h) as tf.Tensor4D, lvl.up, { pad: "same" }) as tf.Tensor4D;
      }
      return conv2dLayer(silu(this.gn(h, p.normOut)), p.convOut, { pad: "same" }) as tf.Tensor4D;
    });
  }

  /** Images → quantized codes ẑ [B, g, g, d] (straight-through: differentiable w.r.t. the encoder). */
  quantizedLatent(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.fsq.quantize(this.encoderForward(x)) as tf.Tensor4D);
  }

  /** Full encode: codes, indices, pre-quantization latent and bounded activations (see `TokenizerEncoding`). */
  encode(x: tf.Tensor4D): TokenizerEncoding {
    return tf.tidy(() => {
      const preQuant = this.encoderForward(x);
      const codes = this.fsq.quantize(preQuant) as tf.Tensor4D;
      const indices = this.fsq.codesToIndices(codes) as tf.Tensor3D;
      const bounded = tf.div(this.fsq.applyBound(preQuant), tf.tensor1d([...this.fsq.halfWidths])) as tf.Tensor4D;
      return { codes, indices, preQuant, bounded };
    });
  }

  /** Indices [B, g, g] int32 → images, via the exact codes of each index. */
  decodeIndices(indices: tf.Tensor3D): tf.Tensor4D {
    const g = this.gridSize;
    if (indices.rank !== 3 || indices.shape[1] !== g || indices.shape[2] !== g)
      throw new Error(`tokenizer: indices have shape [${indices.shape}]; expected [batch, ${g}, ${g}]`);
    return tf.tidy(() => this.decode(this.fsq.indicesToCodes(indices) as tf.Tensor4D));
  }

  /** x → x̂ through the quantizer (the training path). */
  reconstruct(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decode(this.quantizedLatent(x)));
  }

  /**
   * Training loss: L = mean|x − x̂| (+ w · perceptual(x, x̂) when a perceptual hook is given). Paper §4 also adds
   * LPIPS (weight 1) and a late-starting GAN term; neither is used at this scale by default.
   */
  loss(x: tf.Tensor4D, opts: TokenizerLossOptions = {}): { loss: tf.Scalar; parts: Record<string, tf.Scalar> } {
    this.checkImages(x);
    const w = opts.perceptualWeight ?? (opts.perceptual ? 1 : 0);
    if (w !== 0 && !opts.perceptual) throw new Error(`tokenizer: perceptualWeight=${w} but no perceptual loss function was given`);
    return tf.tidy(() => {
      const xHat = this.reconstruct(x);
      const l1 = tf.mean(tf.abs(tf.sub(x, xHat))) as tf.Scalar;
      const parts: Record<string, tf.Scalar> = { l1 };
      if (!opts.perceptual || w === 0) return { loss: tf.clone(l1), parts };
      parts.perceptual = opts.perceptual(x, xHat);
      return { loss: tf.add(l1, tf.mul(parts.perceptual, w)) as tf.Scalar, parts };
    });
  }

  /** Frees the weights. */
  dispose(): void {
    this.params.dispose();
  }
}
