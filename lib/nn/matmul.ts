/**
 * Matrix products whose backward pass stays on wasm's fast kernel.
 *
 * tfjs-wasm runs XNNPACK's GEMM only for a non-transposed product with batch 1; transposed or batched products run a
 * scalar loop (0.8–3.4 GFLOP/s vs ~40). tfjs's own gradient of `matMul` asks for exactly the transposed products, so
 * here the gradient is   dA = dY·Bᵀ,  dB = Aᵀ·dY   with Bᵀ, Aᵀ materialised by an explicit `tf.transpose` and then
 * a plain product. The transpose is the cost (a strided copy of the operand), so dB is computed as (dYᵀ·A)ᵀ when dY is
 * the narrower of the two tall operands (e.g. the second MLP matrix: A [M, 4D], dY [M, D]).
 * Bias gradients (Σ over rows) are a product with a row of ones: wasm's Sum over a leading axis transposes its
 * input first (~50× slower than the GEMM at [2048, 4096]).
 * Gradients are lazy: a constant input costs nothing (see ./custom).
 * On the native engine (../native-engine: BLAS kernels take every transpose variant in place) the gradients are the
 * transposed products themselves, dA = matMul(dY, B, transposeB), dB = matMul(A, dY, transposeA), with no copy.
 */
import * as tf from "@tensorflow/tfjs";
import { customOp, customOpMulti } from "./custom";
import { nativeKernelsActive } from "../native-engine";

/** Swaps the last two axes (explicit transpose, rank ≥ 2). */
export function swapLast(x: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return tf.transpose(x);
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/** [m, k]·[k, n] → [m, n] with the fast gradient. */
function mm(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return customOp(
    [a, b],
    (save) => {
      save([a, b]);
      return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
    },
    (dy, [sa, sb]) => [
      () => (nativeKernelsActive() ? tf.matMul(dy as tf.Tensor2D, sb as tf.Tensor2D, false, true) : tf.matMul(dy as tf.Tensor2D, tf.transpose(sb) as tf.Tensor2D)),
      () => {
        if (nativeKernelsActive()) return tf.matMul(sa as tf.Tensor2D, dy as tf.Tensor2D, true, false);
        const [m, k] = sa.shape;
        const n = dy.shape[1] as number;
        // Aᵀ·dY copies A (m·k) for the transpose; (dYᵀ·A)ᵀ copies dY (m·n) and the small result (k·n)
        if (m * n + k * n < m * k) return tf.transpose(tf.matMul(tf.transpose(dy) as tf.Tensor2D, sa as tf.Tensor2D));
        return tf.matMul(tf.transpose(sa) as tf.Tensor2D, dy as tf.Tensor2D);
      },
    ],
  );
}

/**
 * Σ over the rows of x [m, n] → [n], as ones [1, m]·x (XNNPACK GEMM; wasm's Sum over axis 0 transposes first).
 *
 * Hazard (tfjs-backend-wasm 4.22): the XNNPACK operator of a product is cached by the id of its right operand's
 * buffer, not by its shape, and a reshape is a view with the same id. So the same buffer must never be the right
 * operand of two products in different shapes while it lives (e.g. x as [m, n] here and a view [m/k, k·n]
 * elsewhere): the second product silently reads the first one's packed layout (wrong values, then heap corruption).
 * A left operand may be reshaped freely.
 */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  const [m, n] = x.shape;
  return tf.reshape(tf.matMul(tf.ones([1, m]) as tf.Tensor2D, x), [n]) as tf.Tensor1D;
}

/**
 * y + b for y [..., n] and a bias b [n] (broadcast over the leading axes); the bias gradient is sumRows(dy) instead
 * of tfjs's Sum over the broadcast axes.
 */
