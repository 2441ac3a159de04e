/**
 * The training loop every trainer reuses: AdamW + global-norm clipping + EMA, metrics, checkpoints, exact resume.
 *
 *   const task: TrainTask<Batch> = { kind, config, params, batch(i), loss(batch, ctx), … };
 *   const { runDir, metrics } = await train(task);
 *
 * Step numbering: the loop takes steps i = 0 … steps−1; `task.batch(i)` and `task.loss(…, { step: i, seed })` get
 * that 0-based index, and `ctx.seed = mixSeed(config.seed, "step", i)`. Metrics rows and checkpoints count
 * *completed* steps (i + 1). Because batches and seeds are functions of i, and a checkpoint holds everything else
 * (parameters, AdamW moments and t, EMA weights, the metrics window, `task.rng`, `task.extraState`), a run killed at
 * any moment and resumed from its newest checkpoint ends with the same metrics, bit for bit on one backend, as an
 * uninterrupted run.
 *
 * Order within completed step s: update → train row (every logEvery, and at the end) → eval row (every evalEvery,
 * at the steps of evalAt, and at the end) → checkpoint (every ckptEvery, and at the end). So the checkpoint at s covers every row with
 * step ≤ s, and a resume drops the rows after its checkpoint.
 *
 * Gradients: `gradTensors(task, batch, ctx)` (tensors, inside tf.tidy) or `computeGrads(task, batch, ctx)` (plain
 * Float32Arrays keyed by parameter name). The second is the unit of work a data-parallel worker thread would run;
 * `train(task, { gradFn })` accepts any such source, so a worker pool can replace local gradients later.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed, type Rng } from "../rng";
import type { BatchRows } from "../batch-rows";
import type { ParamStore } from "../nn/params";
import { AdamW } from "../nn/adamw";
import { EMA, emaDecayAt } from "../nn/ema";
import { clipByGlobalNorm, globalNorm } from "../nn/clip";
import { progress, type ProgressSink } from "../view/progress";
import { liveCurve } from "../view/live-curve";
import { breather } from "../event-loop";
import { TrainConfigSchema, configHash, type TrainConfig } from "./config";
import {
  saveCheckpoint,
  loadCheckpoint,
  newestIntactCheckpoint,
  setAsideCheckpoint,
  pruneCheckpoints,
  checkpointFileName,
  sectionTensors,
  CheckpointError,
  type Checkpoint,
  type CkptDtype,
} from "./checkpoint";
import { Run, RunFileError, type MetricsRow, type DoneRecord, type FinishedRun } from "./run";
import { lrAt } from "./schedule";
import { explainStorageError } from "./storage-errors";
import * as path from "path";

export interface StepContext {
  /** 0-based index of the step being taken. */
  step: number;
  /** mixSeed(config.seed, "step", step): the seed for this step's random ops (noise, dropout, masking). */
  seed: number;
  /**
   * The rows of the step's batch this loss sees when a data-parallel worker computes one shard (absent: all rows).
   * Per-row random draws are made for the whole batch and cut to these rows (./batch-rows), so shards see the noise
   * the 1-process run would.
   */
  rows?: BatchRows;
}

export interface TrainTask<B = unknown> {
  /** "tokenizer" | "ar" | "dit" | "classifier" | … (letters, digits, "_", "-", "."). */
  kind: string;
  /** The resolved config (from resolveConfig); its hash names the run folder and guards checkpoints. */
  config: TrainConfig & Record<string, unknown>;
  /** The model's parameters, freshly initialised from config.seed. */
  params: ParamStore;
  /** The batch of step i: a deterministic function of (seed, i), so a resume sees the same data. */
  batch(step: number): B;
  /** The scalar loss (and named parts, logged as window means) on one batch; runs under the gradient tape. */
  loss(batch: B, ctx: StepContext): { loss: tf.Scalar; parts?: Record<string, tf.Scalar> };
  /** Frees a batch's tensors (called after each step). */
  disposeBatch?(b: B): void;
  /** Training FLOPs per step (forward multiply-adds · 2 · 3); metrics rows carry the cumulative count. */
  flopsPerStep?: number;
  /** Evaluation at completed step `step` (EMA weights swapped in when EMA is on, unless evalWeights: "raw"); `pool`:
   *  the data-parallel workers, idle during the evaluation, holding those weights on request (EvalPool). */
  evaluate?(step: number, pool?: EvalPool): Promise<Record<string, number>>;
  /** What a data-parallel worker's copy of the task can do for the main thread's evaluation (EvalPool.call);
   *  arguments and results must be structured-cloneable (typed arrays, plain objects). */
  remote?: Record<string, (args: never) => Promise<unknown>>;
  /** What the task needs before its first step that is not training, run by train() outside the run's clock (e.g.
   *  the feature network of its in-run gFID, trained when missing, so that no evaluation pays for it). */
  prepare?(): Promise<void>;
  /** JSON-serialisable state of the task, saved in checkpoints and restored on resume. */
  extraState?: { get(): Record<string, unknown>; set(s: Record<string, unknown>): void };
  /** A sequential Rng the task draws from, if any; its state is checkpointed. Prefer ctx.seed. */
  rng?: Rng;
}

