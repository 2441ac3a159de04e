/**
 * 2-D convolution (NHWC, filter [kh, kw, in, out]) whose gradients run on kernels wasm has, and fast ones.
 *
 * Forward: `tf.conv2d` (XNNPACK on wasm). wasm has no `Conv2DBackpropFilter` kernel (the JS fallback runs at
 * ~0.02 GFLOP/s), so the backward pass is built from forward convolutions, which run on XNNPACK:
 *   dW = conv2d(xᵀ [C, H, W, B], dyᵀ [Ho, Wo, B, O], dilation s) → [C, kh, kw, O] → [kh, kw, C, O]
 *        (batch and channel axes swapped; measured ~6× faster than im2col patches × matmul at tokenizer sizes);
 *   dx = conv2d(dy, flipped Wᵀ) with the complementary padding; for stride 2, one such convolution per output
 *        phase (row and column parity) with that phase's filter taps, interleaved by concat + reshape (exactly the
 *        useful MACs; zero-dilating dy instead costs 4×). Taps are flipped by a gather (wasm's Reverse is slow).
 * Gradients are lazy (./custom): an input that needs no gradient costs nothing.
 * On the native engine (../native-engine) both gradients are the Conv2DBackpropInput / Conv2DBackpropFilter kernels
 * themselves (im2col + BLAS GEMM), without the transposes and phase splits above.
 */
import * as tf from "@tensorflow/tfjs";
import { customOp } from "./custom";
import { addBias } from "./matmul";
import { nativeKernelsActive } from "../native-engine";

/** Padding: "same" (TensorFlow's rule: output ⌈H/s⌉, extra pixel at the bottom/right), "valid", or explicit [top, bottom, left, right]. */
export type ConvPad = "same" | "valid" | [number, number, number, number];

export interface ConvOptions {
  stride?: 1 | 2;
  pad?: ConvPad;
}

/** Explicit [top, bottom, left, right] padding of an input of size h×w for a kh×kw filter. */
export function resolvePad(h: number, w: number, kh: number, kw: number, stride: number, pad: ConvPad): [number, number, number, number] {
  if (pad === "valid") return [0, 0, 0, 0];
  if (pad === "same") {
    const th = Math.max((Math.ceil(h / stride) - 1) * stride + kh - h, 0);
    const tw = Math.max((Math.ceil(w / stride) - 1) * stride + kw - w, 0);
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }
  if (!Array.isArray(pad) || pad.length !== 4 || pad.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new Error(`conv2d: pad=${JSON.stringify(pad)} is not "same", "valid" or four non-negative integers [top, bottom, left, right]`);
  }
  return [pad[0], pad[1], pad[2], pad[3]];
}

/** Output size of a convolution along one axis. */
export function convOutSize(size: number, k: number, stride: number, padBefore: number, padAfter: number): number {
  return Math.floor((size + padBefore + padAfter - k) / stride) + 1;
}

type Pads = [number, number, number, number];
const explicit = (p: Pads): [[number, number], [number, number], [number, number], [number, number]] => [
  [0, 0],
  [p[0], p[1]],
  [p[2], p[3]],
  [0, 0],
];

/**
 * Crops x [N, H, W, C] where a padding is negative; returns the cropped tensor and the remaining (non-negative) pads.
 */
function cropNegative(x: tf.Tensor4D, p: Pads): [tf.Tensor4D, Pads] {
  let [N, H, W, C] = x.shape;
  let y = x;
  const ct = Math.max(-p[0], 0);
  const cb = Math.max(-p[1], 0);
  if (ct || cb) {
    y = tf.reshape(tf.slice(tf.reshape(y, [N, H, W * C]), [0, ct, 0], [N, H - ct - cb, W * C]), [N, H - ct - cb, W, C]) as tf.Tensor4D;
    H -= ct + cb;
  }
  const cl = Math.max(-p[2], 0);
  const cr = Math.max(-p[3], 0);
  if (cl || cr) {
    y = tf.reshape(tf.slice(tf.reshape(y, [N * H, W, C]), [0, cl, 0], [N * H, W - cl - cr, C]), [N, H, W - cl - cr, C]) as tf.Tensor4D;
  }
  return [y, [Math.max(p[0], 0), Math.max(p[1], 0), Math.max(p[2], 0), Math.max(p[3], 0)]];
}