export function addBias<T extends tf.Tensor>(y: T, b: tf.Tensor): T {
  const n = y.shape[y.rank - 1];
  if (b.rank !== 1 || b.shape[0] !== n) throw new Error(`addBias: bias [${b.shape}] does not fit the last axis of [${y.shape}] (expected [${n}])`);
  return customOp(
    [y, b],
    () => tf.add(y, b),
    (dy) => [() => dy, () => sumRows(tf.reshape(dy, [-1, n]) as tf.Tensor2D)],
  ) as T;
}

/** Batched [..., m, k]·[..., k, n] with equal batch dims; gradient through explicit transposes. */
function bmm(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return customOp(
    [a, b],
    (save) => {
      save([a, b]);
      return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D);
    },
    (dy, [sa, sb]) =>
      nativeKernelsActive()
        ? [() => tf.matMul(dy as tf.Tensor3D, sb as tf.Tensor3D, false, true), () => tf.matMul(sa as tf.Tensor3D, dy as tf.Tensor3D, true, false)]
        : [() => tf.matMul(dy as tf.Tensor3D, swapLast(sb) as tf.Tensor3D), () => tf.matMul(swapLast(sa) as tf.Tensor3D, dy as tf.Tensor3D)],
  );
}

/**
 * Matrix product.
 * - a [m, k], b [k, n] → [m, n];
 * - a [..., k] (rank ≥ 3), b [k, n] → [..., n] (flattened to one rank-2 product: the fast path);
 * - a [...batch, m, k], b [...batch, k, n] (equal batch dims, rank ≥ 3) → [...batch, m, n].
 */
export function matmul<T extends tf.Tensor>(a: T, b: tf.Tensor): T {
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`matmul: operands must have rank ≥ 2, got a [${a.shape}] and b [${b.shape}]`);
  }
  const k = a.shape[a.rank - 1];
  if (b.shape[b.rank - 2] !== k) {
    throw new Error(`matmul: inner dimensions differ: a [${a.shape}] has ${k} columns, b [${b.shape}] has ${b.shape[b.rank - 2]} rows`);
  }
  if (b.rank === 2) {
    if (a.rank === 2) return mm(a, b) as T;
    const lead = a.shape.slice(0, -1);
    return tf.reshape(mm(tf.reshape(a, [-1, k]), b), [...lead, b.shape[1] as number]) as T;
  }
  if (a.rank !== b.rank || a.shape.slice(0, -2).some((d, i) => d !== b.shape[i])) {
    throw new Error(`matmul: batch dimensions must be equal: a [${a.shape}], b [${b.shape}] (no broadcasting)`);
  }
  return bmm(a, b) as T;
}

/** Weights of a linear layer: w [in, out], optional bias b [out]. */
export interface LinearParams {
  w: tf.Tensor;
  b?: tf.Tensor;
}

/** y = x·W + b for x [..., in] → [..., out]. */
export function linear<T extends tf.Tensor>(x: T, p: LinearParams): T {
  if (p.w.rank !== 2) throw new Error(`linear: weight must be [in, out], got [${p.w.shape}]`);
  const y = matmul(x, p.w);
  if (!p.b) return y;
  return (p.b.rank === 1 ? addBias(y, p.b) : tf.add(y, p.b)) as T;
}

/**
 * Several linear maps of the same input, as one op with one output per part: x [..., in], p.w [in, Σ sizes]
 * (columns of the parts side by side), p.b [Σ sizes] → [..., sizes[i]] each (e.g. q, k, v from one qkv weight).
 * Forward: one product per part with a column block of the (small) weight, no slicing of activations (on wasm a
 * slice copies its whole input). Backward, with dY = [dy₁ | dy₂ | …] (one concat): dx = dY·Wᵀ and dW = xᵀ·dY with a
 * single transpose of x (separate linears would transpose x once per part), db = sumRows(dY).
 */