/**
 * The data-parallel workers as helpers of an evaluation: `call(method, args)` runs `task.remote[method](args)` on the
 * next free worker, after copying in the weights the evaluation sees (the EMA weights when they are swapped in), and
 * resolves with its result and that worker's seconds. Calls made together run on different workers at once.
 */
export interface EvalPool {
  workers: number;
  call(method: string, args: unknown): Promise<{ result: unknown; seconds: number }>;
}

/** Whether train() evaluates after completed step `step`: at the end, every evalEvery steps, and at the steps of evalAt. */
export function evaluatesAt(cfg: { steps: number; evalEvery: number; evalAt?: readonly number[] }, step: number): boolean {
  return step === cfg.steps || (cfg.evalEvery > 0 && step % cfg.evalEvery === 0) || (cfg.evalAt ?? []).includes(step);
}

/** Gradients as plain arrays: what a worker thread sends back. */
export interface GradResult {
  loss: number;
  parts: Record<string, number>;
  grads: Record<string, Float32Array>;
}

export interface TrainOptions {
  /** Folder holding run folders (default `<repo>/data/runs`). */
  runsDir?: string;
  /** true (default): continue from the newest checkpoint of this config's run (a finished run is just loaded).
   *  false: discard that run folder's metrics and checkpoints and start over. */
  resume?: boolean;
  /** Called with every metrics row as it is written. */
  onProgress?: (row: MetricsRow) => void;
  /** Called after every step with the completed-step count and that step's loss (e.g. to watch tf.memory()). */
  onStep?: (completed: number, loss: number) => void;
  /** Progress display: default sink of lib/view's progress(); "none" (or false) for silence. */
  progress?: ProgressSink | boolean;
  /** Lines about resuming, checkpoints and the end (default console.log; pass () => {} for silence). */
  log?: (line: string) => void;
  /** Warnings about what was recovered (damaged checkpoints set aside, a damaged or stale done.json dropped);
   *  default console.warn, so they show even when `log` is silenced. */
  warn?: (line: string) => void;
  /** Final weights left in task.params: "ema" (default when EMA is on) or "raw" (the optimizer's weights). */
  weights?: "ema" | "raw";
  /** Weights task.evaluate sees: "ema" (default when EMA is on) or "raw". */
  evalWeights?: "ema" | "raw";
  /** Replaces local gradient computation (e.g. a worker pool); gets the 0-based step and its context. */
  gradFn?: (step: number, ctx: StepContext) => Promise<GradResult>;
  /** Handed to task.evaluate (the pool behind gradFn, e.g. DataParallel.evalPool). */
  evalPool?: EvalPool;
  /** Stops after this many completed steps as if the process were killed there (no final checkpoint; tests). */
  stopAfter?: number;
  /** The caller already holds the run folder's lock (`Run.lock()`, as trainOrReuse does); train() takes none. */
  lockHeld?: boolean;
}

