/**
 * The native engine: tfjs-backend-wasm with its heavy kernels replaced by the system BLAS (OpenBLAS, pthread) through
 * the Node-API addon `build/native/ifsq_native.node` (source native/ifsq_native.c, compiled by scripts/setup.sh).
 *
 * Every tensor stays on the wasm heap; a replaced kernel hands the addon Float32Array views of its inputs and of its
 * freshly allocated output (`dataIdMap` → memoryOffset into the WebAssembly.Memory buffer): no copies. Replaced:
 *   BatchMatMul, _FusedMatMul (no bias/activation)   C = op(A)·op(B), every transpose variant, batched or broadcast
 *   Conv2D                                          NHWC, stride h = w, no dilation: im2col + GEMM
 *   Conv2DBackpropInput, Conv2DBackpropFilter       GEMM + col2im, im2colᵀ·GEMM (wasm has no filter gradient)
 *   Sum, Max over one contiguous block of axes      plain loops (wasm transposes first; its Max is slow)
 *   Add, Sub, Multiply, RealDiv (float32)           one strided pass with broadcasting
 * Anything outside those cases (other dtypes, dilations, NCHW) runs the original wasm kernel. `installNativeKernels`
 * and `removeNativeKernels` swap the kernel registry entries of the "wasm" backend, so the plain wasm engine can be
 * chosen again in the same process (lib/backend.ts does this).
 */
import * as path from "path";
import * as fs from "fs";
import * as tf from "@tensorflow/tfjs";

/** The addon's functions (native/ifsq_native.c). */
export interface NativeAddon {
  setThreads(n: number): void;
  info(): string;
  gemm(batch: number, M: number, N: number, K: number, transA: number, transB: number, A: Float32Array, strideA: number, B: Float32Array, strideB: number, C: Float32Array): void;
  conv2d(...args: [...ConvGeometry, Float32Array, Float32Array, Float32Array]): void;
  convDx(...args: [...ConvGeometry, Float32Array, Float32Array, Float32Array]): void;
  convDw(...args: [...ConvGeometry, Float32Array, Float32Array, Float32Array]): void;
  reduce(op: 0 | 1, outer: number, mid: number, inner: number, x: Float32Array, out: Float32Array): void;
  binary(op: 0 | 1 | 2 | 3, rank: number, shape: number[], stridesA: number[], stridesB: number[], a: Float32Array, b: Float32Array, out: Float32Array): void;
}
/** B, H, W, C, kh, kw, O, stride, padTop, padLeft, Ho, Wo */
type ConvGeometry = [number, number, number, number, number, number, number, number, number, number, number, number];

/** Where setup.sh puts the addon. */
export const ADDON_PATH = path.resolve(fs.realpathSync(__dirname), "..", "build", "native", "ifsq_native.node"); // notebooks/lib is a symlink
/** The command that builds it (said whenever the engine is unavailable). */
export const ENABLE_COMMAND = "bash scripts/setup.sh (as root on Debian: installs gcc, libopenblas-dev and libdnnl-dev, then compiles the addon)";

let addon: NativeAddon | null = null;
let loadError: string | null = null;

/** Loads an addon file; returns it, or the reason it is unavailable (with the command that would enable it). */
export function probeNativeAddon(file: string): { addon: NativeAddon } | { reason: string } {
  if (!fs.existsSync(file)) return { reason: `${path.relative(process.cwd(), file) || file} is not built; enable it with: ${ENABLE_COMMAND}` };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { addon: require(file) as NativeAddon };
  } catch (e) {
    return { reason: `${file} failed to load (${(e as Error).message.split("\n")[0]}); rebuild it with: ${ENABLE_COMMAND}` };
  }
}

/** probeNativeAddon(ADDON_PATH), once per thread. */
export function loadNativeAddon(): { addon: NativeAddon } | { reason: string } {
  if (addon) return { addon };
  if (loadError) return { reason: loadError };
  const r = probeNativeAddon(ADDON_PATH);
  if ("addon" in r) addon = r.addon;
  else loadError = r.reason;
  return r;
}