/**
 * dW [kh, kw, C, O] of a convolution of x [B, H, W, C] with padding p and stride s, given dy [B, Ho, Wo, O].
 *   dW[i, j, c, o] = Σ_{b,p,q} xpad[b, s·p+i, s·q+j, c] · dy[b, p, q, o]
 * is itself a convolution: batch ↔ channel swapped, input xᵀ [C, H, W, B] (padded as in the forward pass), filter
 * dyᵀ [Ho, Wo, B, O] dilated by s, output [C, kh, kw, O]. One XNNPACK convolution (no im2col copy, no StridedSlice).
 */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, s: number, p: Pads): tf.Tensor4D {
  if (x.shape[3] === 1 && s === 1) return filterGradOneChannel(x, dy, kh, kw, p);
  const [, H, W] = x.shape;
  const [, Ho, Wo] = dy.shape;
  // input extent the dilated filter covers: kh + s·(Ho − 1) rows; trim the padding (or input) beyond it
  const q: Pads = [p[0], kh + s * (Ho - 1) - H - p[0], p[2], kw + s * (Wo - 1) - W - p[2]];
  const [xt, qq] = cropNegative(tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D, q); // [C, H, W, B]
  const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, B, O]
  const out = tf.conv2d(xt, f, 1, explicit(qq), "NHWC", s); // [C, kh, kw, O]
  return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * filterGrad for a one-channel input at stride 1 (an image model's first layer): the swapped convolution would have
 * a single output channel row and an Ho×Wo filter, which XNNPACK runs at <1 GFLOP/s (measured 68 ms for a 19 M-MAC
 * gradient at batch 64). Here the kh·kw shifted windows of the padded input are the rows of Pᵀ [kh·kw, B·Ho·Wo]
 * (small: one channel), and dW = Pᵀ·dy is one GEMM.
 */
function filterGradOneChannel(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, p: Pads): tf.Tensor4D {
  const [B, H, W] = x.shape;
  const [, Ho, Wo, O] = dy.shape;
  const xp = tf.pad(tf.reshape(x, [B, H, W]), [[0, 0], [p[0], p[1]], [p[2], p[3]]]) as tf.Tensor3D;
  const rows: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) rows.push(tf.reshape(tf.slice(xp, [0, i, j], [B, Ho, Wo]), [1, B * Ho * Wo]));
  const pT = tf.concat(rows, 0) as tf.Tensor2D; // [kh·kw, M]
  return tf.reshape(tf.matMul(pT, tf.reshape(dy, [B * Ho * Wo, O]) as tf.Tensor2D), [kh, kw, 1, O]) as tf.Tensor4D;
}

/**
 * Taps (u0 + s·i, v0 + s·j) of w [kh, kw, C, O], flipped in both spatial axes and in/out swapped:
 * [Ku, Kv, O, C] (null when the phase has no taps). A gather of tap rows, not Reverse (a slow kernel on wasm).
 */
function flippedTaps(w: tf.Tensor4D, u0: number, v0: number, s: number): tf.Tensor4D | null {
  const [kh, kw, C, O] = w.shape;
  const us: number[] = [];
  const vs: number[] = [];
  for (let u = u0; u < kh; u += s) us.push(u);
  for (let v = v0; v < kw; v += s) vs.push(v);
  if (us.length === 0 || vs.length === 0) return null;
  const idx: number[] = [];
  for (let i = us.length - 1; i >= 0; i--) for (let j = vs.length - 1; j >= 0; j--) idx.push(us[i] * kw + vs[j]);
  const taps = tf.gather(tf.reshape(w, [kh * kw, C * O]), tf.tensor1d(idx, "int32"));
  return tf.transpose(tf.reshape(taps, [us.length, vs.length, C, O]), [0, 1, 3, 2]) as tf.Tensor4D;
}

/**
 * The full correlation of dy [B, Ho, Wo, O] with the flipped taps f [Ka, Kb, O, C], windowed to R×S outputs whose
 * first row/column is output index (da, db) of the full correlation: R×S×C.
 */
