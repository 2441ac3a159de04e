/**
 * Normalisations (NHWC / channels-last), each one custom op (./custom) with its closed-form gradient.
 *   groupNorm: channels split into G groups; each (sample, group) normalised over H·W·(C/G); then ·γ + β.
 *   rmsNorm:   x / √(mean(x², last axis) + ε) · γ.
 *   layerNorm: (x − mean) / √(var + ε) · γ + β over the last axis.
 * With x̂ the normalised input, r = 1/√(var + ε) (or 1/rms) and g = dy·γ, the gradients are (means over the
 * normalised set of each row or group)
 *   layer/group: dx = r·(g − mean(g) − x̂·mean(g·x̂));   rms: dx = r·(g − x̂·mean(g·x̂));
 *   dγ = Σ dy·x̂,  dβ = Σ dy   (sums over all but the channel axis, as a GEMM with a row of ones: sumRows).
 * Autodiff of the composed ops ran several times more passes over x (and wasm copies every saved input, and sums
 * γ/β gradients over leading axes by transposing).
 */
import * as tf from "@tensorflow/tfjs";
import { customOp } from "./custom";
import { sumRows } from "./matmul";

export interface NormParams {
  gamma: tf.Tensor;
  beta: tf.Tensor;
}

/**
 * y = x̂·γ + β where x̂ = norm(x) over `axes` of the view `shape` (x reshaped), statistics kept with keepDims.
 * `center`: subtract the mean (layer/group norm) or not (RMS norm).
 */
function normOp(x: tf.Tensor, shape: number[], axes: number[], center: boolean, eps: number, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined): tf.Tensor {
  const C = x.shape[x.rank - 1];
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  return customOp(
    inputs,
    (save) => {
      const { xhat, r } = tf.tidy(() => {
        const v = tf.reshape(x, shape);
        const xc = center ? tf.sub(v, tf.mean(v, axes, true)) : v;
        const r = tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), axes, true), eps));
        return { xhat: tf.reshape(tf.mul(xc, r), x.shape), r };
      });
      save([xhat, r]);
      const y = tf.tidy(() => {
        let t: tf.Tensor = xhat;
        if (gamma) t = tf.mul(t, gamma);
        if (beta) t = tf.add(t, beta);
        return t === xhat ? tf.reshape(xhat, xhat.shape) : t; // a view: no copy
      });
      tf.dispose([xhat, r]);
      return y;
    },
    (dy, [xhat, r]) => {
      const thunks: Array<() => tf.Tensor> = [
        () =>
          tf.tidy(() => {
            const g = tf.reshape(gamma ? tf.mul(dy, gamma) : dy, shape);
            const xh = tf.reshape(xhat, shape);
            let d = tf.sub(g, tf.mul(xh, tf.mean(tf.mul(g, xh), axes, true)));
            if (center) d = tf.sub(d, tf.mean(g, axes, true));
            return tf.reshape(tf.mul(d, r), x.shape);
          }),
      ];
      if (gamma) thunks.push(() => tf.tidy(() => tf.reshape(sumRows(tf.reshape(tf.mul(dy, xhat), [-1, C]) as tf.Tensor2D), gamma.shape)));
      if (beta) thunks.push(() => tf.tidy(() => tf.reshape(sumRows(tf.reshape(dy, [-1, C]) as tf.Tensor2D), beta.shape)));
      return thunks;
    },
  );
}

function checkAffine(what: string, t: tf.Tensor | undefined | null, C: number): void {
  if (t && t.size !== C) throw new Error(`${what} has shape [${t.shape}]; expected [${C}] (one value per channel)`);
}

/** GroupNorm of x [B, H, W, C] (or [B, T, C]) with `groups` groups; gamma/beta [C]. */
export function groupNorm<T extends tf.Tensor>(x: T, p: NormParams, groups: number, eps = 1e-6): T {
  const C = x.shape[x.rank - 1];
  if (x.rank < 2) throw new Error(`groupNorm: x must be [B, ..., C], got [${x.shape}]`);
  if (!Number.isInteger(groups) || groups <= 0 || C % groups !== 0) {
    throw new Error(`groupNorm: groups=${groups} must divide the ${C} channels`);
  }
  checkAffine("groupNorm: gamma", p.gamma, C);
  checkAffine("groupNorm: beta", p.beta, C);
  const B = x.shape[0];
  return normOp(x, [B, x.size / (B * C), groups, C / groups], [1, 3], true, eps, p.gamma, p.beta) as T;
}

/** RMSNorm over the last axis; gamma [C] or null (no scale). */
export function rmsNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor | null, eps = 1e-6): T {
  const C = x.shape[x.rank - 1];
  checkAffine("rmsNorm: gamma", gamma, C);
  return normOp(x, [x.size / C, C], [1], false, eps, gamma ?? undefined, undefined) as T;
}

/** LayerNorm over the last axis; gamma/beta [C] each optional. */
export function layerNorm<T extends tf.Tensor>(x: T, p: { gamma?: tf.Tensor; beta?: tf.Tensor } = {}, eps = 1e-5): T {
  const C = x.shape[x.rank - 1];
  checkAffine("layerNorm: gamma", p.gamma, C);
  checkAffine("layerNorm: beta", p.beta, C);
  return normOp(x, [x.size / C, C], [1], true, eps, p.gamma, p.beta) as T;
}