/** The wasm backend's internals this module uses (tfjs-backend-wasm 4.22 BackendWasm). */
interface WasmBackend {
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}
type KernelArgs = { inputs: Record<string, tf.TensorInfo | undefined>; backend: unknown; attrs?: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Float32Array view of a tensor on the wasm heap (take views only after the output is allocated: the heap may grow). */
function view(backend: WasmBackend, t: tf.TensorInfo): Float32Array {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error(`native engine: tensor [${t.shape}] has no data on the wasm heap`);
  return new Float32Array(backend.wasm.HEAPU8.buffer, d.memoryOffset, size(t.shape));
}

/** C = op(A)·op(B) with tfjs's batch broadcasting (equal batches, or one side of batch 1); null: not handled here. */
function batchMatMul(lib: NativeAddon, be: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean): tf.TensorInfo | null {
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ra = a.shape.length, rb = b.shape.length;
  const M = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  const Kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  if (K !== Kb) throw new Error(`matMul: inner dimensions ${K} (a [${a.shape}]${ta ? "ᵀ" : ""}) and ${Kb} (b [${b.shape}]${tb ? "ᵀ" : ""}) differ`);
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = size(outerA), batchB = size(outerB);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = size(outer);
  // each side is either the whole batch (same order as the output's) or one matrix shared by all
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  if (M * N * K === 0) return null;
  const out = be.makeOutput([...outer, M, N], "float32");
  const A = view(be, a), B = view(be, b), C = view(be, out);
  if (batchB === 1 && batchA > 1 && !ta) lib.gemm(1, batchA * M, N, K, 0, tb ? 1 : 0, A, 0, B, 0, C); // one tall product
  else lib.gemm(batch, M, N, K, ta ? 1 : 0, tb ? 1 : 0, A, batchA === 1 ? 0 : M * K, B, batchB === 1 ? 0 : K * N, C);
  return out;
}

/** Geometry of an NHWC convolution from tfjs's conv info; null when not handled here. */
function geometry(info: tf.backend_util.Conv2DInfo): ConvGeometry | null {
  if (info.dataFormat !== "channelsLast" || info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.strideHeight !== info.strideWidth) return null;
  return [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth, info.outChannels, info.strideHeight, info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth];
}

/**
 * Σ (op 0) or max (op 1) of float32 x over `axes` when they are one contiguous block: x viewed as [outer, mid, inner]
 * → [outer, inner] (wasm's Sum/Max over anything but the last axis transpose first, and its Max is a slow loop:
 * 32 ms for the [4096, 4096] logits of workload B).
 */
function reduceBlock(lib: NativeAddon, be: WasmBackend, x: tf.TensorInfo, axisAttr: number | number[], keepDims: boolean, op: 0 | 1): tf.TensorInfo | null {
  if (x.dtype !== "float32" || x.shape.length === 0) return null;
  const axes = [...tf.util.parseAxisParam(axisAttr, x.shape)].sort((a, b) => a - b);
  if (axes.length === 0 || axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1)) return null;
  const lo = axes[0], hi = axes[axes.length - 1] + 1;
  const outer = size(x.shape.slice(0, lo)), mid = size(x.shape.slice(lo, hi)), inner = size(x.shape.slice(hi));
  if (outer * mid * inner === 0) return null;
  const shape = keepDims ? x.shape.map((d, i) => (i >= lo && i < hi ? 1 : d)) : [...x.shape.slice(0, lo), ...x.shape.slice(hi)];
  const out = be.makeOutput(shape, "float32");
  lib.reduce(op, outer, mid, inner, view(be, x), view(be, out));
  return out;
}

/**
 * a op b (0 add, 1 sub, 2 mul, 3 div) for float32 with tfjs's broadcasting: each operand read with stride 0 along the
 * axes it broadcasts (wasm's broadcasting loop is several times slower than a contiguous pass: 2.2 ms per 2 M-element
 * Multiply in workload A). Axes of size 1 are dropped and runs of axes merged, so most calls are one flat loop.
 */
