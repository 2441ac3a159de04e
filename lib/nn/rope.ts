/**
 * 2-D rotary position embedding (RoPE) over an H×W token grid, as in LlamaGen / the iFSQ DiT.
 *
 * Head dim Dh = 2P: P complex pairs, interleaved (x₂ᵢ, x₂ᵢ₊₁). The first P/2 pairs rotate by the row index r, the
 * last P/2 by the column index c, with frequencies f_i = θ^(−2i/(P)) for i < P/2 (θ = 10 000; Dh = 64 gives
 * f_i = 10000^(−2i/32)). For pair i with angle a:
 *   out₂ᵢ   = x₂ᵢ·cos a − x₂ᵢ₊₁·sin a
 *   out₂ᵢ₊₁ = x₂ᵢ·sin a + x₂ᵢ₊₁·cos a
 * Written as out = x ⊙ cos + (x·R) ⊙ sin, where R [Dh, Dh] is the fixed pair-swap-and-negate matrix
 * ((x·R)₂ᵢ = −x₂ᵢ₊₁, (x·R)₂ᵢ₊₁ = x₂ᵢ): one fast rank-2 matmul instead of strided slicing.
 *
 * Sequence layout: `prefix` leading positions (e.g. LlamaGen's class token) come first, then the grid in raster
 * order (row-major): position prefix + k ↔ cell (⌊k/W⌋, k mod W).
 * Prefix positions: `prefixMode: "identity"` (default) gives them no rotation (cos = 1, sin = 0), which is the sane
 * choice. `"zero"` reproduces the official LlamaGen quirk: its cache holds zeros for the class position
 * (cos = sin = 0), which zeroes that position's q and k (its value still takes part in attention).
 */
import * as tf from "@tensorflow/tfjs";
import { matmul } from "./matmul";

export interface RopeOptions {
  gridH: number;
  gridW: number;
  headDim: number;
  /** θ; default 10 000 */
  base?: number;
  /** leading non-grid positions (class tokens); default 0 */
  prefix?: number;
  /** rotation of prefix positions: "identity" (cos 1, sin 0; default) or "zero" (official quirk, cos = sin = 0) */
  prefixMode?: "identity" | "zero";
}

/** Precomputed tables for a sequence of length prefix + H·W. Owns its tensors (dispose when done). */
export interface RopeTable {
  /** [T, Dh], each pair's cos repeated twice */
  cos: tf.Tensor2D;
  /** [T, Dh] */
  sin: tf.Tensor2D;
  /** [Dh, Dh] pair rotation matrix R */
  rot: tf.Tensor2D;
  length: number;
  headDim: number;
  dispose(): void;
}

/** The rotation angles [T][P] (plain numbers, for tests and inspection). */
export function ropeAngles(opts: RopeOptions): number[][] {
  const { gridH, gridW, headDim } = opts;
  const base = opts.base ?? 10000;
  const prefix = opts.prefix ?? 0;
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 4 !== 0) {
    throw new Error(`rope: headDim=${headDim} must be a positive multiple of 4 (pairs split evenly between rows and columns)`);
  }
  if (!(gridH > 0 && gridW > 0 && Number.isInteger(gridH) && Number.isInteger(gridW))) throw new Error(`rope: bad grid ${gridH}×${gridW}`);
  const P = headDim / 2;
  const half = P / 2;
  const freqs = Array.from({ length: half }, (_, i) => Math.pow(base, (-2 * i) / P));
  const out: number[][] = [];
  for (let t = 0; t < prefix; t++) out.push(new Array(P).fill(0));
  for (let k = 0; k < gridH * gridW; k++) {
    const r = Math.floor(k / gridW);
    const c = k % gridW;
    out.push([...freqs.map((f) => r * f), ...freqs.map((f) => c * f)]);
  }
  return out;
}

export function ropeTable(opts: RopeOptions): RopeTable {
  const angles = ropeAngles(opts);
  const prefix = opts.prefix ?? 0;
  const zero = (opts.prefixMode ?? "identity") === "zero";
  if (opts.prefixMode && opts.prefixMode !== "identity" && opts.prefixMode !== "zero") {
    throw new Error(`rope: prefixMode=${JSON.stringify(opts.prefixMode)}; expected "identity" or "zero"`);
  }
  const Dh = opts.headDim;
  const T = angles.length;
  const cos = new Float32Array(T * Dh);
  const sin = new Float32Array(T * Dh);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < Dh / 2; i++) {
      const a = angles[t][i];
      const c = t < prefix && zero ? 0 : Math.cos(a);
      const s = t < prefix && zero ? 0 : Math.sin(a);
      cos[t * Dh + 2 * i] = cos[t * Dh + 2 * i + 1] = c;
      sin[t * Dh + 2 * i] = sin[t * Dh + 2 * i + 1] = s;
    }
  }
  const rot = new Float32Array(Dh * Dh);
  for (let i = 0; i < Dh / 2; i++) {
    rot[(2 * i + 1) * Dh + 2 * i] = -1; // (x·R)₂ᵢ = −x₂ᵢ₊₁
    rot[2 * i * Dh + 2 * i + 1] = 1; // (x·R)₂ᵢ₊₁ = x₂ᵢ
  }
  const table: RopeTable = {
    cos: tf.tensor2d(cos, [T, Dh]),
    sin: tf.tensor2d(sin, [T, Dh]),
    rot: tf.tensor2d(rot, [Dh, Dh]),
    length: T,
    headDim: Dh,
    dispose() {
      tf.dispose([table.cos, table.sin, table.rot]);
    },
  };
  return table;
}

/**
 * Rotates x at sequence positions offset … offset+T−1. Layout "BHTD" (default): x [..., T, Dh], e.g. q as
 * [B, H, T, Dh]; "BTHD": x [B, T, H, Dh] (tokens before heads).
 */
export function applyRope<T extends tf.Tensor>(x: T, rope: RopeTable, offset = 0, layout: "BHTD" | "BTHD" = "BHTD"): T {
  const tAxis = layout === "BHTD" ? x.rank - 2 : x.rank - 3;
  const Tn = x.shape[tAxis];
  const Dh = x.shape[x.rank - 1];
  if (tAxis < 0) throw new Error(`applyRope: x [${x.shape}] is too small for layout ${layout}`);
  if (Dh !== rope.headDim) throw new Error(`applyRope: head dim ${Dh} differs from the table's ${rope.headDim}`);
  if (offset < 0 || offset + Tn > rope.length) {
    throw new Error(`applyRope: positions ${offset}…${offset + Tn - 1} are outside the table (length ${rope.length})`);
  }
  return tf.tidy(() => {
    const whole = offset === 0 && Tn === rope.length;
    let cos: tf.Tensor = whole ? rope.cos : tf.slice(rope.cos, [offset, 0], [Tn, Dh]);
    let sin: tf.Tensor = whole ? rope.sin : tf.slice(rope.sin, [offset, 0], [Tn, Dh]);
    if (layout === "BTHD") {
      cos = tf.reshape(cos, [Tn, 1, Dh]);
      sin = tf.reshape(sin, [Tn, 1, Dh]);
    }
    return tf.add(tf.mul(x, cos), tf.mul(matmul(x, rope.rot), sin)) as T;
  });
}