function correlate(dy: tf.Tensor4D, f: tf.Tensor4D, R: number, S: number, da: number, db: number): tf.Tensor4D {
  const [, Ho, Wo] = dy.shape;
  const [Ka, Kb] = f.shape;
  const q: Pads = [Ka - 1 - da, 0, Kb - 1 - db, 0];
  q[1] = R + Ka - 1 - Ho - q[0];
  q[3] = S + Kb - 1 - Wo - q[2];
  const [dc, qq] = cropNegative(dy, q);
  return tf.conv2d(dc, f, 1, explicit(qq));
}

/** Interleaves d0 [B, R, ⌈W/2⌉, C] (even columns) and d1 [B, R, ⌊W/2⌋, C] (odd columns) → [B, R, W, C]. */
function interleaveCols(d0: tf.Tensor4D, d1: tf.Tensor4D, W: number): tf.Tensor4D {
  const [B, R, W0, C] = d0.shape;
  const d1p = d1.shape[2] < W0 ? (tf.pad(d1, [[0, 0], [0, 0], [0, W0 - d1.shape[2]], [0, 0]]) as tf.Tensor4D) : d1;
  const t = tf.reshape(tf.concat([d0, d1p], 3), [B, R, 2 * W0, C]) as tf.Tensor4D;
  return 2 * W0 === W ? t : (tf.slice(t, [0, 0, 0, 0], [B, R, W, C]) as tf.Tensor4D);
}

/** Interleaves r0 [B, ⌈H/2⌉, W, C] (even rows) and r1 [B, ⌊H/2⌋, W, C] (odd rows) → [B, H, W, C]. */
function interleaveRows(r0: tf.Tensor4D, r1: tf.Tensor4D, H: number): tf.Tensor4D {
  const [B, H0, W, C] = r0.shape;
  const r1p = r1.shape[1] < H0 ? (tf.pad(r1, [[0, 0], [0, H0 - r1.shape[1]], [0, 0], [0, 0]]) as tf.Tensor4D) : r1;
  const t = tf.reshape(tf.concat([tf.reshape(r0, [B, H0, 1, W * C]), tf.reshape(r1p, [B, H0, 1, W * C])], 2), [B, 2 * H0, W, C]) as tf.Tensor4D;
  return 2 * H0 === H ? t : (tf.slice(t, [0, 0, 0, 0], [B, H, W, C]) as tf.Tensor4D);
}

/**
 * dx [B, H, W, C] of the convolution, given dy [B, Ho, Wo, O]: the full correlation of dy with the flipped,
 * in/out-swapped filter, padded so that the output has H×W pixels (XNNPACK forward convolution; wasm's
 * Conv2DBackpropInput is several times slower).
 * Stride 2: input row r = 2m + a − p_top receives only taps u ≡ a (mod 2) from dy rows m − i (u = a + 2i), so each
 * row/column parity (ρ, σ) of dx is one stride-1 correlation with the taps of phase a = (ρ + p_top) mod 2,
 * b = (σ + p_left) mod 2, starting at m = ⌊(ρ + p_top)/2⌋; the four results are interleaved.
 */
function inputGrad(xShape: [number, number, number, number], w: tf.Tensor4D, dy: tf.Tensor4D, s: number, p: Pads): tf.Tensor4D {
  const [B, H, W, C] = xShape;
  if (s === 1) return correlate(dy, flippedTaps(w, 0, 0, 1)!, H, W, p[0], p[2]);
  const phase = (rho: number, sig: number): tf.Tensor4D => {
    const R = Math.ceil((H - rho) / 2);
    const S = Math.ceil((W - sig) / 2);
    const f = R > 0 && S > 0 ? flippedTaps(w, (rho + p[0]) % 2, (sig + p[2]) % 2, 2) : null;
    if (!f) return tf.zeros([B, Math.max(R, 0), Math.max(S, 0), C]) as tf.Tensor4D;
    return correlate(dy, f, R, S, Math.floor((rho + p[0]) / 2), Math.floor((sig + p[2]) / 2));
  };
  if (W === 1) return H === 1 ? phase(0, 0) : interleaveRows(phase(0, 0), phase(1, 0), H);
  const rows = [0, 1].map((rho) => interleaveCols(phase(rho, 0), phase(rho, 1), W));
  return H === 1 ? rows[0] : interleaveRows(rows[0], rows[1], H);
}

