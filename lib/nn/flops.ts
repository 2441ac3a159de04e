/**
 * FLOP accounting, as in the benchmark: only matmul and conv work counts, 1 MAC = 2 FLOPs, and a training step
 * (forward + backward) = 3 × forward. Elementwise, norm and softmax work is not counted.
 */
import type { BlockConfig } from "./transformer";
import { mlpHiddenOf } from "./transformer";

/** MACs of [m, k]·[k, n]. */
export function matmulMacs(m: number, k: number, n: number): number {
  return m * k * n;
}

/** MACs of a linear layer applied to `tokens` rows: tokens·in·out. */
export function linearMacs(tokens: number, inDim: number, outDim: number): number {
  return tokens * inDim * outDim;
}

/** MACs of a conv with a k×k filter producing an outH×outW×outC map from inC channels, per image. */
export function convMacs(outH: number, outW: number, k: number, inC: number, outC: number): number {
  return outH * outW * k * k * inC * outC;
}

/** FLOPs of a forward pass with this many MACs. */
export function forwardFlops(macs: number): number {
  return 2 * macs;
}

/** FLOPs of a training step (forward + backward) with this many forward MACs. */
export function trainingFlops(forwardMacs: number): number {
  return 3 * 2 * forwardMacs;
}

/**
 * Forward MACs of one transformer block on one sequence of T tokens attending over Tk keys (default T):
 * qkv, output projection, q·kᵀ and p·v, MLP (SwiGLU: 3 matrices; GELU: 2) and the adaLN modulation (6·D per sample).
 */
export function blockMacs(cfg: BlockConfig, T: number, Tk = T): number {
  const D = cfg.dim;
  const hidden = mlpHiddenOf(cfg);
  const mlpMats = (cfg.mlp ?? "swiglu") === "swiglu" ? 3 : 2;
  let macs = linearMacs(T, D, 3 * D) + linearMacs(T, D, D) + 2 * T * Tk * D + mlpMats * T * D * hidden;
  if (cfg.adaLN) macs += (cfg.condDim ?? D) * 6 * D;
  return macs;
}
