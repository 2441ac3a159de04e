/**
 * Scaled dot-product attention on per-head tensors, and a KV cache for incremental decoding.
 *
 *   attention(q, k, v) = softmax(q·kᵀ/√Dh + mask)·v,   q [B, H, Tq, Dh], k/v [B, H, Tk, Dh] → [B, H, Tq, Dh]
 *
 * Causal with Tq ≤ Tk (a KV cache holding Tk − Tq earlier positions): query i sits at absolute position
 * Tk − Tq + i and sees keys 0 … Tk − Tq + i.
 * On wasm the two batched products run as depthwise convolutions in group-last layouts (nn/matmul groupMatmul);
 * wasm's BatchMatMul is a scalar loop, ~10–20× slower per FLOP at these sizes; a single query (a decoding step) as
 * broadcast products in the cache's layout (decodeStep). Elsewhere: BatchMatMul through
 * nn/matmul (explicit transposes in the gradient). Only rank ≤ 4 transposes.
 */
import * as tf from "@tensorflow/tfjs";
import { matmul, swapLast, groupMatmul } from "./matmul";
import { nativeKernelsActive } from "../native-engine";

export interface AttentionOptions {
  /** each query sees only keys at its own or earlier positions */
  causal?: boolean;
  /** additive mask broadcastable to [B, H, Tq, Tk] (0 = keep, large negative = drop) */
  mask?: tf.Tensor;
  /** score scale; default 1/√Dh */
  scale?: number;
  /**
   * How the batched products run: "grouped" (one depthwise convolution per product, see groupMatmul: ~10× faster on
   * wasm) or "batched" (BatchMatMul). Default: "grouped" on wasm, "batched" elsewhere (the native engine's BLAS
   * BatchMatMul takes the transposed key directly).
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
  return attend(q, k, v, "BHTD", opts);
}

/**
 * The same attention with the token axis before the head axis: q [B, Tq, H, Dh], k/v [B, Tk, H, Dh] →
 * [B, Tq, H, Dh] (the layout a projection [B, T, H·Dh] reshapes to for free; saves the head split/merge transposes).
 */
export function attentionTokensFirst(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions = {}): tf.Tensor4D {
  return attend(q, k, v, "BTHD", opts);
}

function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, layout: "BHTD" | "BTHD", opts: AttentionOptions): tf.Tensor4D {
  const name = layout === "BHTD" ? "[B, H, T, Dh]" : "[B, T, H, Dh]";
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(`attention: q, k, v must be ${name}; got [${q.shape}], [${k.shape}], [${v.shape}]`);
  }
  const [hAxis, tAxis] = layout === "BHTD" ? [1, 2] : [2, 1];
  const [B, H, Tq, Dh] = [q.shape[0], q.shape[hAxis], q.shape[tAxis], q.shape[3]];
  const Tk = k.shape[tAxis];
  const ok = (t: tf.Tensor4D) => t.shape[0] === B && t.shape[hAxis] === H && t.shape[3] === Dh && t.shape[tAxis] === Tk;
  if (!ok(k) || !ok(v) || v.shape[3] !== Dh) {
    throw new Error(`attention: shapes disagree (layout ${name}): q [${q.shape}], k [${k.shape}], v [${v.shape}]`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(Dh);
  const impl = opts.impl ?? (tf.getBackend() === "wasm" && !nativeKernelsActive() ? "grouped" : "batched");
  return tf.tidy(() => {
    if (impl === "batched") {
      const toHeads = (t: tf.Tensor4D) => (layout === "BHTD" ? t : (tf.transpose(t, [0, 2, 1, 3]) as tf.Tensor4D));
      // [B, H, Tq, Tk]; the native engine's BLAS reads kᵀ in place (tfjs's BatchMatMul gradient is then transposed products too)
      let s: tf.Tensor = tf.mul(nativeKernelsActive() ? tf.matMul(toHeads(q), toHeads(k), false, true) : matmul(toHeads(q), swapLast(toHeads(k))), scale);
      if (opts.causal && Tk > 1) s = tf.add(s, causalMask(Tq, Tk));
      if (opts.mask) s = tf.add(s, opts.mask);
      const o = (nativeKernelsActive() ? tf.matMul(tf.softmax(s) as tf.Tensor4D, toHeads(v)) : matmul(tf.softmax(s), toHeads(v))) as tf.Tensor4D;
      return layout === "BHTD" ? o : (tf.transpose(o, [0, 2, 1, 3]) as tf.Tensor4D);
    }
    const bhtd = layout === "BHTD";
    if (Tq === 1 && !opts.mask) return decodeStep(bhtd ? tf.transpose(q, [0, 2, 1, 3]) : q, bhtd ? tf.transpose(k, [0, 2, 1, 3]) : k, bhtd ? tf.transpose(v, [0, 2, 1, 3]) : v, scale, bhtd);
    // Group-last layouts, G = B·H:  s [Tq, G, Tk] = q [Tq, Dh, G] × k [Dh, G, Tk];  o [Tq, G, Dh] = p [Tq, Tk, G] × v [Tk, G, Dh]
    const G = B * H;
    const qL = tf.reshape(tf.transpose(q, bhtd ? [2, 3, 0, 1] : [1, 3, 0, 2]), [Tq, Dh, G]) as tf.Tensor3D;
    const kL = tf.reshape(tf.transpose(k, bhtd ? [3, 0, 1, 2] : [3, 0, 2, 1]), [Dh, G, Tk]) as tf.Tensor3D;
    const vL = tf.reshape(tf.transpose(v, bhtd ? [2, 0, 1, 3] : [1, 0, 2, 3]), [Tk, G, Dh]) as tf.Tensor3D;
    let s: tf.Tensor = tf.mul(groupMatmul(qL, kL), scale);
    if (opts.causal && Tk > 1) s = tf.add(s, tf.reshape(causalMask(Tq, Tk), [Tq, 1, Tk]));
    if (opts.mask) {
      // broadcastable to [B, H, Tq, Tk] → [Tq, G, Tk]
      const m = tf.broadcastTo(opts.mask, [B, H, Tq, Tk]);
      s = tf.add(s, tf.reshape(tf.transpose(m, [2, 0, 1, 3]), [Tq, G, Tk]));
    }
    const p = tf.transpose(tf.softmax(s), [0, 2, 1]) as tf.Tensor3D; // [Tq, Tk, G]
    const o = tf.reshape(groupMatmul(p, vL), [Tq, B, H, Dh]);
    return tf.transpose(o, bhtd ? [1, 2, 0, 3] : [1, 0, 2, 3]) as tf.Tensor4D;
  });
}

/**
 * One query per row (a decoding step over a KV cache; it sees every key): q [B, 1, H, Dh], k/v [B, Tk, H, Dh],
 *   s[b, t, h] = scale·Σ_d q[b, h, d]·k[b, t, h, d],   o[b, h, :] = Σ_t softmax_t(s)[b, t, h]·v[b, t, h, :]
 * as broadcast products and sums in the cache's own layout: the group-last path would transpose the whole cache
 * every step (wasm, B 100, H 2, Dh 32: 1.1 vs 2.1 ms at Tk 32, 2.1 vs 4.6 ms at Tk 64). Returns [B, 1, H, Dh]
 * ([B, H, 1, Dh] when `headsFirst`).
 */
function decodeStep(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, scale: number, headsFirst: boolean): tf.Tensor4D {
  const [B, Tk, H, Dh] = k.shape;
  const s = tf.mul(tf.sum(tf.mul(q, k), 3), scale); // [B, Tk, H]
  const p = tf.reshape(tf.transpose(tf.softmax(tf.transpose(s, [0, 2, 1])), [0, 2, 1]), [B, Tk, H, 1]);
  return tf.reshape(tf.sum(tf.mul(p, v), 1), headsFirst ? [B, H, 1, Dh] : [B, 1, H, Dh]) as tf.Tensor4D;
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
 * Keys and values of the positions seen so far, for one attention layer. The transformer block stores them
 * tokens-first, [B, T, H, Dh] (axis 1 = positions); `timeAxis` says which axis grows.
 * `append` concatenates along it and keeps the result alive across `tf.tidy` scopes; `dispose` frees it.
 */
export class KVCache {
  k: tf.Tensor4D | null = null;
  v: tf.Tensor4D | null = null;

  /** @param timeAxis the position axis of the cached tensors: 1 for [B, T, H, Dh] (default), 2 for [B, H, T, Dh] */
  constructor(readonly timeAxis: 1 | 2 = 1) {}

  /** Number of cached positions. */
  get length(): number {
    return this.k ? this.k.shape[this.timeAxis] : 0;
  }

  /** Appends new keys/values; returns the full cached k, v. */
  append(k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const nk = tf.keep(this.k ? (tf.concat([this.k, k], this.timeAxis) as tf.Tensor4D) : k.clone());
    const nv = tf.keep(this.v ? (tf.concat([this.v, v], this.timeAxis) as tf.Tensor4D) : v.clone());
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
