/**
 * Custom-gradient ops whose input gradients are computed lazily: only for the inputs that lie on the path to the
 * differentiated variables (like tfjs's built-in kernels, unlike `tf.customGrad`, which computes every input's
 * gradient eagerly). So a frozen network does not pay for weight gradients and the first layer does not pay for the
 * gradient of its data input.
 *
 * Built on the engine's `runKernelFunc` (the function behind `tf.customGrad`, private in the typings of tfjs 4.22);
 * when it is missing, falls back to `tf.customGrad`, which computes all gradients.
 */
import * as tf from "@tensorflow/tfjs";

/** Saves tensors for the backward pass (the engine keeps copies until the gradient has run). */
export type SaveFn = (tensors: tf.Tensor[]) => void;

/** One thunk per input, in input order; each returns the gradient of that input (same shape). */
export type GradThunks = Array<() => tf.Tensor>;

interface KernelFuncEngine {
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: SaveFn) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<number, () => tf.Tensor>;
    inputs: Record<number, tf.Tensor>;
  }): tf.Tensor;
}

function kernelEngine(): KernelFuncEngine | null {
  const eng = tf.engine() as unknown as Partial<KernelFuncEngine>;
  return typeof eng.runKernelFunc === "function" ? (eng as KernelFuncEngine) : null;
}

/**
 * Saves tensors without copying them: the engine's save clones each tensor with an Identity kernel, which on wasm
 * copies the buffer (time, and heap under the 4 GiB ceiling). Tensors are immutable (a Variable's assign swaps its
 * buffer), so a reshape-view that shares the buffer and holds a reference is an exact snapshot.
 */
function saveShared(save: SaveFn, tensors: tf.Tensor[]): void {
  const eng = tf.engine() as unknown as { clone?: (t: tf.Tensor) => tf.Tensor };
  eng.clone = (t: tf.Tensor) => tf.reshape(t, t.shape);
  try {
    save(tensors);
  } finally {
    delete eng.clone; // back to the prototype's method
  }
}

/**
 * Runs `forward` (which may call `save`) with `inputs` recorded on the gradient tape; `backward(dy, saved)` returns
 * one gradient thunk per input, called only for the inputs whose gradient is needed.
 * `forward` must compute its value from `inputs` (and constants); intermediate tensors are tidied.
 */
export function customOp(
  inputs: tf.Tensor[],
  forward: (save: SaveFn) => tf.Tensor,
  backward: (dy: tf.Tensor, saved: tf.Tensor[]) => GradThunks,
): tf.Tensor {
  const eng = kernelEngine();
  if (eng) {
    const inputMap: Record<number, tf.Tensor> = {};
    inputs.forEach((t, i) => (inputMap[i] = t));
    return eng.runKernelFunc({
      forwardFunc: (_backend, save) => forward((ts) => saveShared(save, ts)),
      backwardsFunc: (dy, saved) => {
        const thunks = backward(dy, saved);
        const map: Record<number, () => tf.Tensor> = {};
        thunks.forEach((g, i) => (map[i] = g));
        return map;
      },
      inputs: inputMap,
    });
  }
  // Fallback: every gradient is computed.
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as SaveFn;
    return {
      value: forward(save),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, saved).map((g) => g()),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(...inputs);
}

/**
 * A custom op with several outputs (tfjs's engine supports them; tf.customGrad does not): `forward` returns the
 * outputs, `backward(dys, saved)` gets one gradient per output (zeros for an unused output) and returns one thunk
 * per input, as in customOp.
 */
export function customOpMulti(
  inputs: tf.Tensor[],
  forward: (save: SaveFn) => tf.Tensor[],
  backward: (dys: tf.Tensor[], saved: tf.Tensor[]) => GradThunks,
): tf.Tensor[] {
  const eng = kernelEngine() as unknown as {
    runKernelFunc(params: {
      forwardFunc: (backend: unknown, save: SaveFn) => tf.Tensor[];
      backwardsFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => Record<number, () => tf.Tensor>;
      inputs: Record<number, tf.Tensor>;
    }): tf.Tensor | tf.Tensor[];
  } | null;
  if (!eng) throw new Error("customOpMulti: this tfjs engine has no runKernelFunc (needed for ops with several outputs)");
  const inputMap: Record<number, tf.Tensor> = {};
  inputs.forEach((t, i) => (inputMap[i] = t));
  const out = eng.runKernelFunc({
    forwardFunc: (_backend, save) => forward((ts) => saveShared(save, ts)),
    backwardsFunc: (dy, saved) => {
      const thunks = backward(Array.isArray(dy) ? dy : [dy], saved);
      const map: Record<number, () => tf.Tensor> = {};
      thunks.forEach((g, i) => (map[i] = g));
      return map;
    },
    inputs: inputMap,
  });
  return Array.isArray(out) ? out : [out];
}