export interface TrainResult {
  runDir: string;
  run: Run;
  /** Every metrics row of the run (train and eval), also those of earlier sessions. */
  metrics: MetricsRow[];
  /** task.params, holding the final weights named by `weights`. */
  params: ParamStore;
  weights: "ema" | "raw";
  /** Completed steps. */
  step: number;
  /** The step this session resumed from (0 = fresh start). */
  resumedFrom: number;
  /** Whether the run has finished (false only with stopAfter). */
  finished: boolean;
  configHash: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Gradients

function trainableEntries(params: ParamStore): [string, tf.Variable][] {
  return params.entries().filter(([, v]) => v.trainable);
}

/**
 * Loss, parts and gradients (by parameter name) of one batch, as tensors the caller owns (call inside tf.tidy or
 * dispose them). Parameters that do not influence the loss get no gradient.
 */
export function gradTensors<B>(task: Pick<TrainTask<B>, "params" | "loss">, batch: B, ctx: StepContext): { loss: tf.Scalar; parts: Record<string, tf.Scalar>; grads: Record<string, tf.Tensor> } {
  const entries = trainableEntries(task.params);
  if (entries.length === 0) throw new Error("gradTensors: the ParamStore has no trainable parameters");
  const byVar = new Map(entries.map(([name, v]) => [v.name, name]));
  let parts: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = task.loss(batch, ctx);
    if (!out || !(out.loss instanceof tf.Tensor) || out.loss.rank !== 0) throw new Error(`task.loss must return { loss: scalar tensor }, got ${out?.loss?.shape ? `shape [${out.loss.shape}]` : typeof out?.loss}`);
    parts = {};
    for (const [k, t] of Object.entries(out.parts ?? {})) parts[k] = tf.keep(t);
    return out.loss;
  }, entries.map(([, v]) => v));
  const named: Record<string, tf.Tensor> = {};
  for (const [varName, g] of Object.entries(grads)) if (g) named[byVar.get(varName)!] = g;
  return { loss: value, parts, grads: named };
}

