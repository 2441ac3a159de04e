/**
 * Data parallelism over worker threads: one tfjs backend (wasm by default) per worker, each computing the gradient
 * of its slice of the batch; the main thread averages them and the trainer applies the optimizer.
 *
 *   const dp = await DataParallel.start({ kind: task.kind, config: task.config, params: task.params, workers: 2 });
 *   try { await train(task, { gradFn: dp.gradFn(task.params) }); } finally { await dp.close(); }
 *   // or, the same in one call:  await trainDataParallel(task, { workers: 2 });
 *
 * Why: tfjs-wasm is single-threaded in Node (its threaded build is switched off there), so two workers are the way
 * to use two cores (measured 1.7–1.8× on the benchmark workloads); each worker also has its own 4 GiB wasm heap.
 *
 * Each step:
 *   1. the main thread writes the current parameters into one shared Float32Array (SharedArrayBuffer, laid out by
 *      parameter name) — the workers copy them into their variables;
 *   2. worker w builds the full batch `task.batch(step)` (deterministic in the step), keeps rows [lo_w, hi_w) of
 *      every tensor whose first axis is the batch (`shardBatch`, or the task's own `shardBatch(b, lo, hi)`), and
 *      computes loss and gradients with `gradTensors`, writing them into its own shared gradient buffer;
 *   3. the main thread averages them weighted by rows: g = Σ_w (n_w / N)·g_w, the same as the gradient of the mean
 *      loss over the whole batch (the task's loss must be a per-sample mean, as every kind's is).
 * Every worker gets the step's own ctx.seed and `ctx.rows` = its rows of the batch; a loss draws its per-row noise
 * for the whole batch and keeps its rows (./batch-rows), so the update equals the single-process one up to float32
 * summation order, for any worker count. A loss that couples the rows of a batch (a contrastive loss whose
 * negatives are the other rows) is not a per-row mean: its kind must not be trained data-parallel (./workers).
 *
 * Between steps the pool also serves the task's evaluation (`evalPool`, passed to train() as TrainOptions.evalPool):
 * `call(method, args)` copies the weights being evaluated into the shared buffer and runs `task.remote[method](args)`
 * on the next free worker (e.g. drawing one batch of gFID samples), so an evaluation uses every core as a step does.
 *
 * Workers rebuild the task from (kind, resolved config) through a kind registry they make themselves: they require
 * `kindsModule` (an absolute path, e.g. lib/experiments/kinds.ts or bench/workloads.ts) and call its exported
 * `makeKinds({ runsDir })`. Nothing is registered by importing a module. A worker runs TypeScript through tsx's
 * require hook when this file is itself TypeScript.
 */
import { Worker } from "worker_threads";
import * as path from "path";
import * as fs from "fs";
import * as tf from "@tensorflow/tfjs";
import type { ParamStore } from "../nn/params";
import { train, type EvalPool, type GradResult, type StepContext, type TrainOptions, type TrainResult, type TrainTask } from "./trainer";

export interface DataParallelOptions {
  /** The task's kind: a name in the registry of `kindsModule`. */
  kind: string;
  /** Its resolved config (the workers call makeTask on it). */
  config: Record<string, unknown>;
  /** Number of workers (default 2: one per core of the project machine). */
  workers?: number;
  /** Backend of every worker (default "wasm"). */
  backend?: "native" | "wasm" | "cpu";
  /** Absolute path of a module exporting `makeKinds(opts: { runsDir?: string }): KindRegistry` that holds `kind`. */
  kindsModule: string;
  /** Runs folder passed to `makeKinds` (where a generator task finds its tokenizer run). */
  runsDir?: string;
  /** Batch size to split (default config.batchSize). */
  batchSize?: number;
  /** Guard limit of each worker's wasm heap in bytes (default 3.75 GiB; see ./wasm-heap). */
  heapLimitBytes?: number;
}

/** Where the time of the last step went (ms). */
export interface DataParallelTiming {
  /** writing the parameters into the shared buffer */
  syncMs: number;
  /** slowest worker: copy-in + batch + forward/backward + copy-out */
  workerMs: number[];
  /** averaging the gradients */
  reduceMs: number;
  /** the whole gradients() call */
  totalMs: number;
}

