/**
 * Named, seeded parameters. Every model keeps its weights in one ParamStore: a flat, ordered map
 * name → tf.Variable. Names are stable ("enc.down0.conv.w"), so checkpoints, optimizers (one state per name),
 * EMA and worker threads all address a parameter the same way.
 *
 * Initial values depend only on (store seed, parameter name), never on creation order.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../rng";

/** How a parameter starts. fanIn/fanOut are read from the shape: [..., in, out] (conv: [kh, kw, in, out]). */
export type Init =
  | "zeros"
  | "ones"
  | { normal: number } // N(0, std²)
  | { uniform: number } // U(−a, a)
  | "xavier" // U(±√(6/(fanIn+fanOut)))
  | "kaiming"; // U(±√(1/fanIn)), torch's default for Linear/Conv weights

function fans(shape: number[]): [number, number] {
  if (shape.length < 2) return [shape[0] ?? 1, shape[0] ?? 1];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

/** Creates the initial value of a parameter (a new tensor the caller owns). */
export function initTensor(shape: number[], init: Init, seed: number): tf.Tensor {
  if (init === "zeros") return tf.zeros(shape);
  if (init === "ones") return tf.ones(shape);
  const [fanIn, fanOut] = fans(shape);
  if (init === "xavier") {
    const a = Math.sqrt(6 / (fanIn + fanOut));
    return tf.randomUniform(shape, -a, a, "float32", seed);
  }
  if (init === "kaiming") {
    const a = Math.sqrt(1 / fanIn);
    return tf.randomUniform(shape, -a, a, "float32", seed);
  }
  if ("normal" in init) return tf.randomNormal(shape, 0, init.normal, "float32", seed);
  return tf.randomUniform(shape, -init.uniform, init.uniform, "float32", seed);
}

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();

  /** @param seed root seed of this model's initialisation */
  constructor(readonly seed: number) {}

  /** Creates a trainable parameter. Throws on a duplicate name or a bad shape. */
  add(name: string, shape: number[], init: Init = "kaiming"): tf.Variable {
    if (this.vars.has(name)) throw new Error(`ParamStore: parameter "${name}" already exists`);
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) throw new Error(`ParamStore: parameter "${name}" has a bad shape [${shape}]`);
    const v = tf.tidy(() => tf.variable(initTensor(shape, init, mixSeed(this.seed, name)), true));
    this.vars.set(name, v);
    return v;
  }

  /** A view that prefixes names: scope("enc").add("w", …) creates "enc.w". */
  scope(prefix: string): ParamScope {
    return new ParamScope(this, prefix);
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`ParamStore: no parameter "${name}"`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  /** Names in creation order. */
  names(): string[] {
    return [...this.vars.keys()];
  }

  /** [name, variable] in creation order. */
  entries(): [string, tf.Variable][] {
    return [...this.vars.entries()];
  }

  /** Variables in creation order (the order optimizers and gradients use). */
  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Total number of scalars. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

export class ParamScope {
  constructor(
    readonly store: ParamStore,
    readonly prefix: string,
  ) {}

  add(name: string, shape: number[], init?: Init): tf.Variable {
    return this.store.add(`${this.prefix}.${name}`, shape, init);
  }

  scope(prefix: string): ParamScope {
    return new ParamScope(this.store, `${this.prefix}.${prefix}`);
  }
}