/** Loss, parts and gradients of one batch as plain numbers and Float32Arrays (no tensors left behind). */
export async function computeGrads<B>(task: Pick<TrainTask<B>, "params" | "loss">, batch: B, ctx: StepContext): Promise<GradResult> {
  const r = tf.tidy(() => gradTensors(task, batch, ctx));
  try {
    const grads: Record<string, Float32Array> = {};
    for (const [k, g] of Object.entries(r.grads)) grads[k] = new Float32Array(await g.data());
    const parts: Record<string, number> = {};
    for (const [k, p] of Object.entries(r.parts)) parts[k] = (await p.data())[0];
    return { loss: (await r.loss.data())[0], parts, grads };
  } finally {
    tf.dispose([r.loss, ...Object.values(r.parts), ...Object.values(r.grads)]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Checkpoint contents

interface Window {
  n: number;
  sums: Record<string, number>;
}

interface TrainerState {
  time: number;
  window: Window;
}

function expectedTensors(params: ParamStore, opt: AdamW, ema: EMA | null): Record<string, { shape: readonly number[]; dtype?: CkptDtype }> {
  const out: Record<string, { shape: readonly number[]; dtype?: CkptDtype }> = {};
  for (const [name, v] of params.entries()) out[`params/${name}`] = { shape: v.shape };
  for (const slot of opt.stateNames()) {
    if (slot === "t") out["optim/t"] = { shape: [], dtype: "int32" };
    else out[`optim/${slot}`] = { shape: params.get(slot.slice(2)).shape };
  }
  if (ema) {
    for (const name of ema.stateNames()) {
      out[`ema/${name}`] = name === "updates" ? { shape: [], dtype: "int32" } : { shape: params.get(name).shape };
    }
  }
  return out;
}

async function writeTrainCheckpoint<B>(run: Run, task: TrainTask<B>, opt: AdamW, ema: EMA | null, step: number, state: TrainerState, keep: number): Promise<string> {
  const owned: tf.Tensor[] = [];
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, v] of task.params.entries()) tensors[`params/${name}`] = v;
  const os = opt.getState();
  for (const [k, t] of Object.entries(os)) (tensors[`optim/${k}`] = t), owned.push(t);
  if (ema) {
    const es = ema.getState();
    for (const [k, t] of Object.entries(es)) (tensors[`ema/${k}`] = t), owned.push(t);
  }
  const file = path.join(run.checkpointsDir, checkpointFileName(step));
  try {
    await saveCheckpoint(file, tensors, {
      kind: task.kind,
      step,
      configHash: run.hash,
      rngState: task.rng ? task.rng.getState() : null,
      slots: { optimizer: opt.stateNames(), ...(ema ? { ema: ema.stateNames() } : {}) },
      extra: { trainer: state, task: task.extraState ? task.extraState.get() : null },
    });
  } finally {
    tf.dispose(owned);
  }
  pruneCheckpoints(run.checkpointsDir, keep);
  return file;
}

function restoreTrainCheckpoint<B>(ck: Checkpoint, task: TrainTask<B>, opt: AdamW, ema: EMA | null): TrainerState {
  const p = sectionTensors(ck, "params/");
  const o = sectionTensors(ck, "optim/");
  const e = ema ? sectionTensors(ck, "ema/") : {};
  try {
    for (const [name, v] of task.params.entries()) v.assign(p[name]);
    opt.setState(o);
    if (ema) ema.setState(e);
  } finally {
    tf.dispose([...Object.values(p), ...Object.values(o), ...Object.values(e)]);
  }
  const extra = (ck.meta.extra ?? {}) as { trainer?: TrainerState; task?: Record<string, unknown> | null };
  if (task.rng) {
    if (!ck.meta.rngState) throw new CheckpointError(`checkpoint ${ck.file}: the task has an rng but the checkpoint holds no rngState`);
    task.rng.setState(ck.meta.rngState);
  }
  if (task.extraState) {
    if (!extra.task) throw new CheckpointError(`checkpoint ${ck.file}: the task has extraState but the checkpoint holds none`);
    task.extraState.set(extra.task);
  }
  if (!extra.trainer) throw new CheckpointError(`checkpoint ${ck.file}: no trainer state in its metadata`);
  return extra.trainer;
}

/**
 * Loads a finished (or any) run's weights into a ParamStore of the same architecture: "ema" (default; falls back
 * to the raw weights when the run had no EMA) or "raw". Validates names and shapes; checkpoint parameters that
 * `trainingOnly(name)` accepts (REPA's projector) may be absent from `params` and are skipped.
 */
export function loadRunWeights(from: FinishedRun | string, params: ParamStore, opts: { weights?: "ema" | "raw"; trainingOnly?: (name: string) => boolean } = {}): { step: number; weights: "ema" | "raw" } {
  const file = typeof from === "string" ? from : from.checkpoint;
  const ck = loadCheckpoint(file, typeof from === "string" ? {} : { kind: from.kind, configHash: from.configHash });
  const hasEma = params.names().every((n) => `ema/${n}` in ck.tensors);
  const weights = opts.weights === "raw" || !hasEma ? "raw" : "ema";
  const prefix = weights === "ema" ? "ema/" : "params/";
  const problems: string[] = [];
  for (const [name, v] of params.entries()) {
    const t = ck.tensors[prefix + name];
    if (!t) problems.push(`missing "${prefix}${name}"`);
    else if (t.shape.join() !== v.shape.join() || t.shape.length !== v.rank) problems.push(`"${prefix}${name}" has shape [${t.shape}], the model [${v.shape}]`);
  }
  const extra = Object.keys(ck.tensors).filter((k) => k.startsWith("params/") && !params.has(k.slice(7)) && !(opts.trainingOnly?.(k.slice(7)) ?? false));
  for (const k of extra) problems.push(`unexpected "${k}"`);
  if (problems.length) throw new CheckpointError(`checkpoint ${file} does not match the model: ${problems.slice(0, 10).join("; ")}`);
  const ts = sectionTensors(ck, prefix);
  try {
    for (const [name, v] of params.entries()) v.assign(ts[name]);
  } finally {
    tf.dispose(Object.values(ts));
  }
  return { step: ck.meta.step, weights };
}

// ---------------------------------------------------------------------------------------------------------------
// The loop

function finalRecord(rows: MetricsRow[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const lastTrain = [...rows].reverse().find((r) => r.type === "train");
  const lastEval = [...rows].reverse().find((r) => r.type === "eval");
  if (lastTrain) Object.assign(out, lastTrain);
  if (lastEval) for (const [k, v] of Object.entries(lastEval)) if (k !== "type" && k !== "step" && k !== "time") out[k] = v;
  delete out.type;
  return out;
}

/** Trains `task` in its run folder (resuming by default); see the file comment. */
export async function train<B>(task: TrainTask<B>, opts: TrainOptions = {}): Promise<TrainResult> {
  const parsed = TrainConfigSchema.safeParse(task.config);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`train(${task.kind}): config is not a valid TrainConfig (${msg}); build it with resolveConfig`);
  }
  const cfg = parsed.data;
  const late = (cfg.evalAt ?? []).filter((s) => s > cfg.steps);
  if (late.length) throw new Error(`train(${task.kind}): evalAt has step(s) ${late.join(", ")} beyond steps=${cfg.steps}; expected completed steps in [1, ${cfg.steps}]`);
  const log = opts.log ?? ((l: string) => console.log(l));
  const run = Run.open(task.kind, task.config, opts.runsDir);
  const release = opts.lockHeld ? () => {} : run.lock();
  const resume = opts.resume ?? true;
  const params = task.params;
  let opt: AdamW | null = null;
  let ema: EMA | null = null;
  try {
    if (!resume) run.reset();
    opt = new AdamW(params, { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay });
    ema = cfg.emaDecay > 0 ? new EMA(params, cfg.emaDecay) : null;
    const resumed = resumePoint(task, cfg, run, opt, ema, resume, log, opts.warn ?? ((l: string) => console.warn(l)));
    return await trainLoop(task, cfg, run, opt, ema, resumed, opts, log);
  } catch (e) {
    throw explainStorageError(e, run.dir, "training it", task.kind); // a full disk names the run and how to resume
  } finally {
    opt?.dispose();
    ema?.dispose();
    release();
  }
}

