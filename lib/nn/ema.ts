/**
 * Exponential moving average of a model's weights (the "EMA model" DiT, SiT and LlamaGen evaluate).
 *
 *   θ̄ ← d·θ̄ + (1 − d)·θ          after every optimizer step; θ̄₀ = θ₀ (a copy of the initial weights)
 *
 * The shadow weights live next to the ParamStore, by parameter name. To evaluate with them, either swap them into
 * the store for a while (`swapIn()` … `swapOut()`, or `withWeights(fn)`), or copy them into another store of the
 * same architecture (`copyTo(store)`).
 */
import * as tf from "@tensorflow/tfjs";
import type { ParamStore } from "./params";

export class EMA {
  /** Number of update() calls so far. */
  updates = 0;
  private readonly shadow = new Map<string, tf.Variable>();
  private swapped = false;

  /** @param decay d in [0, 1): 0.999 averages over roughly the last 1000 steps. */
  constructor(
    readonly params: ParamStore,
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA: decay=${decay} must be in [0, 1)`);
    for (const [name, p] of params.entries()) this.shadow.set(name, tf.tidy(() => tf.variable(tf.clone(p), false)));
  }

  /** Whether the EMA weights are currently swapped into the ParamStore. */
  get isSwappedIn(): boolean {
    return this.swapped;
  }

  /**
   * θ̄ ← d·θ̄ + (1 − d)·θ for every parameter, with d = `decay` of this call (default: the constructor's). A warm-up
   * passes min(decay, (1 + t)/(10 + t)) (`emaDecayAt`), so the average does not stay near θ₀ early in a short run.
   */
  update(decay = this.decay): void {
    if (this.swapped) throw new Error("EMA.update: the EMA weights are swapped into the store; call swapOut() first");
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA.update: decay=${decay} must be in [0, 1)`);
    tf.tidy(() => {
      const d = tf.scalar(decay);
      const c = tf.scalar(1 - decay);
      for (const [name, s] of this.shadow) s.assign(tf.add(tf.mul(d, s), tf.mul(c, this.params.get(name))));
    });
    this.updates += 1;
  }

  /** The shadow variable of one parameter (owned by the EMA). */
  get(name: string): tf.Variable {
    const s = this.shadow.get(name);
    if (!s) throw new Error(`EMA: no parameter "${name}"`);
    return s;
  }

  /** Exchanges the store's weights and the EMA weights (a second call undoes the first). */
  swap(): void {
    tf.tidy(() => {
      for (const [name, s] of this.shadow) {
        const p = this.params.get(name);
        const tmp = tf.clone(p);
        p.assign(s);
        s.assign(tmp);
      }
    });
    this.swapped = !this.swapped;
  }

  /** Puts the EMA weights into the store (the training weights are kept aside). */
  swapIn(): void {
    if (this.swapped) throw new Error("EMA.swapIn: already swapped in");
    this.swap();
  }

  /** Restores the training weights. */
  swapOut(): void {
    if (!this.swapped) throw new Error("EMA.swapOut: not swapped in");
    this.swap();
  }

  /** Runs fn with the EMA weights in the store and restores the training weights afterwards, even on error. */
  async withWeights<T>(fn: () => T | Promise<T>): Promise<T> {
    this.swapIn();
    try {
      return await fn();
    } finally {
      this.swapOut();
    }
  }

  /** Copies the EMA weights into `store` (same names and shapes, e.g. a second instance of the model). */
  copyTo(store: ParamStore): void {
    const theirs = store.names();
    const mine = [...this.shadow.keys()];
    const missing = mine.filter((n) => !store.has(n));
    if (missing.length || theirs.length !== mine.length) {
      throw new Error(`EMA.copyTo: the target store's parameters differ (missing there: ${missing.join(", ") || "none"}; it has ${theirs.length}, the EMA ${mine.length})`);
    }
    // While swapped in, the shadow holds the training weights and the store the EMA weights.
    const src = this.swapped ? this.params : null;
    for (const [name, s] of this.shadow) {
      const target = store.get(name);
      const from = src ? src.get(name) : s;
      if (target.shape.join() !== from.shape.join()) throw new Error(`EMA.copyTo: "${name}" has shape [${from.shape}], the target [${target.shape}]`);
      if (target !== from) target.assign(from);
    }
  }

  /** The EMA weights as named tensors `<param>` (new tensors the caller owns) plus `updates` (int32 scalar). */
  getState(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, s] of this.shadow) out[name] = tf.clone(this.swapped ? this.params.get(name) : s);
    out.updates = tf.scalar(this.updates, "int32");
    return out;
  }

  /** Names getState() returns. */
  stateNames(): string[] {
    return [...this.shadow.keys(), "updates"];
  }

  /** Restores getState()'s output (copied; `state` stays the caller's). */
  setState(state: Record<string, tf.Tensor>): void {
    if (this.swapped) throw new Error("EMA.setState: swapOut() first");
    const expected = this.stateNames();
    const missing = expected.filter((n) => !(n in state));
    const extra = Object.keys(state).filter((n) => !expected.includes(n));
    if (missing.length || extra.length) {
      throw new Error(`EMA.setState: names do not match the parameters (missing: ${missing.join(", ") || "none"}; unexpected: ${extra.join(", ") || "none"})`);
    }
    for (const [name, s] of this.shadow) {
      const x = state[name];
      if (x.shape.join() !== s.shape.join()) throw new Error(`EMA.setState: "${name}" has shape [${x.shape}], expected [${s.shape}]`);
      s.assign(x);
    }
    this.updates = state.updates.dataSync()[0];
  }

  dispose(): void {
    if (this.swapped) this.swapOut();
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}

/**
 * The decay of EMA update number t (0-based) with warm-up: min(d, (1 + t)/(10 + t)), i.e. 0.1, 0.18, 0.25, … until it
 * reaches d (at t = (10d − 1)/(1 − d): 890 for d = 0.99). Without warm-up: d.
 */
export function emaDecayAt(decay: number, t: number, warmup: boolean): number {
  return warmup ? Math.min(decay, (1 + t) / (10 + t)) : decay;
}
