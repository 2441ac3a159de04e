/**
 * The wasm backend's heap and a guard against its 4 GiB ceiling.
 *
 * tfjs-backend-wasm is a wasm32 module: one instance can address at most 4 GiB − 64 KiB. When a training step needs
 * more, its `malloc` fails and the backend writes through a null pointer or aborts ("memory access out of bounds",
 * "Aborted()"), and the instance is dead. The guard wraps the module's `_malloc` (every tensor buffer the backend
 * allocates goes through it) and throws a `WasmHeapError` that names the heap size, the allocation and what to do,
 * once the heap has grown past `limitBytes` (default 3.75 GiB, leaving room for XNNPACK's internal allocations),
 * or when an allocation fails (the refused block is freed again). The heap never shrinks, so its size after the first training step is the run's
 * high-water mark: `wasmHeapBytes()` reports it.
 */
import * as tf from "@tensorflow/tfjs";

/** The largest heap a wasm32 instance can have (65 535 pages of 64 KiB). */
export const WASM32_MAX_HEAP = 4294901760;
/** Default guard limit: 3.75 GiB. */
export const DEFAULT_HEAP_LIMIT = 3.75 * 2 ** 30;

export class WasmHeapError extends Error {
  override name = "WasmHeapError";
}

interface EmscriptenModule {
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
}

/** The emscripten module of the active wasm backend, or null on another backend. */
function wasmModule(): EmscriptenModule | null {
  if (tf.getBackend() !== "wasm") return null;
  const m = (tf.backend() as unknown as { wasm?: EmscriptenModule }).wasm;
  return m && typeof m._malloc === "function" && m.HEAPU8 instanceof Uint8Array ? m : null;
}

/** Current size of the wasm backend's heap in bytes (its high-water mark), or null when wasm is not active. */
export function wasmHeapBytes(): number | null {
  const m = wasmModule();
  return m ? m.HEAPU8.length : null;
}

export interface HeapGuardOptions {
  /** Heap size in bytes beyond which allocations are refused (default 3.75 GiB; at most 4 GiB − 64 KiB). */
  limitBytes?: number;
  /** Extra words for the error, e.g. "bench-b, batch 128 per worker". */
  context?: string | (() => string);
}

const GIB = 2 ** 30;
const fmt = (b: number) => `${(b / GIB).toFixed(2)} GiB`;

/**
 * Installs the heap guard on the active wasm backend (no-op elsewhere; re-installing replaces the limit).
 * Returns a function that removes it.
 */
export function installWasmHeapGuard(opts: HeapGuardOptions = {}): () => void {
  const m = wasmModule();
  if (!m) return () => {};
  const limit = Math.min(opts.limitBytes ?? DEFAULT_HEAP_LIMIT, WASM32_MAX_HEAP);
  if (!(limit > 0)) throw new Error(`installWasmHeapGuard: limitBytes=${opts.limitBytes} must be a positive number of bytes`);
  const tagged = m as EmscriptenModule & { __ifsqMalloc?: (n: number) => number };
  const original = tagged.__ifsqMalloc ?? m._malloc.bind(m);
  tagged.__ifsqMalloc = original;
  const ctx = () => {
    const c = typeof opts.context === "function" ? opts.context() : opts.context;
    return c ? ` (${c})` : "";
  };
  const advice =
    "the heap of one wasm backend is capped at 4 GiB (wasm32) and the backend would crash; lower batchSize, " +
    "accumulate gradients over smaller batches, or split the batch over more data-parallel workers (each has its own heap)";
  m._malloc = (n: number): number => {
    const before = m.HEAPU8.length;
    const p = original(n);
    const heap = m.HEAPU8.length;
    // refuse allocations that fail, or that grew the heap past the limit (a heap already past it from earlier
    // allocations keeps serving requests that fit in it)
    if ((p === 0 && n > 0) || (heap > before && heap > limit)) {
      if (p !== 0) m._free(p);
      const what = p === 0 ? `could not allocate ${(n / 2 ** 20).toFixed(1)} MiB` : `grew to ${fmt(heap)} allocating ${(n / 2 ** 20).toFixed(1)} MiB`;
      throw new WasmHeapError(`wasm heap ${what}, past the guard's ${fmt(limit)}${ctx()}: ${advice}`);
    }
    return p;
  };
  return () => {
    if (tagged.__ifsqMalloc) m._malloc = tagged.__ifsqMalloc;
    delete tagged.__ifsqMalloc;
  };
}

/**
 * Rough heap estimate for a batch size from a measured one: heap ≈ base + perSample·batch. Given the heap after a
 * first step at `measuredBatch` and the heap before it (`baseBytes`), returns the largest batch below `limitBytes`.
 */
export function maxBatchForHeap(measuredBatch: number, heapAfterBytes: number, baseBytes: number, limitBytes = DEFAULT_HEAP_LIMIT): number {
  const per = (heapAfterBytes - baseBytes) / measuredBatch;
  if (!(per > 0)) return Infinity;
  return Math.max(0, Math.floor((limitBytes - baseBytes) / per));
}
