/**
 * Scaled dot-product attention on per-head tensors, and a KV cache for incremental decoding.
 *
 *   attention(q, k, v) = softmax(q·kᵀ/√Dh + mask)·v,   q [B, H, Tq, Dh], k/v [B, H, Tk, Dh] → [B, H, Tq, Dh]
 *
 * Causal with Tq ≤ Tk (a KV cache holding Tk − Tq earlier positions): query i sits at absolute position
 * Tk − Tq + i and sees keys 0 … Tk − Tq + i.
 * On wasm the two batched products run as depthwise convolutions in group-last layouts (nn/matmul groupMatmul);
 * wasm's BatchMatMul is a scalar loop, ~10–20× slower per FLOP at these sizes. Elsewhere: BatchMatMul through
 * nn/matmul (explicit transposes in the gradient). Only rank ≤ 4 transposes.
 */
import * as tf from "@tensorflow/tfjs";
import { matmul, swapLast, groupMatmul } from "./matmul";

export interface AttentionOptions {
  /** each query sees only keys at its own or earlier positions */
  causal?: boolean;
  /** additive mask broadcastable to [B, H, Tq, Tk] (0 = keep, large negative = drop) */
  mask?: tf.Tensor;
  /** score scale; default 1/√Dh */
  scale?: number;
  /**
   * How the batched products run: "grouped" (one depthwise convolution per product, see groupMatmul: ~10× faster on
   * wasm) or "batched" (BatchMatMul). Default: "grouped" on wasm, "batched" elsewhere.
   */
  impl?: "grouped" | "batched";
}

const NEG = -1e9;

/** Additive causal mask [Tq, Tk] for queries at positions Tk−Tq … Tk−1 (0 where allowed, −1e9 elsewhere). */
export function causalMask(tq: number, tk: number): tf.Tensor2D {
  if (tq > tk) throw new Error(`causalMask: ${tq} queries but only ${tk} keys`);
  const m = new Float32Array(tq * tk);
  const off = tk - tq;
  for (let i = 0; i < tq; i++) for (let j = off + i + 1; j < tk; j++) m[i * tk + j] = NEG;
  return tf.tensor2d(m, [tq, tk]);
}

export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions = {}): tf.Tensor4D {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(`attention: q, k, v must be [B, H, T, Dh]; got [${q.shape}], [${k.shape}], [${v.shape}]`);
  }
  const [B, H, Tq, Dh] = q.shape;
  const Tk = k.shape[2];
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== Dh || v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== Tk) {
    throw new Error(`attention: shapes disagree: q [${q.shape}], k [${k.shape}], v [${v.shape}]`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(Dh);
  const impl = opts.impl ?? (tf.getBackend() === "wasm" ? "grouped" : "batched");
  return tf.tidy(() => {
    if (impl === "batched") {
      let s: tf.Tensor = tf.mul(matmul(q, swapLast(k)), scale); // [B, H, Tq, Tk]
      if (opts.causal && Tk > 1) s = tf.add(s, causalMask(Tq, Tk));
      if (opts.mask) s = tf.add(s, opts.mask);
      return matmul(tf.softmax(s), v) as tf.Tensor4D;
    }
    // Group-last layouts, G = B·H:  s [Tq, G, Tk] = q [Tq, Dh, G] × k [Dh, G, Tk];  o [Tq, G, Dh] = p [Tq, Tk, G] × v [Tk, G, Dh]
    const G = B * H;
    const qL = tf.reshape(tf.transpose(q, [2, 3, 0, 1]), [Tq, Dh, G]) as tf.Tensor3D;
    const kL = tf.reshape(tf.transpose(k, [3, 0, 1, 2]), [Dh, G, Tk]) as tf.Tensor3D;
    const vL = tf.reshape(tf.transpose(v, [2, 0, 1, 3]), [Tk, G, Dh]) as tf.Tensor3D;
    let s: tf.Tensor = tf.mul(groupMatmul(qL, kL), scale);
    if (opts.causal && Tk > 1) s = tf.add(s, tf.reshape(causalMask(Tq, Tk), [Tq, 1, Tk]));
    if (opts.mask) {
      // [.., Tq, Tk] broadcastable to [B, H, Tq, Tk] → [Tq, G, Tk]
      const m = tf.broadcastTo(opts.mask, [B, H, Tq, Tk]);
      s = tf.add(s, tf.reshape(tf.transpose(m, [2, 0, 1, 3]), [Tq, G, Tk]));
    }
    const p = tf.transpose(tf.softmax(s), [0, 2, 1]) as tf.Tensor3D; // [Tq, Tk, G]
    const o = groupMatmul(p, vL); // [Tq, G, Dh]
    return tf.transpose(tf.reshape(o, [Tq, B, H, Dh]), [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** [B, T, H·Dh] → [B, H, T, Dh] */
export function splitHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [B, T, D] = x.shape;
  if (D % heads !== 0) throw new Error(`splitHeads: width ${D} is not divisible by ${heads} heads`);
  return tf.transpose(tf.reshape(x, [B, T, heads, D / heads]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** [B, H, T, Dh] → [B, T, H·Dh] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, Dh] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * Dh]) as tf.Tensor3D;
}

/**
 * Keys and values of the positions seen so far, for one attention layer ([B, H, T, Dh] each).
 * `append` concatenates along T and keeps the result alive across `tf.tidy` scopes; `dispose` frees it.
 */
export class KVCache {
  k: tf.Tensor4D | null = null;
  v: tf.Tensor4D | null = null;

  /** Number of cached positions. */
  get length(): number {
    return this.k ? this.k.shape[2] : 0;
  }

  /** Appends new keys/values [B, H, Tn, Dh]; returns the full cached k, v. */
  append(k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const nk = tf.keep(this.k ? (tf.concat([this.k, k], 2) as tf.Tensor4D) : k.clone());
    const nv = tf.keep(this.v ? (tf.concat([this.v, v], 2) as tf.Tensor4D) : v.clone());
    this.k?.dispose();
    this.v?.dispose();
    this.k = nk;
    this.v = nv;
    return { k: nk, v: nv };
  }

  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = null;
    this.v = null;
  }
}