function binaryOp(lib: NativeAddon, be: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, op: 0 | 1 | 2 | 3): tf.TensorInfo | null {
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const n = size(shape);
  if (n === 0) return null;
  const r = shape.length;
  const strides = (s: number[]) => {
    const pad = [...Array(r - s.length).fill(1), ...s];
    const st = new Array<number>(r);
    let acc = 1;
    for (let i = r - 1; i >= 0; i--) {
      st[i] = pad[i] === 1 ? 0 : acc;
      acc *= pad[i];
    }
    return st;
  };
  const sa = strides(a.shape), sb = strides(b.shape);
  // merge adjacent axes whose strides continue each other (both contiguous, or both broadcast on the same side)
  const dims: number[] = [], da: number[] = [], db: number[] = [];
  for (let i = 0; i < r; i++) {
    if (shape[i] === 1) continue;
    const k = dims.length - 1;
    if (k >= 0 && da[k] === sa[i] * shape[i] && db[k] === sb[i] * shape[i]) {
      dims[k] *= shape[i];
      da[k] = sa[i];
      db[k] = sb[i];
    } else {
      dims.push(shape[i]);
      da.push(sa[i]);
      db.push(sb[i]);
    }
  }
  if (dims.length === 0) dims.push(1), da.push(0), db.push(0);
  if (dims.length > 8) return null;
  // the innermost loop wants unit or zero strides
  const last = dims.length - 1;
  if ((da[last] !== 0 && da[last] !== 1) || (db[last] !== 0 && db[last] !== 1)) return null;
  const out = be.makeOutput(shape, "float32");
  lib.binary(op, dims.length, dims, da, db, view(be, a), view(be, b), view(be, out));
  return out;
}

type ConvAttrs = { strides: number | [number, number]; pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding; dataFormat?: "NHWC" | "NCHW"; dilations?: number | [number, number]; dimRoundingMode?: "floor" | "round" | "ceil" };
const fmt = (a: ConvAttrs) => (a.dataFormat === "NCHW" ? "channelsFirst" : "channelsLast");

