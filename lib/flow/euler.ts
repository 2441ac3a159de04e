/**
 * Euler integration of the flow ODE dx/dt = v(x, t) from noise (t = 0) to data (t = 1), as in the iFSQ DiT's
 * `inference.py` (ODE, Euler, t on linspace(0, 1, N + 1), no time shift):
 *
 *   t_k = t₀ + k·(t₁ − t₀)/N,   x_{k+1} = x_k + Δt·v(x_k, t_k),   k = 0 … N − 1
 *
 * The velocity is never evaluated at t₁ itself (it can be singular there, e.g. (a − x)/(1 − t)). Each step runs
 * in tf.tidy and frees the previous state, so the live tensor count stays flat however many steps are taken.
 * The paper samples with N = 250; on CPU the default is 50 (see notebook 04 for the quality/steps trade-off).
 */
import * as tf from "@tensorflow/tfjs";

/** Velocity field: x [B, ...] at time t (one number for the whole batch) → v, same shape as x. */
export type VelocityFn = (x: tf.Tensor, t: number, step: number) => tf.Tensor;

export const DEFAULT_EULER_STEPS = 50;

export interface EulerOptions {
  /** N ≥ 1; default 50 */
  steps?: number;
  /** start time; default 0 (noise) */
  t0?: number;
  /** end time; default 1 (data) */
  t1?: number;
  /** called after each step with the 1-based step count and the new state (do not dispose it) */
  onStep?: (step: number, x: tf.Tensor) => void;
}

/** The N + 1 grid times t₀ … t₁ (plain numbers, computed in double precision). */
export function eulerTimes(steps: number, t0 = 0, t1 = 1): number[] {
  checkSteps(steps);
  return Array.from({ length: steps + 1 }, (_, k) => (k === steps ? t1 : t0 + (k * (t1 - t0)) / steps));
}

function checkSteps(steps: number): void {
  if (!Number.isInteger(steps) || steps <= 0) throw new Error(`euler: steps=${steps} must be a positive integer (the number of Euler steps from noise to data)`);
}

/** Integrates from x(t₀) = x0 to t₁; returns a new tensor (x0 is left alone). */
export function eulerSample(velocity: VelocityFn, x0: tf.Tensor, opts: EulerOptions = {}): tf.Tensor {
  const steps = opts.steps ?? DEFAULT_EULER_STEPS;
  const times = eulerTimes(steps, opts.t0 ?? 0, opts.t1 ?? 1);
  let x = tf.clone(x0);
  for (let k = 0; k < steps; k++) {
    const t = times[k];
    const dt = times[k + 1] - t;
    const prev = x;
    x = tf.tidy(() => {
      const v = velocity(prev, t, k);
      if (v.shape.join() !== prev.shape.join()) throw new Error(`euler: velocity at step ${k} has shape [${v.shape}]; expected [${prev.shape}]`);
      return tf.add(prev, tf.mul(v, dt));
    });
    prev.dispose();
    opts.onStep?.(k + 1, x);
  }
  return x;
}
