/**
 * Timing loops of the benchmark: training steps (single backend or data-parallel workers), forward-only passes and
 * per-kernel profiles. One call measures one (task, backend) in the current process; scripts/bench.ts runs each in
 * its own child process so peak RSS and the wasm heap are per row.
 *
 * A training step = batch → loss + gradients (tf.variableGrads through the trainer's gradTensors) → loss read back
 * → Adam update (lib/nn/adamw, weight decay 0); the batch is built before the clock starts. The same loop as
 * lib/train/trainer without clipping, EMA, metrics and checkpoints.
 */
import * as tf from "@tensorflow/tfjs";
import { currentBackend } from "../lib/backend";
import { mixSeed } from "../lib/rng";
import { AdamW } from "../lib/nn/adamw";
import { gradTensors, type TrainTask } from "../lib/train/trainer";
import { DataParallel } from "../lib/train/data-parallel";
import { installWasmHeapGuard, wasmHeapBytes } from "../lib/train/wasm-heap";

export interface BenchRow {
  workload: string;
  backend: string;
  batch: number;
  params: number;
  /** median ms per training step after warm-up */
  msPerStep: number;
  /** median CPU ms of the process per step (all its threads; robust to other load on the machine) */
  cpuMsPerStep: number;
  msMin: number;
  msMax: number;
  stepsTimed: number;
  warmup: number;
  /** the first step (operator creation, heap growth) */
  firstStepMs: number;
  unitsPerSec: number;
  unit: string;
  gflopPerStep: number;
  gflops: number;
  peakRssMB: number;
  /** wasm heap high-water mark (main thread; DP: the largest worker heap) */
  wasmHeapMB: number | null;
  tensorsAfterFirst: number;
  tensorsAfterLast: number;
  /** resident set after the first step and at the end (memory flat ⇔ about equal) */
  rssAfterFirstMB: number;
  rssEndMB: number;
  wasmHeapAfterFirstMB: number | null;
  lossFirst: number;
  lossLast: number;
  /** extra measurements (DP breakdown, sampling) */
  [k: string]: unknown;
}

export interface MeasureOptions {
  steps: number;
  warmup: number;
  /** label of the backend column */
  backend: string;
  /** data-parallel workers (0 = in-process) */
  dpWorkers?: number;
  /** module the DP workers make their kind registry from (exports makeKinds) */
  dpKindsModule?: string;
  /** runs folder the DP workers' registry is bound to (where a generator finds its tokenizer run) */
  dpRunsDir?: string;
  /** called after each step */
  onStep?: (i: number, ms: number) => void;
}

