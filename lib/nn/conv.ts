/**
 * 2-D convolution (NHWC, filter [kh, kw, in, out]) whose gradients run on kernels wasm has, and fast ones.
 *
 * Forward: `tf.conv2d` (XNNPACK on wasm). wasm has no `Conv2DBackpropFilter` kernel (the JS fallback runs at
 * ~0.02 GFLOP/s), so the backward pass is built here:
 *   dW[i,j,c,o] = Σ_{b,p,q} xpad[b, s·p+i, s·q+j, c] · dy[b,p,q,o]
 *   computed per filter tap (i, j) as   dWᵀ_ij = dyᵀ [O, M] · P_ij [M, C]   (M = B·Ho·Wo),
 *   where P_ij is the input window of tap (i, j), cut from the padded input with plain row-contiguous `tf.slice`
 *   (stride 2: the padded input is first split into its 4 even/odd phases by reshape + slice, so no StridedSlice);
 *   dx = conv2d(dy, flipped Wᵀ) with the complementary padding (stride 1, XNNPACK) or `tf.conv2dTranspose`
 *   (stride 2, wasm's Conv2DBackpropInput).
 * Gradients are lazy (./custom): an input that needs no gradient costs nothing.
 */
import * as tf from "@tensorflow/tfjs";
import { customOp } from "./custom";

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
 * dW [kh, kw, C, O] of a convolution of x [B, H, W, C] with padding p and stride s, given dy [B, Ho, Wo, O].
 */
function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, s: number, p: Pads): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const [, Ho, Wo, O] = dy.shape;
  const M = B * Ho * Wo;
  const dyT = tf.transpose(tf.reshape(dy, [M, O])) as tf.Tensor2D; // [O, M]
  // Rows/cols of the padded input actually needed (pad more if the phase split wants an even size; crop if unused).
  let hp = Math.max(H + p[0] + p[1], s * (Math.floor((kh - 1) / s) + Ho));
  let wp = Math.max(W + p[2] + p[3], s * (Math.floor((kw - 1) / s) + Wo));
  if (s === 2) {
    hp += hp % 2;
    wp += wp % 2;
  }
  const xp = tf.pad(x, explicit([p[0], hp - H - p[0], p[2], wp - W - p[2]])) as tf.Tensor4D;
  // phases[a][b]: [B, hp/s, (wp/s)·C] holding xpad[:, s·r+a, s·q+b, :]
  const phases: tf.Tensor3D[][] = [];
  if (s === 1) {
    phases.push([tf.reshape(xp, [B, hp, wp * C]) as tf.Tensor3D]);
  } else {
    for (let a = 0; a < 2; a++) {
      const rows = tf.reshape(tf.slice(tf.reshape(xp, [B * (hp / 2), 2, wp * C]), [0, a, 0], [-1, 1, -1]), [B * (hp / 2) * (wp / 2), 2 * C]);
      const row: tf.Tensor3D[] = [];
      for (let b = 0; b < 2; b++) row.push(tf.reshape(tf.slice(rows, [0, b * C], [-1, C]), [B, hp / 2, (wp / 2) * C]) as tf.Tensor3D);
      phases.push(row);
    }
  }
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const ph = phases[i % s][j % s];
      const r0 = Math.floor(i / s);
      const c0 = Math.floor(j / s);
      const patch = tf.reshape(tf.slice(ph, [0, r0, c0 * C], [B, Ho, Wo * C]), [M, C]) as tf.Tensor2D;
      taps.push(tf.matMul(dyT, patch)); // [O, C]
    }
  }
  // [kh·kw, O, C] → [kh·kw, C, O] → [kh, kw, C, O]
  return tf.reshape(tf.transpose(tf.stack(taps), [0, 2, 1]), [kh, kw, C, O]) as tf.Tensor4D;
}

/** dx [B, H, W, C] of the convolution, given dy [B, Ho, Wo, O]. */
function inputGrad(xShape: [number, number, number, number], w: tf.Tensor4D, dy: tf.Tensor4D, s: number, p: Pads): tf.Tensor4D {
  const [kh, kw] = w.shape;
  const [, H, W] = xShape;
  const [, Ho, Wo] = dy.shape;
  if (s === 1) {
    // Full correlation of dy with the flipped filter; padding complements the forward padding.
    const q: Pads = [kh - 1 - p[0], 0, kw - 1 - p[2], 0];
    q[1] = H + kh - 1 - Ho - q[0]; // = kh-1-bottom when every output row is used
    q[3] = W + kw - 1 - Wo - q[2];
    if (q.every((v) => v >= 0)) {
      const wf = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      return tf.conv2d(dy, wf, 1, explicit(q));
    }
  }
  return tf.conv2dTranspose(dy, w, xShape, s, explicit(p));
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
    (dy, saved) => [
      () => inputGrad(xShape, saved[1] as tf.Tensor4D, dy as tf.Tensor4D, s, p),
      () => filterGrad(saved[0] as tf.Tensor4D, dy as tf.Tensor4D, kh, kw, s, p),
    ],
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
  return p.b ? tf.add(y, p.b) : y;
}

/**
 * Nearest-neighbour ×2 upsampling [B, H, W, C] → [B, 2H, 2W, C] (out[2i+a, 2j+b] = x[i, j]).
 * Backward sums each 2×2 block with row-contiguous slices (no ResizeNearestNeighborGrad needed).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  if (x.rank !== 4) throw new Error(`upsampleNearest2x: x must be [B, H, W, C], got [${x.shape}]`);
  const [B, H, W, C] = x.shape;
  return customOp(
    [x],
    () => tf.image.resizeNearestNeighbor(x, [2 * H, 2 * W]),
    (dy) => [
      () => {
        const rows = tf.reshape(dy, [B * H, 2, 2 * W * C]);
        const r = tf.add(tf.slice(rows, [0, 0, 0], [-1, 1, -1]), tf.slice(rows, [0, 1, 0], [-1, 1, -1]));
        const cols = tf.reshape(r, [B * H * W, 2 * C]);
        return tf.reshape(tf.add(tf.slice(cols, [0, 0], [-1, C]), tf.slice(cols, [0, C], [-1, C])), [B, H, W, C]);
      },
    ],
  ) as tf.Tensor4D;
}
