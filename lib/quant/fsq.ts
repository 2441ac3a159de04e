/**
 * Finite Scalar Quantization (Mentzer et al. 2023) with the original tanh bound or the iFSQ bound (Lin et al. 2026).
 *
 *   v = bound(z)            [..., d]  level units (tanh-bound.ts / ifsq.ts; `applyBound`)
 *   q = round_ste(v)        forward: round half to even (tf.round, like torch.round); backward: identity
 *   ẑ = q / h_j,  h_j = ⌊L_j/2⌋   codes in [−1, 1]  (even L: [−1, (h−1)/h])
 *   digit_j = ẑ_j·h_j + h_j ∈ {0, …, L_j − 1}
 *   index   = Σ_j digit_j·B_j,  B_j = ∏_{i<j, i in the same group} L_i   (the FIRST dim is least significant)
 *
 * `groups` cuts the d channels into consecutive groups, each with its own index and vocabulary ∏ L_j (the AR model's
 * factorised tokens). Letters: `...` = any leading axes (e.g. B, H, W), d = number of channels = levels.length.
 *
 * NaN: `bound` and `quantize` propagate NaN (they never read tensors back, so training stays asynchronous); a NaN code
 * is not a code, and `codesToIndices` rejects it with an error instead of letting int32 casting turn it into index 0.
 */
import * as tf from "@tensorflow/tfjs";
import { checkLevels, toBound, type Bound } from "./bounds";
import { ifsqBound } from "./ifsq";
import { tanhBound } from "./tanh-bound";

export interface FSQOptions {
  /** Levels per channel, e.g. [17, 17, 17, 17] (iFSQ 4-bit) or [8, 5, 5, 5] (FSQ 2¹⁰). */
  levels: number[];
  /** The bound (bounds.ts): { kind: "tanh" } = the original FSQ bound (any L ≥ 2), { kind: "ifsq", alpha? } =
   *  2·sigmoid(α·z) − 1 (odd L only); the bare names "tanh" / "ifsq" mean the default parameters. */
  bound: Bound | Bound["kind"];
  /** Sizes of consecutive channel groups, each with its own index (default: one group of all d channels). */
  groups?: number[];
}

const INT32_MAX = 2 ** 31 - 1;

