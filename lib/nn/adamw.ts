/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, arXiv 1711.05101), as torch.optim.AdamW computes it.
 * tfjs has no AdamW, and its Adam keeps slots by position in the variable list; this one keeps them by parameter
 * name, so checkpoints, EMA and (later) gradient workers all address a parameter by its ParamStore name.
 *
 * One step t (t = 1, 2, …) for parameter θ with gradient g, learning rate η, weight decay λ:
 *   θ ← θ − η·λ·θ                                      (decoupled decay; only where `decay(name)` holds)
 *   m ← β₁·m + (1 − β₁)·g                              v ← β₂·v + (1 − β₂)·g²
 *   m̂ = m / (1 − β₁ᵗ)                                  v̂ = v / (1 − β₂ᵗ)
 *   θ ← θ − η · m̂ / (√v̂ + ε)
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamStore } from "./params";

export interface AdamWOptions {
  /** Learning rate η (can be changed between steps: `opt.lr = …`, or per step: `step(grads, { lr })`). */
  lr: number;
  beta1?: number; // 0.9
  beta2?: number; // 0.999
  eps?: number; // 1e-8
  /** Decoupled weight decay λ (0 = plain Adam). */
  weightDecay?: number; // 0
  /**
   * Which parameters are decayed. Default: tensors of rank ≥ 2 (weights, conv kernels, embedding tables), not
   * biases, norm gains or other vectors (nanoGPT's and LlamaGen's rule).
   */
  decay?: (name: string, v: tf.Variable) => boolean;
}

export const decayRankAtLeast2 = (_name: string, v: tf.Variable): boolean => v.rank >= 2;

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Number of steps taken (t of the bias correction). */
  t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly decays = new Map<string, boolean>();

  constructor(
    readonly params: ParamStore,
    opts: AdamWOptions,
  ) {
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    for (const [k, x] of [["lr", this.lr], ["beta1", this.beta1], ["beta2", this.beta2], ["eps", this.eps], ["weightDecay", this.weightDecay]] as const) {
      if (!Number.isFinite(x) || x < 0) throw new Error(`AdamW: ${k}=${x} must be a finite number ≥ 0`);
    }
    if (this.beta1 >= 1 || this.beta2 >= 1) throw new Error(`AdamW: beta1=${this.beta1}, beta2=${this.beta2} must be < 1`);
    const decay = opts.decay ?? decayRankAtLeast2;
    for (const [name, p] of params.entries()) {
      // tf.variable shares the initial tensor's data; tidy frees that tensor object, the variable stays
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.decays.set(name, decay(name, p));
    }
  }

  /** Names of the parameters this optimizer updates (the store's creation order). */
  names(): string[] {
    return [...this.m.keys()];
  }

  /** Whether parameter `name` gets weight decay. */
  isDecayed(name: string): boolean {
    return this.decays.get(name) ?? false;
  }

  /**
   * One update. `grads` maps parameter names to gradients of the same shape; a parameter without a gradient is left
   * unchanged (its moments too), like torch. Unknown names or wrong shapes are errors. Does not dispose `grads`.
   */
  step(grads: Record<string, tf.Tensor>, opts: { lr?: number } = {}): void {
    const lr = opts.lr ?? this.lr;
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`AdamW.step: lr=${lr} must be a finite number ≥ 0`);
    for (const [name, g] of Object.entries(grads)) {
      const m = this.m.get(name);
      if (!m) throw new Error(`AdamW.step: gradient for unknown parameter "${name}"; known: ${this.names().join(", ")}`);
      if (!shapesEqual(g.shape, m.shape)) throw new Error(`AdamW.step: gradient "${name}" has shape [${g.shape}], parameter has [${m.shape}]`);
    }
    this.t += 1;
    const t = this.t;
    const bc1 = 1 - Math.pow(this.beta1, t);
    const bc2 = 1 - Math.pow(this.beta2, t);
    tf.tidy(() => {
      const b1 = tf.scalar(this.beta1);
      const b2 = tf.scalar(this.beta2);
      const c1 = tf.scalar(1 - this.beta1);
      const c2 = tf.scalar(1 - this.beta2);
      // step size with both bias corrections folded in: θ −= (η/bc1) · m / (√v / √bc2 + ε)
      const stepSize = tf.scalar(lr / bc1);
      const sqrtBc2 = tf.scalar(Math.sqrt(bc2));
      const eps = tf.scalar(this.eps);
      const keep = tf.scalar(1 - lr * this.weightDecay);
      for (const name of this.m.keys()) {
        const g = grads[name];
        if (g === undefined) continue;
        const p = this.params.get(name);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const mNew = tf.add(tf.mul(b1, m), tf.mul(c1, g));
        const vNew = tf.add(tf.mul(b2, v), tf.mul(c2, tf.mul(g, g)));
        m.assign(mNew);
        v.assign(vNew);
        const decayed = this.weightDecay > 0 && this.decays.get(name) ? tf.mul(p, keep) : p;
        const denom = tf.add(tf.div(tf.sqrt(vNew), sqrtBc2), eps);
        p.assign(tf.sub(decayed, tf.mul(stepSize, tf.div(mNew, denom))));
      }
    });
  }

  /**
   * The optimizer state as named tensors (new tensors the caller owns and must dispose):
   * `m/<param>`, `v/<param>` (first and second moments) and `t` (int32 scalar, steps taken).
   */
  getState(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, m] of this.m) out[`m/${name}`] = tf.clone(m);
    for (const [name, v] of this.v) out[`v/${name}`] = tf.clone(v);
    out.t = tf.scalar(this.t, "int32");
    return out;
  }

  /** The slot names getState() returns, in its order. */
  stateNames(): string[] {
    return [...[...this.m.keys()].map((n) => `m/${n}`), ...[...this.v.keys()].map((n) => `v/${n}`), "t"];
  }

  /** Restores a state from getState() (values are copied; `state` stays the caller's). Names and shapes must match. */
  setState(state: Record<string, tf.Tensor>): void {
    const expected = this.stateNames();
    const missing = expected.filter((n) => !(n in state));
    const extra = Object.keys(state).filter((n) => !expected.includes(n));
    if (missing.length || extra.length) {
      throw new Error(`AdamW.setState: state names do not match the parameters (missing: ${missing.join(", ") || "none"}; unexpected: ${extra.join(", ") || "none"})`);
    }
    for (const [slot, map] of [["m", this.m], ["v", this.v]] as const) {
      for (const [name, x] of map) {
        const s = state[`${slot}/${name}`];
        if (!shapesEqual(s.shape, x.shape)) throw new Error(`AdamW.setState: "${slot}/${name}" has shape [${s.shape}], expected [${x.shape}]`);
        tf.tidy(() => x.assign(s.dtype === "float32" ? s : tf.cast(s, "float32")));
      }
    }
    const t = state.t.dataSync()[0];
    if (!Number.isInteger(t) || t < 0) throw new Error(`AdamW.setState: t=${t} must be an integer ≥ 0`);
    this.t = t;
  }

  dispose(): void {
    for (const x of this.m.values()) x.dispose();
    for (const x of this.v.values()) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
