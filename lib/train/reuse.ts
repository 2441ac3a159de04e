/**
 * Train-or-reuse, the one way any caller (notebook, CLI, sweep shard, Slurm array task) gets a finished run:
 *
 *   const r = await trainOrReuse(kinds, "tokenizer", config, { runsDir });
 *   r.outcome   "reused" (a finished run with this config hash existed, or another process finished it while we
 *               waited) | "trained" (this call trained it, resuming from its newest checkpoint) | "busy" (only with
 *               wait: false: another live process holds the run's lock)
 *   r.finished  the FinishedRun (metrics, done record, final checkpoint), null when busy
 *
 * Protocol: (1) a finished run in `<runsDir>/<kind>-<hash12>/` is returned as is; (2) else the run's lock
 * (`Run.lock()`, train.lock) is taken, the finished check repeated (another process may have finished between the
 * two), the task built with the kind's `makeTask` and trained with resume, under that one lock; (3) if another live
 * process holds the lock, wait (poll) until it finishes and reuse its result, or take the lock over when it stops
 * without finishing; with `wait: false` report "busy" at once so a sweep can move on to another run. So each run is
 * trained by exactly one process, whichever locks it first, and every other reads it.
 */
import { canonicalJson, type AnyObjectSchema } from "./config";
import { lookupKind, type KindRegistry } from "./registry";
import { OwnLockError, lockStatus } from "./lock";
import { Run, defaultRunsDir, findFinishedRun, type FinishedRun, type MetricsRow } from "./run";
import type { TrainOptions, TrainTask } from "./trainer";
import { trainWithWorkers } from "./workers";

export interface TrainOrReuseOptions {
  /** Folder holding run folders (default `<repo>/data/runs`). */
  runsDir?: string;
  /** Lines about waiting, resuming and finishing (default console.log; `() => {}` for silence). */
  log?: (line: string) => void;
  /** Called with every metrics row this call writes. */
  onProgress?: (row: MetricsRow) => void;
  /** When another live process holds the run's lock: true (default) waits for it, false returns "busy". */
  wait?: boolean;
  /** Poll interval while waiting, in ms (default 2000). */
  pollMs?: number;
  /** Gives up waiting after this many ms (default: never) with an error naming the lock holder. */
  waitTimeoutMs?: number;
  /** Passed to the trainer (progress sink, weights, …). */
  train?: Omit<TrainOptions, "runsDir" | "log" | "onProgress" | "resume" | "lockHeld">;
  /** Return the trained task (its params hold the final weights; the caller disposes it) instead of disposing it. */
  keepTask?: boolean;
  /** Data-parallel workers when this call trains (default: ./workers's choice, $IFSQ_WORKERS). */
  workers?: number;
  /**
   * Absolute path of the module whose `makeKinds({ runsDir })` gives workers this registry (lib/experiments/kinds.ts
   * for runEnv's kinds). Without it the run trains in this process.
   */
  kindsModule?: string;
}

export type TrainOrReuseResult =
  | { outcome: "reused"; dir: string; finished: FinishedRun; waitedMs: number }
  | { outcome: "trained"; dir: string; finished: FinishedRun; waitedMs: number; resumedFrom: number; task?: TrainTask }
  | { outcome: "busy"; dir: string; finished: null; waitedMs: number; holder: string };

/**
 * Checks that `config` is a resolved config of the kind (valid, and equal to its own parse, so no default is
 * missing): its hash names the run folder, so a partial config would silently name a different run.
 */
function checkResolved(kind: string, schema: AnyObjectSchema, config: Record<string, unknown>): void {
  const r = schema.safeParse(config);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`trainOrReuse(${kind}): config is invalid (${msg}); build it with resolveConfig`);
  }
  if (canonicalJson(r.data) !== canonicalJson(config)) {
    throw new Error(`trainOrReuse(${kind}): config is not fully resolved (parsing it adds or changes keys, so its hash would name another run); build it with resolveConfig`);
  }
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** The finished run for (kind, config): reused, or trained by this call under the run's lock; see the file comment. */
export async function trainOrReuse(kinds: KindRegistry, kind: string, config: Record<string, unknown>, opts: TrainOrReuseOptions = {}): Promise<TrainOrReuseResult> {
  const spec = lookupKind(kinds, kind);
  checkResolved(kind, spec.configDef.schema, config);
  const runsDir = opts.runsDir ?? defaultRunsDir();
  const log = opts.log ?? ((l: string) => console.log(l));
  const pollMs = opts.pollMs ?? 2000;
  const t0 = Date.now();
  let announced = "";
  let goneRetries = 0;
  for (;;) {
    const found = findFinishedRun(kind, config, { runsDir });
    if (found) return { outcome: "reused", dir: found.dir, finished: found, waitedMs: Date.now() - t0 };
    const run = Run.open(kind, config, runsDir);
    let release: (() => void) | null = null;
    try {
      release = run.lock();
    } catch (e) {
      if (e instanceof OwnLockError) throw e; // this process holds it: waiting would never end
      const status = lockStatus(run);
      if (status === null) throw e; // not a lock held by someone else
      if (status.state === "gone" && goneRetries++ < 3) continue; // its owner stopped just now: take it over
      const holder = status.holder;
      if (opts.wait === false) return { outcome: "busy", dir: run.dir, finished: null, waitedMs: Date.now() - t0, holder };
      if (opts.waitTimeoutMs !== undefined && Date.now() - t0 > opts.waitTimeoutMs) {
        throw new Error(`trainOrReuse(${kind}): ${run.dir} is still locked by ${holder} after ${Math.round((Date.now() - t0) / 1000)} s`);
      }
      if (announced !== holder) log(`${kind}: ${run.dir} is being trained by ${holder}; waiting for it to finish`);
      announced = holder;
      await sleep(pollMs);
      continue;
    }
    try {
      const again = findFinishedRun(kind, config, { runsDir });
      if (again) return { outcome: "reused", dir: again.dir, finished: again, waitedMs: Date.now() - t0 };
      const task = (await spec.makeTask(config)) as TrainTask & { dispose?(): void };
      let kept = false;
      try {
        const res = await trainWithWorkers(task, {
          ...opts.train,
          runsDir,
          log,
          onProgress: opts.onProgress,
          resume: true,
          lockHeld: true,
          workers: opts.workers,
          kindsModule: opts.kindsModule,
          dataParallel: spec.dataParallel,
        });
        const finished = findFinishedRun(kind, config, { runsDir });
        if (!finished) throw new Error(`trainOrReuse(${kind}): training ended at step ${res.step} but ${run.dir} holds no finished run (done.json and a checkpoint at its step)`);
        kept = opts.keepTask === true;
        return { outcome: "trained", dir: run.dir, finished, waitedMs: Date.now() - t0, resumedFrom: res.resumedFrom, ...(kept ? { task } : {}) };
      } finally {
        if (!kept) task.dispose?.();
      }
    } finally {
      release();
    }
  }
}