export function linearSplit(x: tf.Tensor, p: LinearParams, sizes: number[]): tf.Tensor[] {
  const K = x.shape[x.rank - 1];
  const N = sizes.reduce((a, b) => a + b, 0);
  if (p.w.rank !== 2 || p.w.shape[0] !== K || p.w.shape[1] !== N) {
    throw new Error(`linearSplit: weight [${p.w.shape}] does not fit input [${x.shape}] and parts [${sizes}] (expected [${K}, ${N}])`);
  }
  if (p.b && (p.b.rank !== 1 || p.b.shape[0] !== N)) throw new Error(`linearSplit: bias [${p.b.shape}] must be [${N}]`);
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, K]) as tf.Tensor2D;
  const M = x2.shape[0];
  const offs = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const b = p.b;
  const outs = customOpMulti(
    b ? [x2, p.w, b] : [x2, p.w],
    (save) => {
      save([x2, p.w]);
      return sizes.map((n, i) =>
        tf.tidy(() => {
          const y = tf.matMul(x2, tf.slice(p.w, [0, offs[i]], [K, n]) as tf.Tensor2D);
          return b ? tf.add(y, tf.slice(b, [offs[i]], [n])) : y;
        }),
      );
    },
    (dys, [sx, sw]) => {
      const dY = (dys.length === 1 ? dys[0] : tf.concat(dys, 1)) as tf.Tensor2D; // [M, N], freed with the backward pass
      const native = nativeKernelsActive();
      const thunks: Array<() => tf.Tensor> = [
        () => (native ? tf.matMul(dY, sw as tf.Tensor2D, false, true) : tf.matMul(dY, tf.transpose(sw) as tf.Tensor2D)),
        () => native ? tf.matMul(sx as tf.Tensor2D, dY, true, false) : (M * N + K * N < M * K ? tf.transpose(tf.matMul(tf.transpose(dY) as tf.Tensor2D, sx as tf.Tensor2D)) : tf.matMul(tf.transpose(sx) as tf.Tensor2D, dY)),
      ];
      if (b) thunks.push(() => sumRows(dY));
      return thunks;
    },
  );
  return outs.map((o, i) => tf.reshape(o, [...lead, sizes[i]]));
}

/**
 * Batched product in "group-last" layouts, run as one depthwise convolution (XNNPACK on wasm, where the batched
 * `BatchMatMul` is a scalar loop ~10–20× slower at attention sizes):
 *   a [M, K, G], b [K, G, N] → c [M, G, N],   c[m, g, n] = Σ_k a[m, k, g]·b[k, g, n].
 * Gradients are the same op on transposed (rank-3) layouts:
 *   da [M, K, G] = groupMatmul(dcᵀ [M, N, G], bᵀ [N, G, K]) then [M, G, K] → [M, K, G];
 *   db [K, G, N] = groupMatmul(aᵀ [K, M, G], dc [M, G, N]).
 */
export function groupMatmul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [M, K, G] = a.shape;
  const [Kb, Gb, N] = b.shape;
  if (Kb !== K || Gb !== G) throw new Error(`groupMatmul: a [M, K, G] = [${a.shape}] does not fit b [K, G, N] = [${b.shape}]`);
  return customOp(
    [a, b],
    (save) => {
      save([a, b]);
      return groupMatmulRaw(a, b);
    },
    (dc, [sa, sb]) => [
      () => tf.transpose(groupMatmulRaw(tf.transpose(dc, [0, 2, 1]) as tf.Tensor3D, tf.transpose(sb, [2, 1, 0]) as tf.Tensor3D), [0, 2, 1]),
      () => groupMatmulRaw(tf.transpose(sa, [1, 0, 2]) as tf.Tensor3D, dc as tf.Tensor3D),
    ],
  ) as tf.Tensor3D;
}

function groupMatmulRaw(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [M, K, G] = a.shape;
  const N = b.shape[2];
  const y = tf.depthwiseConv2d(tf.reshape(a, [1, M, K, G]) as tf.Tensor4D, tf.reshape(b, [1, K, G, N]) as tf.Tensor4D, 1, "valid");
  return tf.reshape(y, [M, G, N]) as tf.Tensor3D;
}