/**
 * Where a run resumes: its newest intact checkpoint restored into the task, optimizer and EMA (damaged ones set aside
 * with a warning; none intact while some exist is an error), a done.json that its final checkpoint does not back
 * dropped, and the metrics cut back to the resumed step (`done`: the run's done record when it is finished and backed).
 * `resume: false` starts at step 0.
 */
function resumePoint<B>(
  task: TrainTask<B>,
  cfg: TrainConfig,
  run: Run,
  opt: AdamW,
  ema: EMA | null,
  resume: boolean,
  log: (line: string) => void,
  warn: (line: string) => void,
): { state: TrainerState; start: number; rows: MetricsRow[]; done: DoneRecord | null } {
  let state: TrainerState = { time: 0, window: { n: 0, sums: {} } };
  let start = 0;
  let done: DoneRecord | null = null;
  try {
    done = run.readDone();
  } catch (e) {
    if (!(e instanceof RunFileError)) throw e;
    warn(`warning: ${e.problem}; dropping it: the run is finished again from its newest intact checkpoint`);
    run.clearDone();
  }
  let skipped: string[] = [];
  if (resume) {
    const found = newestIntactCheckpoint(run.checkpointsDir, { kind: task.kind, configHash: run.hash, tensors: expectedTensors(task.params, opt, ema) });
    if (!found.ck && found.skipped.length) {
      throw new CheckpointError(
        `no intact checkpoint in ${run.checkpointsDir}: ${found.skipped.map((s) => s.reason).join("; ")}. ` +
          `Delete the damaged file(s) to train from step 0, or pass resume: false (--fresh) to start the run over`,
      );
    }
    if (found.skipped.length) {
      skipped = found.skipped.map((s) => path.basename(s.file));
      const moved = found.skipped.map((s) => `${path.basename(s.file)} (${s.reason.replace(`checkpoint ${s.file}: `, "")}; moved to ${path.basename(setAsideCheckpoint(s.file))})`);
      warn(`warning: skipped damaged checkpoint${moved.length > 1 ? "s" : ""} in ${run.checkpointsDir}: ${moved.join("; ")}; resuming from the newest intact one, ${path.basename(found.ck!.file)}`);
    }
    if (found.ck) {
      const ck = found.ck;
      state = restoreTrainCheckpoint(ck, task, opt, ema);
      start = ck.meta.step;
      if (start > cfg.steps) throw new CheckpointError(`checkpoint ${ck.file} is at step ${start}, beyond the config's steps=${cfg.steps}`);
      if (start < cfg.steps || !done) log(`${task.kind}: resuming ${run.dir} from step ${start}/${cfg.steps}`);
    }
  }
  if (done && (done.step !== cfg.steps || start !== cfg.steps)) {
    // done.json alone must never make a run count as finished: its final checkpoint has to be there and intact
    const final = checkpointFileName(done.step);
    const why =
      done.step !== cfg.steps
        ? `the config has steps=${cfg.steps}`
        : skipped.includes(final)
          ? `its final checkpoint ${final} is damaged (see above)`
          : `its final checkpoint ${path.join(run.checkpointsDir, final)} is missing`;
    warn(`warning: ${run.donePath} marks the run finished at step ${done.step}, but ${why}; dropping it and training again from step ${start}`);
    run.clearDone();
    done = null;
  }
  const rows = run.truncateMetrics(start);
  if (start < cfg.steps) run.clearDone();
  return { state, start, rows, done };
}