export interface TaskInfo {
  workload: string;
  unit: string;
  unitsPerSample: number;
  batchSize: number;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

const mb = (b: number | null) => (b === null ? null : Math.round((b / 2 ** 20) * 10) / 10);

/** Measures training steps of `task`; see the file comment. */
export async function measureTraining<B>(task: TrainTask<B>, info: TaskInfo, opts: MeasureOptions): Promise<BenchRow> {
  installWasmHeapGuard({ context: `${info.workload}, batch ${info.batchSize}` });
  const cfg = task.config;
  const opt = new AdamW(task.params, { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: 0 });
  const dp = opts.dpWorkers
    ? await DataParallel.start({ kind: task.kind, config: task.config, params: task.params, workers: opts.dpWorkers, kindsModule: opts.dpKindsModule ?? require.resolve("./workloads"), runsDir: opts.dpRunsDir, backend: tf.getBackend() === "cpu" ? "cpu" : (currentBackend()?.name === "native" ? "native" : "wasm") })
    : null;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const losses: number[] = [];
  const dpParts = { syncMs: [] as number[], workerMs: [] as number[], reduceMs: [] as number[], optMs: [] as number[] };
  let tensorsAfterFirst = 0;
  let tensorsAfterLast = 0;
  let rssFirst = 0;
  let rssLast = 0;
  let heapFirst: number | null = null;
  let firstStepMs = 0;
  try {
    for (let i = 0; i < opts.warmup + opts.steps; i++) {
      const ctx = { step: i, seed: mixSeed(cfg.seed, "step", i) };
      let ms: number;
      const cpu0 = process.cpuUsage();
      if (dp) {
        const t0 = performance.now();
        const g = await dp.gradients(task.params, i, ctx);
        const t1 = performance.now();
        tf.tidy(() => {
          const grads: Record<string, tf.Tensor> = {};
          for (const [k, a] of Object.entries(g.grads)) grads[k] = tf.tensor(a, task.params.get(k).shape);
          opt.step(grads);
        });
        ms = performance.now() - t0;
        losses.push(g.loss);
        if (i >= opts.warmup && dp.lastTiming) {
          dpParts.syncMs.push(dp.lastTiming.syncMs);
          dpParts.workerMs.push(Math.max(...dp.lastTiming.workerMs));
          dpParts.reduceMs.push(dp.lastTiming.reduceMs);
          dpParts.optMs.push(performance.now() - t1);
        }
      } else {
        const batch = task.batch(i);
        const t0 = performance.now();
        const r = tf.tidy(() => gradTensors(task, batch, ctx));
        try {
          losses.push((await r.loss.data())[0]);
          tf.tidy(() => opt.step(r.grads));
        } finally {
          tf.dispose([r.loss, ...Object.values(r.parts), ...Object.values(r.grads)]);
          task.disposeBatch?.(batch);
        }
        ms = performance.now() - t0;
      }
      if (!Number.isFinite(losses[losses.length - 1])) throw new Error(`${info.workload}: loss ${losses[losses.length - 1]} at step ${i}`);
      if (i === 0) {
        tensorsAfterFirst = tf.memory().numTensors;
        firstStepMs = ms;
        rssFirst = process.memoryUsage().rss;
        heapFirst = dp ? Math.max(...dp.heaps.map((h) => h ?? 0)) : wasmHeapBytes();
      }
      tensorsAfterLast = tf.memory().numTensors;
      rssLast = process.memoryUsage().rss;
      const cpu = process.cpuUsage(cpu0);
      if (i >= opts.warmup) {
        times.push(ms);
        cpuTimes.push((cpu.user + cpu.system) / 1000);
      }
      opts.onStep?.(i, ms);
    }
  } finally {
    opt.dispose();
    if (dp) await dp.close();
  }
  const med = median(times);
  const flops = task.flopsPerStep ?? NaN;
  const heap = dp ? Math.max(...dp.heaps.map((h) => h ?? 0)) : wasmHeapBytes();
  const row: BenchRow = {
    workload: info.workload,
    backend: opts.backend,
    batch: info.batchSize,
    params: task.params.count(),
    msPerStep: round1(med),
    cpuMsPerStep: round1(median(cpuTimes)),
    msMin: round1(Math.min(...times)),
    msMax: round1(Math.max(...times)),
    stepsTimed: times.length,
    warmup: opts.warmup,
    firstStepMs: round1(firstStepMs),
    unitsPerSec: round1((info.batchSize * info.unitsPerSample) / (med / 1000)),
    unit: info.unit,
    gflopPerStep: round3(flops / 1e9),
    gflops: round1(flops / 1e9 / (med / 1000)),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    wasmHeapMB: heap ? mb(heap) : null,
    tensorsAfterFirst,
    tensorsAfterLast,
    rssAfterFirstMB: Math.round(rssFirst / 2 ** 20),
    rssEndMB: Math.round(rssLast / 2 ** 20),
    wasmHeapAfterFirstMB: heapFirst ? mb(heapFirst) : null,
    lossFirst: round3(losses[0]),
    lossLast: round3(losses[losses.length - 1]),
  };
  if (dp) {
    row.workers = opts.dpWorkers;
    row.dpSyncMs = round1(median(dpParts.syncMs));
    row.dpWorkerMs = round1(median(dpParts.workerMs));
    row.dpReduceMs = round1(median(dpParts.reduceMs));
    row.dpOptimizerMs = round1(median(dpParts.optMs));
  }
  return row;
}

/** Median ms of a forward pass (no gradients) of `fwd` on one batch. */
export async function measureForward<B>(task: TrainTask<B>, fwd: (b: B) => tf.Tensor, reps: number): Promise<number> {
  const batch = task.batch(0);
  const times: number[] = [];
  try {
    for (let i = 0; i < reps + 1; i++) {
      const t0 = performance.now();
      const y = fwd(batch);
      await y.data();
      y.dispose();
      if (i > 0) times.push(performance.now() - t0);
    }
  } finally {
    task.disposeBatch?.(batch);
  }
  return round1(median(times));
}

export interface KernelStat {
  kernel: string;
  ms: number;
  calls: number;
  share: number;
}

/**
 * Per-kernel time of one training step (after `warmup` steps), from tf.profile with each kernel's process CPU time
 * (wasm and cpu kernels run synchronously on this thread). Returns kernels sorted by total time and the step's wall
 * time.
 */
export async function profileStep<B>(task: TrainTask<B>, warmup = 1): Promise<{ kernels: KernelStat[]; wallMs: number; kernelMs: number; byShape: KernelStat[] }> {
  const opt = new AdamW(task.params, { lr: task.config.lr, weightDecay: 0 });
  const step = async (i: number) => {
    const batch = task.batch(i);
    const ctx = { step: i, seed: mixSeed(task.config.seed, "step", i) };
    const r = tf.tidy(() => gradTensors(task, batch, ctx));
    await r.loss.data();
    tf.tidy(() => opt.step(r.grads));
    tf.dispose([r.loss, ...Object.values(r.parts), ...Object.values(r.grads)]);
    task.disposeBatch?.(batch);
  };
  // Kernel times as process CPU time (getrusage) instead of wall time: on a loaded machine a descheduled kernel
  // would otherwise be charged for other processes' time slices.
  const backend = tf.backend() as unknown as { time: (f: () => void) => Promise<{ kernelMs: number }> };
  const wallTimer = backend.time;
  backend.time = async (f: () => void) => {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    return { kernelMs: (c.user + c.system) / 1000 };
  };
  try {
    for (let i = 0; i < warmup; i++) await step(i);
    const t0 = performance.now();
    const info = await tf.profile(() => step(warmup));
    const wallMs = performance.now() - t0;
    const by = new Map<string, { ms: number; calls: number }>();
    const byShape = new Map<string, { ms: number; calls: number }>();
    let total = 0;
    for (const k of info.kernels) {
      // custom ops (runKernelFunc) show up as "unnamed scope" wrapping their inner kernels, which are listed too
      if (k.name === "unnamed scope") continue;
      const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
      total += ms;
      const e = by.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls += 1;
      by.set(k.name, e);
      const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join("")}→${k.outputShapes.map((s) => `[${s}]`).join("")}`;
      const f = byShape.get(key) ?? { ms: 0, calls: 0 };
      f.ms += ms;
      f.calls += 1;
      byShape.set(key, f);
    }
    const sorted = (m: Map<string, { ms: number; calls: number }>) =>
      [...m.entries()].map(([kernel, e]) => ({ kernel, ms: round1(e.ms), calls: e.calls, share: round3(e.ms / total) })).sort((a, b) => b.ms - a.ms);
    return { kernels: sorted(by), wallMs: round1(wallMs), kernelMs: round1(total), byShape: sorted(byShape) };
  } finally {
    backend.time = wallTimer;
    opt.dispose();
  }
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
