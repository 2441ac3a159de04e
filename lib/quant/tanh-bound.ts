/**
 * The original FSQ bound (Mentzer et al. 2023, App. A; kept as `GroupFSQ.bound` in the iFSQ code):
 *
 *   half_l = (L−1)(1+ε)/2,  o = ½ if L is even else 0,  s = atanh(o / half_l)
 *   bound(z) = tanh(z + s)·half_l − o
 *
 * Rounded, it gives {−⌊L/2⌋, …, ⌊L/2⌋} for odd L and {−L/2, …, L/2 − 1} for even L; bound(0) = 0 in both cases.
 * ε = 1e-3 widens the range slightly so the end codes are reachable; ⌊L/2⌋·ε < ½ keeps rounding inside the grid.
 * Shapes: z [..., d] float32 → [..., d], per-channel levels L_j on the last axis.
 */
import * as tf from "@tensorflow/tfjs";

/** The FSQ code's ε. */
export const FSQ_EPS = 1e-3;

export interface TanhBoundConstants {
  halfL: number;
  offset: number;
  shift: number;
}

/** half_l, offset and shift of the tanh bound for L levels (double precision). */
export function tanhBoundConstants(L: number, eps: number = FSQ_EPS): TanhBoundConstants {
  const halfL = ((L - 1) * (1 + eps)) / 2;
  const offset = L % 2 === 0 ? 0.5 : 0;
  return { halfL, offset, shift: Math.atanh(offset / halfL) };
}

/** tanh(z + s_j)·half_l_j − o_j on channel j. z [..., d], levels length d. */
export function tanhBound(z: tf.Tensor, levels: readonly number[], eps: number = FSQ_EPS): tf.Tensor {
  const c = levels.map((L) => tanhBoundConstants(L, eps));
  const vec = (pick: (k: TanhBoundConstants) => number): number | tf.Tensor => {
    const v = c.map(pick);
    return v.every((x) => x === v[0]) ? v[0] : tf.tensor1d(v);
  };
  return tf.tidy(() => {
    const shift = vec((k) => k.shift);
    const offset = vec((k) => k.offset);
    const shifted = shift === 0 ? z : tf.add(z, shift);
    const scaled = tf.mul(tf.tanh(shifted), vec((k) => k.halfL));
    return offset === 0 ? scaled : tf.sub(scaled, offset);
  });
}