const roundSteImpl = tf.customGrad((...inputs: Array<tf.Tensor | ((save: tf.Tensor[]) => void)>) => ({
  value: tf.round(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => dy,
}));
/** Straight-through round: forward tf.round (half to even, like torch.round), backward passes the gradient unchanged. */
export function roundSte(v: tf.Tensor): tf.Tensor {
  return roundSteImpl(v);
}

function describe(x: unknown): string {
  return Array.isArray(x) ? `[${x.map((v) => describe(v)).join(", ")}]` : typeof x === "string" ? JSON.stringify(x) : String(x);
}

function positionOf(flatIndex: number, shape: number[]): string {
  const pos: number[] = [];
  let rest = flatIndex;
  for (let a = shape.length - 1; a >= 0; a--) {
    pos.unshift(rest % shape[a]);
    rest = Math.floor(rest / shape[a]);
  }
  return `[${pos.join(", ")}]`;
}

export class FSQ {
  /** Levels per channel. */
  readonly levels: readonly number[];
  /** The bound, parameters filled in. */
  readonly bound: Required<Bound>;
  /** d, the number of channels. */
  readonly dim: number;
  /** h_j = ⌊L_j/2⌋ per channel. */
  readonly halfWidths: readonly number[];
  /** Channel counts of the groups (sum = d). */
  readonly groups: readonly number[];
  /** Vocabulary of each group: ∏ of its levels. */
  readonly groupSizes: readonly number[];
  /** K = ∏_j L_j, the implicit codebook size (all groups together). */
  readonly codebookSize: number;
  /** Mean bits per channel, log₂(K)/d (= log₂ L for equal levels; 4.087 for L = 17). */
  readonly bitsPerDim: number;
  /** log₂ K, bits per spatial position. */
  readonly bitsPerToken: number;
  /** B_j: the mixed-radix weight of channel j inside its group. */
  readonly basis: readonly number[];

  constructor(opts: FSQOptions) {
    if (opts === null || typeof opts !== "object") throw new Error(`FSQ options=${describe(opts)}; expected { levels, bound, groups? }`);
    const known = new Set(["levels", "bound", "groups"]);
    for (const key of Object.keys(opts)) {
      if (!known.has(key)) throw new Error(`FSQ option ${JSON.stringify(key)} is unknown; expected one of levels, bound, groups${key === "alpha" ? " (α is part of the bound: { kind: \"ifsq\", alpha })" : ""}`);
    }
    const { levels, groups } = opts;
    const bound = toBound(opts.bound);
    checkLevels(levels, bound);
    const d = levels.length;
    const groupList = groups === undefined ? [d] : groups;
    if (!Array.isArray(groupList) || groupList.length === 0) throw new Error(`groups=${describe(groups)} is invalid; expected a non-empty array of positive integers summing to d=${d}`);
    groupList.forEach((g, i) => {
      if (typeof g !== "number" || !Number.isInteger(g) || g < 1) throw new Error(`groups[${i}]=${describe(g)} is invalid; expected a positive integer (channels in group ${i})`);
    });
    const total = groupList.reduce((a, b) => a + b, 0);
    if (total !== d) throw new Error(`groups=${describe(groupList)} sum to ${total}; expected them to sum to d=${d} (the number of levels)`);

    this.levels = Object.freeze([...levels]);
    this.bound = bound;
    this.dim = d;
    this.halfWidths = Object.freeze(levels.map((L) => Math.floor(L / 2)));
    this.groups = Object.freeze([...groupList]);
    const basis: number[] = [];
    const sizes: number[] = [];
    let j = 0;
    for (let g = 0; g < groupList.length; g++) {
      let b = 1;
      for (let k = 0; k < groupList[g]; k++, j++) {
        basis.push(b);
        b *= levels[j];
      }
      if (b > INT32_MAX) throw new Error(`group ${g} has vocabulary ${b} > 2³¹−1; expected each group's ∏ levels to fit an int32 index (split it with groups)`);
      sizes.push(b);
    }
    this.basis = Object.freeze(basis);
    this.groupSizes = Object.freeze(sizes);
    this.codebookSize = levels.reduce((a, b) => a * b, 1);
    this.bitsPerToken = levels.reduce((a, L) => a + Math.log2(L), 0);
    this.bitsPerDim = this.bitsPerToken / d;
  }

  /** Number of groups (= number of indices per position). */
  get numGroups(): number {
    return this.groups.length;
  }

  private checkLastDim(t: tf.Tensor, what: string): void {
    if (!(t instanceof tf.Tensor)) throw new Error(`${what} must be a tf.Tensor; got ${typeof t}`);
    const last = t.shape[t.rank - 1];
    if (t.rank === 0 || last !== this.dim) {
      throw new Error(`${what} has shape [${t.shape.join(", ")}]; expected last dimension d=${this.dim} (levels ${describe(this.levels)})`);
    }
  }

  /** z [..., d] float32 → bounded values in level units [..., d], before rounding. Differentiable. */
  applyBound(z: tf.Tensor): tf.Tensor {
    this.checkLastDim(z, "z");
    if (z.dtype !== "float32") throw new Error(`z has dtype ${z.dtype}; expected float32`);
    const b = this.bound;
    return b.kind === "ifsq" ? ifsqBound(z, this.levels, b.alpha) : tanhBound(z, this.levels, b.eps);
  }

  /**
   * z [..., d] → codes ẑ [..., d] in [−1, 1]. Forward: round(bound(z)) / h; backward: straight-through, so
   * ∂ẑ/∂z = bound′(z) / h. NaN in z gives NaN codes (see the file comment).
   */
  quantize(z: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const q = roundSte(this.applyBound(z));
      return tf.div(q, this.perChannel(this.halfWidths));
    });
  }

  private perChannel(v: readonly number[]): number | tf.Tensor1D {
    return v.every((x) => x === v[0]) ? v[0] : tf.tensor1d([...v]);
  }

  private perChannelInt(v: readonly number[]): tf.Tensor {
    return v.every((x) => x === v[0]) ? tf.scalar(v[0], "int32") : tf.tensor1d([...v], "int32");
  }

  /**
   * codes [..., d] → int32 indices: [...] with one group, [..., nGroups] with several. Throws if a code is NaN, off
   * the grid or out of range (this reads one boolean back from the device).
   */
  codesToIndices(codes: tf.Tensor): tf.Tensor {
    this.checkLastDim(codes, "codes");
    if (codes.dtype !== "float32") throw new Error(`codes have dtype ${codes.dtype}; expected float32 codes in [−1, 1]`);
    const { digits, bad } = tf.tidy(() => {
      const raw = tf.add(tf.mul(codes, this.perChannel(this.halfWidths)), this.perChannel(this.halfWidths));
      const rounded = tf.round(raw);
      // NaN fails every comparison, so it lands in `bad`.
      const ok = tf.logicalAnd(
        tf.logicalAnd(tf.lessEqual(tf.abs(tf.sub(raw, rounded)), 1e-3), tf.greaterEqual(rounded, 0)),
        tf.lessEqual(rounded, this.perChannel(this.levels.map((L) => L - 1))),
      );
      return { digits: tf.cast(rounded, "int32"), bad: tf.any(tf.logicalNot(ok)) };
    });
    const anyBad = bad.dataSync()[0] !== 0;
    bad.dispose();
    if (anyBad) {
      digits.dispose();
      this.throwBadCode(codes);
    }
    const indices = tf.tidy(() => {
      const weighted = tf.mul(digits, this.perChannelInt(this.basis));
      if (this.groups.length === 1) return tf.sum(weighted, -1);
      const parts = tf.split(weighted, [...this.groups], -1).map((p) => tf.sum(p, -1));
      return tf.stack(parts, -1);
    });
    digits.dispose();
    return indices;
  }

  private throwBadCode(codes: tf.Tensor): never {
    const values = codes.dataSync();
    for (let i = 0; i < values.length; i++) {
      const j = i % this.dim;
      const h = this.halfWidths[j];
      const raw = values[i] * h + h;
      const r = Math.round(raw);
      if (!(Math.abs(raw - r) <= 1e-3 && r >= 0 && r <= this.levels[j] - 1)) {
        const grid = this.levels[j] % 2 === 0 ? `{−1, …, ${(h - 1) / h}} in steps of 1/${h}` : `{−1, …, 1} in steps of 1/${h}`;
        const why = Number.isNaN(values[i]) ? " (NaN: the input to quantize contained NaN)" : "";
        throw new Error(`codes${positionOf(i, codes.shape)}=${values[i]} is not a code${why}; expected a value on channel ${j}'s grid ${grid} (L=${this.levels[j]})`);
      }
    }
    throw new Error("codes contain an invalid value"); // unreachable: the device check and this scan agree
  }

  /**
   * int32 indices ([...] with one group, [..., nGroups] with several) → codes [..., d] float32. Exact inverse of
   * codesToIndices. Throws if an index is not an integer or outside [0, groupSize) (reads one boolean back).
   */
  indicesToCodes(indices: tf.Tensor): tf.Tensor {
    if (!(indices instanceof tf.Tensor)) throw new Error(`indices must be a tf.Tensor; got ${typeof indices}`);
    const G = this.groups.length;
    if (G > 1 && (indices.rank === 0 || indices.shape[indices.rank - 1] !== G)) {
      throw new Error(`indices have shape [${indices.shape.join(", ")}]; expected last dimension ${G} (one index per group, groups ${describe(this.groups)})`);
    }
    if (indices.dtype !== "int32" && indices.dtype !== "float32") throw new Error(`indices have dtype ${indices.dtype}; expected int32`);
    const bad = tf.tidy(() => {
      const x = indices;
      const sizes = G === 1 ? this.groupSizes[0] : tf.tensor1d([...this.groupSizes], indices.dtype);
      let ok = tf.logicalAnd(tf.greaterEqual(x, 0), tf.less(x, sizes));
      if (indices.dtype === "float32") ok = tf.logicalAnd(ok, tf.equal(x, tf.round(x)));
      return tf.any(tf.logicalNot(ok));
    });
    const anyBad = bad.dataSync()[0] !== 0;
    bad.dispose();
    if (anyBad) this.throwBadIndex(indices);
    return tf.tidy(() => {
      const idx = indices.dtype === "int32" ? indices : tf.cast(indices, "int32");
      const perGroup = G === 1 ? [tf.expandDims(idx, -1)] : tf.split(idx, G, -1);
      const digitParts: tf.Tensor[] = [];
      let j = 0;
      for (let g = 0; g < G; g++) {
        const n = this.groups[g];
        const basis = this.basis.slice(j, j + n);
        const levels = this.levels.slice(j, j + n);
        // digit_j = ⌊index / B_j⌋ mod L_j, broadcast over the group's channels: [..., 1] → [..., n]
        digitParts.push(tf.mod(tf.floorDiv(perGroup[g], tf.tensor1d(basis, "int32")), tf.tensor1d(levels, "int32")));
        j += n;
      }
      const digits = digitParts.length === 1 ? digitParts[0] : tf.concat(digitParts, -1);
      const h = this.perChannel(this.halfWidths);
      return tf.div(tf.sub(tf.cast(digits, "float32"), h), h);
    });
  }

  private throwBadIndex(indices: tf.Tensor): never {
    const values = indices.dataSync();
    const G = this.groups.length;
    for (let i = 0; i < values.length; i++) {
      const g = G === 1 ? 0 : i % G;
      const v = values[i];
      if (!(Number.isInteger(v) && v >= 0 && v < this.groupSizes[g])) {
        const what = Number.isInteger(v) ? "out of range" : "not an integer";
        throw new Error(`indices${positionOf(i, indices.shape)}=${v} is ${what}; expected an integer in [0, ${this.groupSizes[g]})${G > 1 ? ` for group ${g}` : ""}`);
      }
    }
    throw new Error("indices contain an invalid value"); // unreachable
  }

  /** All K codes as a [K, d] tensor, row k = indicesToCodes(k) (one group only; K ≤ 2²⁰). */
  implicitCodebook(): tf.Tensor2D {
    if (this.groups.length !== 1) throw new Error(`implicitCodebook needs one group; this FSQ has groups ${describe(this.groups)}`);
    if (this.codebookSize > 2 ** 20) throw new Error(`codebookSize=${this.codebookSize} is too large to enumerate; expected ≤ 2²⁰`);
    return tf.tidy(() => this.indicesToCodes(tf.range(0, this.codebookSize, 1, "int32")) as tf.Tensor2D);
  }

  /** A short description, e.g. `FSQ(ifsq α=1.6, levels [17,17,17,17], K=83521, 4.09 bits/dim)`. */
  toString(): string {
    const b = this.bound.kind === "ifsq" ? `ifsq α=${this.bound.alpha}` : "tanh";
    const g = this.groups.length > 1 ? `, groups [${this.groups.join(",")}] → vocab [${this.groupSizes.join(",")}]` : "";
    return `FSQ(${b}, levels [${this.levels.join(",")}], K=${this.codebookSize}${g}, ${this.bitsPerDim.toFixed(2)} bits/dim)`;
  }
}