function makeKernels(lib: NativeAddon, original: Record<string, KernelFn | undefined>): Record<string, KernelFn> {
  const fallback = (name: string, args: KernelArgs, why: string) => {
    const f = original[name];
    if (!f) throw new Error(`native engine: ${name} ${why}, and the wasm backend has no ${name} kernel`);
    return f(args);
  };
  return {
    BatchMatMul: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const at = args.attrs as { transposeA: boolean; transposeB: boolean };
      return batchMatMul(lib, args.backend as WasmBackend, a, b, at.transposeA, at.transposeB) ?? fallback("BatchMatMul", args, "is not float32 or its batch dims do not broadcast simply");
    },
    _FusedMatMul: (args) => {
      const { a, b, bias, preluActivationWeights } = args.inputs;
      const at = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
      if (bias || preluActivationWeights || (at.activation && at.activation !== "linear")) return fallback("_FusedMatMul", args, "has a bias or an activation");
      return batchMatMul(lib, args.backend as WasmBackend, a!, b!, at.transposeA, at.transposeB) ?? fallback("_FusedMatMul", args, "is not a simple float32 product");
    },
    Add: (args) => binaryOp(lib, args.backend as WasmBackend, args.inputs.a!, args.inputs.b!, 0) ?? fallback("Add", args, "is not float32"),
    Sub: (args) => binaryOp(lib, args.backend as WasmBackend, args.inputs.a!, args.inputs.b!, 1) ?? fallback("Sub", args, "is not float32"),
    Multiply: (args) => binaryOp(lib, args.backend as WasmBackend, args.inputs.a!, args.inputs.b!, 2) ?? fallback("Multiply", args, "is not float32"),
    RealDiv: (args) => binaryOp(lib, args.backend as WasmBackend, args.inputs.a!, args.inputs.b!, 3) ?? fallback("RealDiv", args, "is not float32"),
    Sum: (args) => {
      const at = args.attrs as { axis: number | number[]; keepDims: boolean };
      return reduceBlock(lib, args.backend as WasmBackend, args.inputs.x!, at.axis, at.keepDims, 0) ?? fallback("Sum", args, "is not a float32 sum over one block of axes");
    },
    Max: (args) => {
      const at = args.attrs as { reductionIndices: number | number[]; keepDims: boolean };
      return reduceBlock(lib, args.backend as WasmBackend, args.inputs.x!, at.reductionIndices, at.keepDims, 1) ?? fallback("Max", args, "is not a float32 max over one block of axes");
    },
    Conv2D: (args) => {
      const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
      const at = args.attrs as ConvAttrs;
      const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], at.strides, at.dilations ?? 1, at.pad, at.dimRoundingMode, false, fmt(at));
      const g = geometry(info);
      if (!g || x.dtype !== "float32" || filter.dtype !== "float32") return fallback("Conv2D", args, "has dilations, unequal strides, NCHW or a non-float32 input");
      const be = args.backend as WasmBackend;
      const out = be.makeOutput(info.outShape, "float32");
      lib.conv2d(...g, view(be, x), view(be, filter), view(be, out));
      return out;
    },
    Conv2DBackpropInput: (args) => {
      const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const at = args.attrs as ConvAttrs & { inputShape: [number, number, number, number] };
      const info = tf.backend_util.computeConv2DInfo(at.inputShape, filter.shape as [number, number, number, number], at.strides, 1, at.pad, at.dimRoundingMode, false, fmt(at));
      const g = geometry(info);
      if (!g || dy.dtype !== "float32") return fallback("Conv2DBackpropInput", args, "has unequal strides, NCHW or a non-float32 input");
      const be = args.backend as WasmBackend;
      const out = be.makeOutput(at.inputShape, "float32");
      lib.convDx(...g, view(be, dy), view(be, filter), view(be, out));
      return out;
    },
    Conv2DBackpropFilter: (args) => {
      const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const at = args.attrs as ConvAttrs & { filterShape: [number, number, number, number] };
      const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], at.filterShape, at.strides, 1, at.pad, at.dimRoundingMode, false, fmt(at));
      const g = geometry(info);
      if (!g || x.dtype !== "float32") return fallback("Conv2DBackpropFilter", args, "has unequal strides, NCHW or a non-float32 input");
      const be = args.backend as WasmBackend;
      const out = be.makeOutput(at.filterShape, "float32");
      lib.convDw(...g, view(be, x), view(be, dy), view(be, out));
      return out;
    },
  };
}

const NAMES = ["BatchMatMul", "_FusedMatMul", "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "Sum", "Max", "Add", "Sub", "Multiply", "RealDiv"];
let saved: Map<string, tf.KernelConfig | undefined> | null = null;

/** Whether the current backend is wasm with the native kernels installed. */
export function nativeKernelsActive(): boolean {
  return saved !== null && tf.getBackend() === "wasm";
}

/** Replaces the wasm backend's heavy kernels by the addon's (idempotent); sets the BLAS thread count. */
export function installNativeKernels(lib: NativeAddon, threads: number): void {
  lib.setThreads(threads);
  if (saved) return;
  const originals = new Map<string, tf.KernelConfig | undefined>();
  for (const name of NAMES) originals.set(name, tf.getKernel(name, "wasm"));
  const fns = makeKernels(lib, Object.fromEntries([...originals].map(([n, k]) => [n, k?.kernelFunc as KernelFn | undefined])));
  for (const name of NAMES) {
    if (originals.get(name)) tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fns[name] as unknown as tf.KernelFunc });
  }
  saved = originals;
}

/** Puts the wasm backend's own kernels back (idempotent). */
export function removeNativeKernels(): void {
  if (!saved) return;
  for (const name of NAMES) {
    tf.unregisterKernel(name, "wasm");
    const k = saved.get(name);
    if (k) tf.registerKernel(k);
  }
  saved = null;
}