interface LayoutEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

type Msg =
  | { type: "ready"; gradNames: null; heap: number | null; backend: string }
  | { type: "result"; loss: number; parts: Record<string, number>; gradNames: string[]; ms: number; heap: number | null }
  | { type: "called"; result: unknown; ms: number; heap: number | null }
  | { type: "error"; message: string; stack?: string };

/** Rows [lo, hi) of each tensor in `b` whose first axis has length `n`; other values are kept as they are. */
export function shardBatch<B>(b: B, lo: number, hi: number, n: number): B {
  const walk = (v: unknown): unknown => {
    if (v instanceof tf.Tensor) {
      if (v.rank >= 1 && v.shape[0] === n) return tf.slice(v, [lo], [hi - lo]);
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(b) as B;
}

/** Contiguous row ranges of a batch of n split into w parts (sizes differ by at most 1). */
export function shardRanges(n: number, w: number): [number, number][] {
  const out: [number, number][] = [];
  let lo = 0;
  for (let i = 0; i < w; i++) {
    const size = Math.floor(n / w) + (i < n % w ? 1 : 0);
    out.push([lo, lo + size]);
    lo += size;
  }
  return out;
}

/** The worker entry and how to start it: compiled JS next to this file, else the .ts through tsx's require hook. */
function workerEntry(): { file: string; tsHook: string | null } {
  const js = path.join(__dirname, "dp-worker.js");
  if (fs.existsSync(js)) return { file: js, tsHook: null };
  const ts = path.join(__dirname, "dp-worker.ts");
  let hook: string;
  try {
    hook = require.resolve("tsx/cjs");
  } catch {
    throw new Error(`data-parallel: the worker entry ${ts} is TypeScript and the tsx package (its require hook) is not installed`);
  }
  return { file: ts, tsHook: hook };
}

const BOOT = `
const { workerData } = require("worker_threads");
if (workerData.tsHook) require(workerData.tsHook);
require(workerData.entry);
`;

export class DataParallel {
  readonly workers: number;
  readonly batchSize: number;
  /** Timing of the last gradients() call. */
  lastTiming: DataParallelTiming | null = null;
  /** Heap size of each worker's wasm backend after its last step (bytes; null on cpu). */
  heaps: (number | null)[];
  private readonly threads: Worker[];
  private readonly layout: LayoutEntry[];
  private readonly paramView: Float32Array;
  private readonly gradViews: Float32Array[];
  private readonly ranges: [number, number][];
  private pending: Array<{ resolve: (m: Msg) => void; reject: (e: Error) => void } | null>;
  private closed = false;
  private failure: Error | null = null;
  /** Workers without a call in flight, and the calls waiting for one (EvalPool). */
  private freeWorkers: number[];
  private waiting: Array<(w: number) => void> = [];
  /** Copying the weights of the calls in flight into the shared buffer (once per batch of calls). */
  private callSync: Promise<void> | null = null;
  private callsInFlight = 0;

  private constructor(threads: Worker[], layout: LayoutEntry[], paramView: Float32Array, gradViews: Float32Array[], batchSize: number) {
    this.threads = threads;
    this.workers = threads.length;
    this.layout = layout;
    this.paramView = paramView;
    this.gradViews = gradViews;
    this.batchSize = batchSize;
    this.ranges = shardRanges(batchSize, threads.length);
    this.pending = threads.map(() => null);
    this.freeWorkers = threads.map((_, w) => w);
    this.heaps = threads.map(() => null);
    threads.forEach((t, w) => {
      t.on("message", (m: Msg) => this.settle(w, m));
      t.on("error", (e) => this.fail(w, e));
      t.on("exit", (code) => {
        if (!this.closed) this.fail(w, new Error(`exited with code ${code}`));
      });
    });
  }

  /**
   * Starts the workers and builds the task in each. `params` (the main thread's task.params) fixes the layout: the
   * trainable parameters, by name, that the workers receive and return gradients for.
   */
  static async start(opts: DataParallelOptions & { params: ParamStore }): Promise<DataParallel> {
    const W = opts.workers ?? 2;
    if (!Number.isInteger(W) || W < 1) throw new Error(`data-parallel: workers=${W} must be a positive integer`);
    const batchSize = opts.batchSize ?? (opts.config.batchSize as number);
    if (!Number.isInteger(batchSize) || batchSize < W) {
      throw new Error(`data-parallel: batchSize=${batchSize} must be an integer ≥ workers=${W} (every worker needs at least one row)`);
    }
    const layout: LayoutEntry[] = [];
    let total = 0;
    for (const [name, v] of opts.params.entries()) {
      if (!v.trainable) continue;
      layout.push({ name, shape: v.shape.slice(), offset: total, size: v.size });
      total += v.size;
    }
    const paramBuf = new SharedArrayBuffer(4 * total);
    const gradBufs = Array.from({ length: W }, () => new SharedArrayBuffer(4 * total));
    if (typeof opts.kindsModule !== "string" || !path.isAbsolute(opts.kindsModule)) {
      throw new Error(`data-parallel: kindsModule=${JSON.stringify(opts.kindsModule)} must be the absolute path of a module exporting makeKinds (e.g. require.resolve("lib/experiments/kinds"))`);
    }
    const { file, tsHook } = workerEntry();
    const threads = Array.from({ length: W }, (_, w) => {
      const t = new Worker(BOOT, {
        eval: true,
        workerData: {
          entry: file,
          tsHook,
          init: {
            worker: w,
            workers: W,
            kind: opts.kind,
            config: opts.config,
            backend: opts.backend ?? "wasm",
            kindsModule: opts.kindsModule,
            runsDir: opts.runsDir,
            layout,
            paramBuf,
            gradBuf: gradBufs[w],
            batchSize,
            heapLimitBytes: opts.heapLimitBytes,
          },
        },
      });
      return t;
    });
    const dp = new DataParallel(threads, layout, new Float32Array(paramBuf), gradBufs.map((b) => new Float32Array(b)), batchSize);
    try {
      const ready = await Promise.all(threads.map((_, w) => dp.expect(w)));
      ready.forEach((m, w) => m.type === "ready" && (dp.heaps[w] = m.heap));
    } catch (e) {
      await dp.close();
      throw e;
    }
    dp.idle();
    return dp;
  }

  private expect(w: number): Promise<Msg> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.pending[w] = { resolve, reject }));
  }

  private settle(w: number, m: Msg): void {
    const p = this.pending[w];
    this.pending[w] = null;
    if (!p) return;
    if (m.type === "error") p.reject(new Error(`data-parallel worker ${w}: ${m.message}`));
    else p.resolve(m);
  }

  private fail(w: number, e: Error): void {
    this.failure ??= new Error(`data-parallel worker ${w} failed: ${e.message}`);
    for (const p of this.pending) p?.reject(this.failure);
    this.pending = this.pending.map(() => null);
  }

  /** Idle workers do not keep the process alive; busy ones do. */
  private idle(): void {
    for (const t of this.threads) t.unref();
  }

  /** The current values of `params` → the shared buffer the workers copy from. */
  private async writeParams(params: ParamStore): Promise<void> {
    for (const e of this.layout) this.paramView.set((await params.get(e.name).data()) as Float32Array, e.offset);
  }

  /**
   * Loss, parts and averaged gradients of step `step` with the current values of `params` (the same ParamStore
   * layout the pool was started with).
   */
  async gradients(params: ParamStore, step: number, ctx: StepContext): Promise<GradResult> {
    if (this.closed) throw new Error("data-parallel: the pool is closed");
    if (this.failure) throw this.failure;
    const t0 = performance.now();
    await this.writeParams(params);
    const t1 = performance.now();
    for (const t of this.threads) t.ref();
    let results: Msg[];
    try {
      const waits = this.threads.map((_, w) => this.expect(w));
      this.threads.forEach((t, w) => {
        const [lo, hi] = this.ranges[w];
        t.postMessage({ type: "step", step, ctx: { step: ctx.step, seed: ctx.seed, rows: { lo, hi, of: this.batchSize } }, lo, hi });
      });
      results = await Promise.all(waits);
    } finally {
      this.idle();
    }
    const t2 = performance.now();
    const N = this.batchSize;
    const weights = this.ranges.map(([lo, hi]) => (hi - lo) / N);
    let loss = 0;
    const parts: Record<string, number> = {};
    const names = new Set<string>();
    results.forEach((m, w) => {
      if (m.type !== "result") return;
      loss += weights[w] * m.loss;
      for (const [k, v] of Object.entries(m.parts)) parts[k] = (parts[k] ?? 0) + weights[w] * v;
      for (const n of m.gradNames) names.add(n);
      this.heaps[w] = m.heap;
    });
    // one pass over the workers' buffers into one fresh array; each parameter's gradient is a view of it
    const sum = new Float32Array(this.paramView.length);
    const v = this.gradViews;
    if (this.workers === 1) sum.set(v[0]);
    else if (this.workers === 2) {
      const [a0, a1] = weights;
      const [s0, s1] = v;
      for (let i = 0; i < sum.length; i++) sum[i] = a0 * s0[i] + a1 * s1[i];
    } else {
      for (let w = 0; w < this.workers; w++) {
        const a = weights[w];
        const src = v[w];
        for (let i = 0; i < sum.length; i++) sum[i] += a * src[i];
      }
    }
    const grads: Record<string, Float32Array> = {};
    for (const e of this.layout) if (names.has(e.name)) grads[e.name] = sum.subarray(e.offset, e.offset + e.size);
    const t3 = performance.now();
    this.lastTiming = { syncMs: t1 - t0, workerMs: results.map((m) => (m.type === "result" ? m.ms : NaN)), reduceMs: t3 - t2, totalMs: t3 - t0 };
    return { loss, parts, grads };
  }

  /**
   * Runs `task.remote[method](args)` on the next free worker with the current values of `params` copied in (written
   * to the shared buffer once while calls are in flight: the values must not change before the last one returns).
   * Resolves with the result and the worker's seconds. Not to be mixed with gradients() calls in flight.
   */
  async call(params: ParamStore, method: string, args: unknown): Promise<{ result: unknown; seconds: number }> {
    if (this.closed) throw new Error("data-parallel: the pool is closed");
    if (this.failure) throw this.failure;
    this.callsInFlight++;
    try {
      this.callSync ??= this.writeParams(params);
      await this.callSync;
      const w = this.freeWorkers.length ? this.freeWorkers.shift()! : await new Promise<number>((r) => this.waiting.push(r));
      const t = this.threads[w];
      t.ref();
      try {
        const wait = this.expect(w);
        t.postMessage({ type: "call", method, args });
        const m = await wait;
        if (m.type !== "called") throw new Error(`data-parallel worker ${w}: answered a call with ${m.type}`);
        this.heaps[w] = m.heap;
        return { result: m.result, seconds: m.ms / 1000 };
      } finally {
        t.unref();
        const next = this.waiting.shift();
        if (next) next(w);
        else this.freeWorkers.push(w);
      }
    } finally {
      if (--this.callsInFlight === 0) this.callSync = null;
    }
  }

  /** The pool as helpers of `train`'s evaluations (TrainOptions.evalPool): calls see the current values of `params`. */
  evalPool(params: ParamStore): EvalPool {
    return { workers: this.workers, call: (method, args) => this.call(params, method, args) };
  }

  /** A `gradFn` for `train(task, { gradFn })`: gradients of each step with the current values of `params`. */
  gradFn(params: ParamStore): (step: number, ctx: StepContext) => Promise<GradResult> {
    return (step, ctx) => this.gradients(params, step, ctx);
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

/**
 * `train(task, opts)` with gradients from a pool of `workers` worker threads (started for the call, closed after).
 * The workers rebuild the task from task.kind and task.config with the registry of `kindsModule`.
 */
export async function trainDataParallel<B>(
  task: TrainTask<B>,
  opts: TrainOptions & Omit<DataParallelOptions, "kind" | "config">,
): Promise<TrainResult> {
  const { workers, backend, kindsModule, batchSize, heapLimitBytes, ...trainOpts } = opts;
  const dp = await DataParallel.start({ kind: task.kind, config: task.config, params: task.params, workers, backend, kindsModule, runsDir: opts.runsDir, batchSize, heapLimitBytes });
  try {
    return await train(task, { ...trainOpts, gradFn: dp.gradFn(task.params), evalPool: dp.evalPool(task.params) });
  } finally {
    await dp.close();
  }
}