/**
 * Convolution of x [B, H, W, C] with w [kh, kw, C, O] → [B, Ho, Wo, O]; stride 1 or 2; pad "same" (default),
 * "valid" or [top, bottom, left, right]. Same values as `tf.conv2d`; gradients fast on wasm.
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, opts: ConvOptions = {}): tf.Tensor4D {
  const s = opts.stride ?? 1;
  if (s !== 1 && s !== 2) throw new Error(`conv2d: stride=${s} is not supported; expected 1 or 2`);
  if (x.rank !== 4) throw new Error(`conv2d: x must be [B, H, W, C], got [${x.shape}]`);
  if (w.rank !== 4) throw new Error(`conv2d: w must be [kh, kw, in, out], got [${w.shape}]`);
  const [, H, W, C] = x.shape;
  const [kh, kw, wc] = w.shape;
  if (wc !== C) throw new Error(`conv2d: x has ${C} channels but w [${w.shape}] expects ${wc}`);
  const p = resolvePad(H, W, kh, kw, s, opts.pad ?? "same");
  const ho = convOutSize(H, kh, s, p[0], p[1]);
  const wo = convOutSize(W, kw, s, p[2], p[3]);
  if (ho <= 0 || wo <= 0) throw new Error(`conv2d: input ${H}×${W} padded by [${p}] is smaller than the ${kh}×${kw} filter`);
  const xShape = x.shape;
  return customOp(
    [x, w],
    (save) => {
      save([x, w]);
      return tf.conv2d(x, w, s, explicit(p));
    },
    (dy, saved) =>
      nativeKernelsActive()
        ? [
            () => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: saved[1] }, { strides: s, pad: explicit(p), dataFormat: "NHWC", inputShape: xShape } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
            () => tf.engine().runKernel("Conv2DBackpropFilter", { x: saved[0], dy }, { strides: s, pad: explicit(p), dataFormat: "NHWC", filterShape: saved[1].shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
          ]
        : [() => inputGrad(xShape, saved[1] as tf.Tensor4D, dy as tf.Tensor4D, s, p), () => filterGrad(saved[0] as tf.Tensor4D, dy as tf.Tensor4D, kh, kw, s, p)],
  ) as tf.Tensor4D;
}

/** Weights of a conv layer: w [k, k, in, out], optional bias b [out]. */
export interface ConvParams {
  w: tf.Tensor;
  b?: tf.Tensor;
}

/** conv2d(x, w) + b. */
export function conv2dLayer(x: tf.Tensor4D, p: ConvParams, opts: ConvOptions = {}): tf.Tensor4D {
  const y = conv2d(x, p.w as tf.Tensor4D, opts);
  if (!p.b) return y;
  return p.b.rank === 1 ? addBias(y, p.b) : tf.add(y, p.b);
}

/**
 * Nearest-neighbour ×2 upsampling [B, H, W, C] → [B, 2H, 2W, C] (out[2i+a, 2j+b] = x[i, j]).
 * Backward sums each 2×2 block with two reshape + sum steps (rank 3; no slices: on wasm each slice copies its
 * whole input; and tfjs cpu's ResizeNearestNeighborGrad is wrong for some shapes).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  if (x.rank !== 4) throw new Error(`upsampleNearest2x: x must be [B, H, W, C], got [${x.shape}]`);
  const [B, H, W, C] = x.shape;
  return customOp(
    [x],
    () => tf.image.resizeNearestNeighbor(x, [2 * H, 2 * W]),
    (dy) => [
      () => {
        const rows = tf.sum(tf.reshape(dy, [B * H, 2, 2 * W * C]), 1); // [B·H, 2W·C]
        return tf.reshape(tf.sum(tf.reshape(rows, [B * H * W, 2, C]), 1), [B, H, W, C]);
      },
    ],
  ) as tf.Tensor4D;
}
