/**
 * REPA, representation alignment (Yu et al. 2024; paper-spec §7), the part both generators share: a projector MLP
 * from the model's hidden states to a frozen teacher's patch features, and the alignment loss.
 *
 *   h      [B, T, D]    hidden states after block ℓ (AR: position i, which predicts token i; DiT: token i)
 *   y      [B, T, Dt]   the teacher's feature of patch i (the latent grid's cell i, raster order)
 *   h_φ(h) = W₃·SiLU(W₂·SiLU(W₁·h + b₁) + b₂) + b₃          per token: D → H → H → Dt (paper 1024 → 2048 → 2048 → 768)
 *   L_REPA = −(1/B) Σ_b (1/T) Σ_n cos(h_φ(h_{b,n}), y_{b,n})  ∈ [−1, 1]
 *   loss  += λ · L_REPA                                        (paper: λ = 2.0 for LlamaGen, 0.5 for DiT)
 *
 * The projector is training-only: its parameters live under the name prefix `repa.` (REPA_PARAM_PREFIX) in the
 * training task's ParamStore, and the inference model never creates them, so sampling cost and the parameter count
 * at inference are those of the model without REPA. Init (LlamaGen): weights N(0, 0.02), biases 0.
 */
import * as tf from "@tensorflow/tfjs";
import { linear, type LinearParams } from "./matmul";
import { linearParams } from "./layers";
import { silu } from "./activations";
import { cosineSimilarity } from "./cosine";
import { linearMacs } from "./flops";
import type { ParamStore } from "./params";

/** Name prefix of the training-only REPA parameters (dropped when a finished run's weights are loaded for inference). */
export const REPA_PARAM_PREFIX = "repa.";

/** Whether a parameter name belongs to the training-only REPA projector. */
export function isRepaParam(name: string): boolean {
  return name.startsWith(REPA_PARAM_PREFIX);
}

/** Widths of a projector: model width D → hidden H → H → teacher width Dt. */
export interface RepaProjectorDims {
  inDim: number;
  hidden: number;
  outDim: number;
}

export interface RepaProjector {
  dims: RepaProjectorDims;
  layers: [LinearParams, LinearParams, LinearParams];
}

function checkDims(d: RepaProjectorDims): void {
  for (const k of ["inDim", "hidden", "outDim"] as const) {
    if (!(Number.isInteger(d[k]) && d[k] > 0)) throw new Error(`repa projector: ${k}=${d[k]} must be a positive integer`);
  }
}

/** Creates the projector's parameters in `store` as `repa.proj.fc{1,2,3}.{w,b}` (weights N(0, 0.02), biases 0). */
export function repaProjector(store: ParamStore, dims: RepaProjectorDims): RepaProjector {
  checkDims(dims);
  const s = store.scope(`${REPA_PARAM_PREFIX}proj`);
  const init = { normal: 0.02 } as const;
  const { inDim: D, hidden: H, outDim: Dt } = dims;
  return {
    dims: { ...dims },
    layers: [linearParams(s.scope("fc1"), D, H, { init }), linearParams(s.scope("fc2"), H, H, { init }), linearParams(s.scope("fc3"), H, Dt, { init })],
  };
}

/** h_φ(h): [..., D] → [..., Dt]. */
export function repaProject(h: tf.Tensor, p: RepaProjector): tf.Tensor {
  const D = h.shape[h.rank - 1];
  if (D !== p.dims.inDim) throw new Error(`repa projector: hidden states have width ${D} ([${h.shape}]); the projector takes ${p.dims.inDim}`);
  return tf.tidy(() => linear(silu(linear(silu(linear(h, p.layers[0])), p.layers[1])), p.layers[2]));
}

/**
 * L_REPA = −mean over batch and tokens of cos(h_φ(h), y): hidden [B, T, D], targets [B, T, Dt] → scalar in [−1, 1]
 * (unweighted; the caller adds λ·L_REPA to its loss). ε = 1e-12 inside the norms (nn/cosine): the N(0, 0.02)-initialised
 * projector's outputs can be short (‖h_φ‖² ~ 1e-8 for small inputs), where the flow loss's ε = 1e-8 would bias cos.
 */
export function repaLoss(hidden: tf.Tensor3D, targets: tf.Tensor3D, p: RepaProjector, eps = 1e-12): tf.Scalar {
  const [B, T] = hidden.shape;
  if (targets.rank !== 3 || targets.shape[0] !== B || targets.shape[1] !== T || targets.shape[2] !== p.dims.outDim) {
    throw new Error(`repaLoss: targets have shape [${targets.shape}]; expected [${B}, ${T}, ${p.dims.outDim}] (one teacher feature per token)`);
  }
  return tf.tidy(() => tf.neg(tf.mean(cosineSimilarity(repaProject(hidden, p), targets, eps))) as tf.Scalar);
}

/** Forward MACs of the projector on `tokens` tokens: T·(D·H + H·H + H·Dt). */
export function repaProjectorMacs(dims: RepaProjectorDims, tokens: number): number {
  return linearMacs(tokens, dims.inDim, dims.hidden) + linearMacs(tokens, dims.hidden, dims.hidden) + linearMacs(tokens, dims.hidden, dims.outDim);
}
