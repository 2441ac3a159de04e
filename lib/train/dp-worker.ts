/**
 * Worker thread of ./data-parallel: builds the task from (kind, config) on its own backend, through the registry that
 * the module named in its worker data makes (`makeKinds({ runsDir })`); then per step copies the shared parameters
 * into its variables, takes its rows of the step's batch and writes the gradients of its shard into its shared
 * gradient buffer; per call (DataParallel.call) copies them in the same way and runs `task.remote[method](args)`.
 * Not imported by anything; started by DataParallel.
 */
import { parentPort, workerData } from "worker_threads";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend";
import { lookupKind, type KindRegistry } from "./registry";
import { gradTensors, type TrainTask, type StepContext } from "./trainer";
import { shardBatch } from "./data-parallel";
import { installWasmHeapGuard, wasmHeapBytes } from "./wasm-heap";

interface Init {
  worker: number;
  workers: number;
  kind: string;
  config: Record<string, unknown>;
  backend: "native" | "wasm" | "cpu";
  kindsModule: string;
  runsDir?: string;
  layout: { name: string; shape: number[]; offset: number; size: number }[];
  paramBuf: SharedArrayBuffer;
  gradBuf: SharedArrayBuffer;
  batchSize: number;
  heapLimitBytes?: number;
}

interface StepMsg {
  type: "step";
  step: number;
  ctx: StepContext;
  lo: number;
  hi: number;
}

interface CallMsg {
  type: "call";
  method: string;
  args: unknown;
}

const port = parentPort;
if (!port) throw new Error("dp-worker: must run as a worker thread (started by lib/train/data-parallel)");
const init = (workerData as { init: Init }).init;
const paramView = new Float32Array(init.paramBuf);
const gradView = new Float32Array(init.gradBuf);

function tensorsOf(v: unknown, out: tf.Tensor[] = []): tf.Tensor[] {
  if (v instanceof tf.Tensor) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => tensorsOf(x, out));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => tensorsOf(x, out));
  return out;
}

async function setup(): Promise<TrainTask<unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(init.kindsModule) as { makeKinds?: (opts: { runsDir?: string }) => KindRegistry };
  if (typeof mod.makeKinds !== "function") throw new Error(`${init.kindsModule} exports no makeKinds(opts) function returning a KindRegistry`);
  const kinds = mod.makeKinds({ runsDir: init.runsDir });
  await initBackend(init.backend, { log: () => {} });
  installWasmHeapGuard({ limitBytes: init.heapLimitBytes, context: () => `data-parallel worker ${init.worker}/${init.workers} of ${init.kind}, ${curWork}` });
  const task = await lookupKind(kinds, init.kind).makeTask(init.config);
  const problems: string[] = [];
  for (const e of init.layout) {
    if (!task.params.has(e.name)) problems.push(`missing ${e.name}`);
    else if (task.params.get(e.name).shape.join() !== e.shape.join()) problems.push(`${e.name} is [${task.params.get(e.name).shape}], main [${e.shape}]`);
  }
  if (problems.length) throw new Error(`the task built from (${init.kind}, config) does not match the main thread's parameters: ${problems.slice(0, 5).join("; ")}`);
  return task;
}

/** What the worker is doing (for the heap guard's message). */
let curWork = "starting";

/** The shared parameter values → the task's variables. */
function loadParams(task: TrainTask<unknown>): void {
  tf.tidy(() => {
    for (const e of init.layout) task.params.get(e.name).assign(tf.tensor(paramView.slice(e.offset, e.offset + e.size), e.shape));
  });
}

async function call(task: TrainTask<unknown>, m: CallMsg): Promise<unknown> {
  const fn = task.remote?.[m.method] as ((args: unknown) => Promise<unknown>) | undefined;
  if (!fn) throw new Error(`the ${init.kind} task has no remote method ${JSON.stringify(m.method)} (it has: ${Object.keys(task.remote ?? {}).join(", ") || "none"})`);
  loadParams(task);
  curWork = `the call ${m.method}`;
  return fn.call(task.remote, m.args);
}

async function step(task: TrainTask<unknown>, m: StepMsg): Promise<{ loss: number; parts: Record<string, number>; gradNames: string[] }> {
  loadParams(task);
  curWork = `${m.hi - m.lo} rows of a batch of ${init.batchSize}`;
  const full = task.batch(m.step);
  const whole = m.lo === 0 && m.hi === init.batchSize;
  const custom = (task as { shardBatch?: (b: unknown, lo: number, hi: number) => unknown }).shardBatch;
  const b = whole ? full : custom ? custom.call(task, full, m.lo, m.hi) : shardBatch(full, m.lo, m.hi, init.batchSize);
  try {
    const r = tf.tidy(() => gradTensors(task, b, m.ctx));
    try {
      const names: string[] = [];
      for (const e of init.layout) {
        const g = r.grads[e.name];
        if (g) {
          gradView.set((await g.data()) as Float32Array, e.offset);
          names.push(e.name);
        } else gradView.fill(0, e.offset, e.offset + e.size);
      }
      const parts: Record<string, number> = {};
      for (const [k, p] of Object.entries(r.parts)) parts[k] = (await p.data())[0];
      return { loss: (await r.loss.data())[0], parts, gradNames: names };
    } finally {
      tf.dispose([r.loss, ...Object.values(r.parts), ...Object.values(r.grads)]);
    }
  } finally {
    if (b !== full) {
      const keep = new Set(tensorsOf(full));
      tf.dispose(tensorsOf(b).filter((t) => !keep.has(t)));
    }
    if (task.disposeBatch) task.disposeBatch(full);
    else tf.dispose(tensorsOf(full));
  }
}

const errorMsg = (e: unknown) => ({ type: "error", message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined });

setup().then(
  (task) => {
    port.postMessage({ type: "ready", gradNames: null, heap: wasmHeapBytes(), backend: tf.getBackend() });
    let queue: Promise<void> = Promise.resolve();
    port.on("message", (m: StepMsg | CallMsg) => {
      if (m.type !== "step" && m.type !== "call") return;
      queue = queue.then(async () => {
        const t0 = performance.now();
        try {
          if (m.type === "call") {
            const result = await call(task, m);
            port.postMessage({ type: "called", result, ms: performance.now() - t0, heap: wasmHeapBytes() });
            return;
          }
          const r = await step(task, m);
          port.postMessage({ type: "result", ...r, ms: performance.now() - t0, heap: wasmHeapBytes() });
        } catch (e) {
          port.postMessage(errorMsg(e));
        }
      });
    });
  },
  (e) => port.postMessage(errorMsg(e)),
);