async function trainLoop<B>(
  task: TrainTask<B>,
  cfg: TrainConfig,
  run: Run,
  opt: AdamW,
  ema: EMA | null,
  resumed: ReturnType<typeof resumePoint>,
  opts: TrainOptions,
  log: (line: string) => void,
): Promise<TrainResult> {
  const params = task.params;
  let state = resumed.state;
  const start = resumed.start;
  let rows = resumed.rows;
  const done = resumed.done;

  const useEmaForEval = ema !== null && (opts.evalWeights ?? "ema") === "ema";
  const evaluate = async (completed: number): Promise<void> => {
    if (!task.evaluate) return;
    const t0 = performance.now();
    const values = useEmaForEval ? await ema!.withWeights(() => task.evaluate!(completed, opts.evalPool)) : await task.evaluate(completed, opts.evalPool);
    // evalSeconds: the evaluation's wall time (a task may report its own, e.g. without writing sample files)
    const row: MetricsRow = { type: "eval", step: completed, time: round3(state.time), evalSeconds: round3((performance.now() - t0) / 1000), ...values };
    run.appendMetrics(row);
    rows.push(row);
    curve?.add(row);
    opts.onProgress?.(row);
  };

  if (start < cfg.steps && task.prepare) await task.prepare();
  const sink: ProgressSink | undefined = opts.progress === false ? "none" : opts.progress === true ? undefined : opts.progress;
  const bar = start < cfg.steps ? progress({ total: cfg.steps, label: `${task.kind} ${path.basename(run.dir)}`, startAt: start, sink }) : null;
  // in a notebook, a plotly curve of the loss (and the eval metrics) next to the bar, updated in place (view/live-curve)
  const curve = start < cfg.steps && (sink === undefined || sink === "kernel") ? liveCurve({ title: `${task.kind} ${path.basename(run.dir)}`, history: rows, sink: sink === "kernel" ? "kernel" : undefined }) : null;
  const sessionT0 = performance.now();
  const timeAtSessionStart = state.time;
  let lastLogWall = performance.now();
  let stepsSinceLog = 0;
  const breathe = breather(50); // a kernel answers its front end and takes interrupts while it trains
  /**
   * Clips `grads` (not disposed) and takes the AdamW step; returns the global norm before clipping. A norm that is
   * not finite (float32 overflow of Σ‖g‖², or an ∞/NaN entry) would make the clip factor 0 or NaN: the update
   * would silently vanish or poison the weights, so it is an error, and the step is not taken.
   */
  const clippedStep = async (kind: string, i: number, grads: Record<string, tf.Tensor>): Promise<number> => {
    const norm = globalNorm(grads);
    const n = (await norm.data())[0];
    if (!Number.isFinite(n)) {
      norm.dispose();
      throw new Error(
        `${kind}: the gradient norm is ${n} at step ${i} (loss finite): float32 overflowed, so the clipped update would be zero or NaN. ` +
          `Lower lr, or look for an amplifying layer (a normalisation over near-constant inputs with a tiny eps; e.g. latentInitGain for tokenizers whose codes start collapsed)`,
      );
    }
    tf.tidy(() => opt.step(clipByGlobalNorm(grads, cfg.clip, norm).grads, { lr: lrAt(cfg, i) }));
    norm.dispose();
    return n;
  };

  for (let i = start; i < cfg.steps; i++) {
    const completed = i + 1;
    const ctx: StepContext = { step: i, seed: mixSeed(cfg.seed, "step", i) };
    const lr = lrAt(cfg, i);
    let lossV: number;
    let partV: Record<string, number>;
    let normV: number;
    if (opts.gradFn) {
      const g = await opts.gradFn(i, ctx);
      lossV = g.loss;
      partV = g.parts;
      checkFinite(task.kind, i, lossV);
      const grads = tf.tidy(() => {
        const out: Record<string, tf.Tensor> = {};
        for (const [k, a] of Object.entries(g.grads)) out[k] = tf.tensor(a, params.get(k).shape);
        return out;
      });
      try {
        normV = await clippedStep(task.kind, i, grads);
      } finally {
        tf.dispose(Object.values(grads));
      }
    } else {
      const batch = task.batch(i);
      try {
        const r = tf.tidy(() => gradTensors(task, batch, ctx));
        try {
          lossV = (await r.loss.data())[0];
          partV = {};
          for (const [k, p] of Object.entries(r.parts)) partV[k] = (await p.data())[0];
          checkFinite(task.kind, i, lossV);
          normV = await clippedStep(task.kind, i, r.grads);
        } finally {
          tf.dispose([r.loss, ...Object.values(r.parts), ...Object.values(r.grads)]);
        }
      } finally {
        task.disposeBatch?.(batch);
      }
    }
    ema?.update(emaDecayAt(ema.decay, ema.updates, cfg.emaWarmup ?? false));

    // metrics window (means over the steps since the last row)
    const w = state.window;
    w.n += 1;
    const add = (k: string, v: number) => (w.sums[k] = (w.sums[k] ?? 0) + v);
    add("loss", lossV);
    for (const [k, v] of Object.entries(partV)) add(k, v);
    add("gradNorm", normV);
    stepsSinceLog += 1;
    state.time = timeAtSessionStart + (performance.now() - sessionT0) / 1000;

    if (completed % cfg.logEvery === 0 || completed === cfg.steps) {
      const now = performance.now();
      const row: MetricsRow = { type: "train", step: completed, time: round3(state.time) };
      for (const [k, s] of Object.entries(w.sums)) row[k] = s / w.n;
      row.lr = lr;
      if (task.flopsPerStep !== undefined) row.flops = completed * task.flopsPerStep;
      row.stepsPerSec = round3(stepsSinceLog / Math.max(1e-9, (now - lastLogWall) / 1000));
      lastLogWall = now;
      stepsSinceLog = 0;
      state.window = { n: 0, sums: {} };
      run.appendMetrics(row);
      rows.push(row);
      curve?.add(row);
      opts.onProgress?.(row);
    }
    if (evaluatesAt(cfg, completed)) await evaluate(completed);
    if (completed === cfg.steps || (cfg.ckptEvery > 0 && completed % cfg.ckptEvery === 0)) {
      // the checkpoint's time includes the evaluation just done
      state.time = timeAtSessionStart + (performance.now() - sessionT0) / 1000;
      await writeTrainCheckpoint(run, task, opt, ema, completed, state, cfg.keepCheckpoints);
    }
    bar?.tick(completed, { loss: lossV });
    await breathe();
    opts.onStep?.(completed, lossV);
    if (opts.stopAfter !== undefined && completed >= opts.stopAfter && completed < cfg.steps) {
      bar?.done();
      curve?.done();
      return finish(false, completed);
    }
  }
  bar?.done();
  curve?.done();
  if (!done) {
    rows = run.readMetrics();
    const done: DoneRecord = { step: cfg.steps, time: round3(state.time), finishedAt: new Date().toISOString(), final: finalRecord(rows) };
    run.markDone(done);
    log(`${task.kind}: finished ${cfg.steps} steps in ${done.time.toFixed(1)} s → ${run.dir}`);
  }
  return finish(true, cfg.steps);

  function finish(finished: boolean, step: number): TrainResult {
    let weights: "ema" | "raw" = "raw";
    if (ema && (opts.weights ?? "ema") === "ema") {
      ema.copyTo(params);
      weights = "ema";
    }
    return { runDir: run.dir, run, metrics: run.readMetrics(), params, weights, step, resumedFrom: start, finished, configHash: configHash(task.config) };
  }
}

function checkFinite(kind: string, i: number, loss: number): void {
  if (!Number.isFinite(loss)) throw new Error(`${kind}: the loss is ${loss} at step ${i}; lower lr (or raise clip strength) and check the data`);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
