/**
 * How many data-parallel workers (./data-parallel) a training run uses. Default: one per core, at most 2, when
 *   - the engine is single-threaded (wasm, cpu; tfjs-node's kernels already use every core),
 *   - the kind's loss is a mean over batch rows (`TrainKind.dataParallel !== false`; a contrastive loss is not),
 *   - the batch has ≥ 2 rows, and
 *   - the run is long enough to pay for starting the workers (each builds its own task: seconds; see MIN_DP_SECONDS),
 *   - and a core is free for each worker: every other process training in the same runs folder (another notebook of
 *     a `reproduce --jobs 2`, a sweep's second process) takes one core first (`otherTrainers`). Two runs side by side
 *     on one core each train faster than each on two oversubscribed workers (a worker pool waits for its slowest).
 * This file is the one place that decides parallelism. Above it there is only the notebook runner's `--jobs`
 * (`npm run reproduce`: 2 notebooks at a time, longest first; scripts/reproduce.sh), and any number of sweep
 * processes a user starts; each run they reach is trained by whoever locks it first and sized here. (Until issue 26 a
 * notebook also spawned a helper sweep process beside itself; with two notebooks already sharing the 2 cores it added
 * processes, not throughput, and was removed.)
 * `IFSQ_WORKERS=N` (or the `workers` option) overrides the default; a kind that cannot be trained data-parallel stays
 * at 1 with the reason said. Workers change no result: a 2-worker run equals the 1-process run up to float32
 * summation order (test/data-parallel-equivalence.test.ts), so the count is not part of the hashed config; it is
 * recorded in the run's config.json (`execution`).
 */
import * as os from "os";
import * as tf from "@tensorflow/tfjs";
import { workersSetting, currentBackend } from "../backend";
import { train, type TrainOptions, type TrainResult, type TrainTask } from "./trainer";
import { trainDataParallel } from "./data-parallel";
import { Run, defaultRunsDir, otherTrainers } from "./run";

/** Below this estimated 1-process training time (s) a run trains in-process: starting workers costs seconds. */
export const MIN_DP_SECONDS = 60;
/** A deliberately high 1-process training rate (FLOP/s) for that estimate, so short runs are not sent to workers. */
const FAST_RATE = 25e9;

export interface WorkerPlan {
  workers: number;
  /** Why, in a few words (logged, and recorded in config.json). */
  reason: string;
}

export interface WorkerQuery {
  kind: string;
  /** The kind's own restriction: false, or a string saying why, when its loss couples batch rows. */
  dataParallel?: boolean | string;
  /** tfjs backend name of this process ("wasm", "cpu", "tensorflow", …). */
  backend: string;
  batchSize: number;
  /** Training FLOPs still to do (flopsPerStep · steps); undefined when unknown. */
  flops?: number;
  /** Explicit count (a config key or caller option); else $IFSQ_WORKERS; else the default. */
  workers?: number;
  /** Cores (default os.availableParallelism()). */
  cores?: number;
  /** PIDs of other processes training now, one core each (default none). */
  busy?: number[];
}

export function chooseWorkers(q: WorkerQuery): WorkerPlan {
  const explicit = q.workers ?? workersSetting();
  if (explicit !== null && explicit !== undefined && (!Number.isInteger(explicit) || explicit < 1)) {
    throw new Error(`workers=${explicit} is not a worker count; expected a positive integer (1 = train in this process)`);
  }
  const single = (reason: string): WorkerPlan => ({ workers: 1, reason });
  if (q.dataParallel === false || typeof q.dataParallel === "string") {
    const why = typeof q.dataParallel === "string" ? q.dataParallel : "its loss is not a mean over batch rows";
    return single(`${q.kind} trains in one process: ${why}${explicit && explicit > 1 ? ` (IFSQ_WORKERS=${explicit} ignored)` : ""}`);
  }
  // native = wasm with BLAS/oneDNN kernels on 1 thread (2 threads oversubscribe the cores, see environment.md): both
  // cores come from the workers, as on wasm; its rate is ~3× wasm's for the short-run estimate
  const rate = q.backend === "native" ? 3 * FAST_RATE : FAST_RATE;
  if (q.backend !== "wasm" && q.backend !== "cpu" && q.backend !== "native") return single(`the ${q.backend} engine is multi-threaded by itself${explicit && explicit > 1 ? ` (workers=${explicit} ignored)` : ""}`);
  if (explicit !== null && explicit !== undefined) {
    if (explicit > q.batchSize) return { workers: q.batchSize, reason: `workers=${explicit} capped at the batch size ${q.batchSize}` };
    return { workers: explicit, reason: explicit === 1 ? "workers=1 asked for" : `workers=${explicit} asked for` };
  }
  const cores = q.cores ?? (typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
  if (cores < 2) return single(`${cores} core`);
  const busy = q.busy ?? [];
  if (cores - busy.length < 2) return single(`${busy.length} other process${busy.length === 1 ? "" : "es"} training now (pid ${busy.join(", ")}) on ${cores} cores: one core is left`);
  if (q.batchSize < 2) return single(`batch of ${q.batchSize}`);
  if (q.flops !== undefined && q.flops / rate < MIN_DP_SECONDS) return single(`short run (≈ ${(q.flops / rate).toFixed(0)} s of training at most): starting workers would cost more`);
  return { workers: 2, reason: `${cores} cores${busy.length ? `, ${busy.length} of them training other runs` : ""}, ${q.backend === "native" ? "native engine (wasm + BLAS, 1 BLAS thread per worker)" : `single-threaded ${q.backend} engine`}: 2 data-parallel workers` };
}

export interface TrainWithWorkersOptions extends TrainOptions {
  /** Explicit worker count (else $IFSQ_WORKERS, else the default above). */
  workers?: number;
  /** Module whose `makeKinds({ runsDir })` holds the task's kind (for the workers); absent: train in this process. */
  kindsModule?: string;
  /** The kind's `dataParallel` (false or a reason when its loss couples batch rows). */
  dataParallel?: false | string;
}

/**
 * `train(task, opts)` on the workers `chooseWorkers` picks, recording the choice in the run's config.json
 * (`execution`: workers, engine, reason) and saying it when workers are used.
 */
export async function trainWithWorkers<B>(task: TrainTask<B>, opts: TrainWithWorkersOptions = {}): Promise<TrainResult> {
  const { workers, kindsModule, dataParallel, ...trainOpts } = opts;
  const backend = currentBackend()?.name ?? tf.getBackend(); // "native" is wasm with BLAS kernels: say which
  const runsDir = opts.runsDir ?? defaultRunsDir();
  const busy = kindsModule ? otherTrainers(runsDir) : [];
  const plan = kindsModule
    ? chooseWorkers({ kind: task.kind, dataParallel, backend, batchSize: task.config.batchSize, flops: task.flopsPerStep === undefined ? undefined : task.flopsPerStep * task.config.steps, workers, busy })
    : { workers: 1, reason: "no kinds module for workers was given" };
  Run.open(task.kind, task.config, runsDir).recordExecution({ workers: plan.workers, backend, reason: plan.reason });
  if (plan.workers > 1 || busy.length > 0) (opts.log ?? console.log)(`${task.kind}: ${plan.reason}`);
  if (plan.workers === 1) return train(task, trainOpts);
  return trainDataParallel(task, { ...trainOpts, workers: plan.workers, backend: backend as "native" | "wasm" | "cpu", kindsModule: kindsModule! });
}
