/**
 * `progress({ total, label })`: one progress abstraction, three sinks.
 *   - "kernel": a live HTML bar in the notebook (one output updated in place, at most every `intervalMs`, default 200 ms,
 *               so a loop of any speed sends at most 5 updates/s per bar); the output's metadata carries the state under
 *               `ifsq_progress` (what scripts/run_notebooks.py streams to the terminal);
 *   - "tty":    cli-progress on an interactive terminal;
 *   - "plain":  one line every `intervalMs` (default 5 s) and at the end, for logs and CI (cli-progress prints nothing
 *               when stdout is not a terminal).
 * Every sink shows steps done / total, steps/s, ETA and the latest metrics (loss, …). Rate limit: a tick within
 * `intervalMs` of the last update is not shown at once, but the newest such state is shown `intervalMs` after that
 * update (an unref'd timer), so the last tick is always shown even when `done()` is never called.
 * `tick(step)` takes the number of steps completed so far (1…total). With `startAt` (resume), rates and ETA count only
 * the steps done in this session.
 */
import { SingleBar } from "cli-progress";
import { emitDisplay, escapeHtml, inKernel, newDisplayId } from "./kernel";
import { throttle } from "./throttle";

/** Output-metadata key of a kernel bar's state: { label, step, total, rate, etaS, elapsedS, metrics, finished }. */
export const PROGRESS_METADATA_KEY = "ifsq_progress";

export type ProgressSink = "kernel" | "tty" | "plain" | "none";

export interface ProgressOptions {
  total: number;
  label: string;
  /** Steps already done before this session (resume). */
  startAt?: number;
  /** Which sink; default: kernel if in a tslab kernel, tty if stdout is a terminal, else plain. */
  sink?: ProgressSink;
  /** Minimum milliseconds between updates (kernel default 200, plain default 5000). */
  intervalMs?: number;
  /** Line writer for the plain sink (default console.log). */
  write?: (line: string) => void;
  /** Clock in milliseconds (default Date.now); for tests. */
  now?: () => number;
}

export interface ProgressBar {
  /** Reports `step` completed steps and the latest metrics. */
  tick(step: number, metrics?: Record<string, number>): void;
  /** Final update; idempotent. */
  done(): void;
}

export interface ProgressState {
  label: string;
  step: number;
  total: number;
  /** Steps per second in this session (0 until measurable). */
  rate: number;
  /** Seconds left at the current rate (NaN when unknown). */
  etaS: number;
  elapsedS: number;
  metrics: Record<string, number>;
  finished: boolean;
}

/** 0:42, 12:05, 3:02:09 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

export function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics).map(([k, v]) => `${k}=${formatNumber(v)}`).join(" ");
}

function formatRate(rate: number): string {
  return rate <= 0 ? "?" : rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toPrecision(2);
}

/** `label: 120/1000 (12.0%) · 35 steps/s · ETA 0:25 · loss=0.1234` */
export function progressLine(s: ProgressState): string {
  const pct = s.total > 0 ? `${((100 * s.step) / s.total).toFixed(1)}%` : "?";
  const parts = [`${s.label}: ${s.step}/${s.total} (${pct})`, `${formatRate(s.rate)} steps/s`];
  parts.push(s.finished ? `done in ${formatDuration(s.elapsedS)}` : `ETA ${formatDuration(s.etaS)}`);
  const m = formatMetrics(s.metrics);
  if (m) parts.push(m);
  return parts.join(" · ");
}

/** The HTML of the live bar in a notebook. */
export function progressHtml(s: ProgressState): string {
  const pct = s.total > 0 ? Math.min(100, (100 * s.step) / s.total) : 0;
  const m = formatMetrics(s.metrics);
  const tail = s.finished ? `done in ${formatDuration(s.elapsedS)}` : `ETA ${formatDuration(s.etaS)}`;
  return `<div class="ifsq-progress" style="font-family:monospace;font-size:12px;line-height:1.6;">` +
    `<b>${escapeHtml(s.label)}</b> <progress value="${s.step}" max="${s.total}" style="width:240px;vertical-align:middle;"></progress> ` +
    `${s.step}/${s.total} (${pct.toFixed(1)}%) · ${formatRate(s.rate)} steps/s · ${tail}` +
    (m ? ` · ${escapeHtml(m)}` : "") + `</div>`;
}

function defaultSink(): ProgressSink {
  if (inKernel()) return "kernel";
  return process.stdout.isTTY ? "tty" : "plain";
}

export function progress(opts: ProgressOptions): ProgressBar {
  const { total, label } = opts;
  if (!(Number.isFinite(total) && total >= 0)) throw new Error(`progress: total=${total} for "${label}"; expected a finite number ≥ 0`);
  const startAt = opts.startAt ?? 0;
  const now = opts.now ?? Date.now;
  const sink = opts.sink ?? defaultSink();
  const interval = opts.intervalMs ?? (sink === "kernel" ? 200 : 5000);
  const write = opts.write ?? ((line: string) => console.log(line));
  const t0 = now();
  let finished = false;
  const state: ProgressState = { label, step: startAt, total, rate: 0, etaS: NaN, elapsedS: 0, metrics: {}, finished: false };

  const update = (step: number, metrics?: Record<string, number>) => {
    state.step = step;
    if (metrics) state.metrics = { ...state.metrics, ...metrics };
    state.elapsedS = (now() - t0) / 1000;
    const doneHere = step - startAt;
    state.rate = state.elapsedS > 0 && doneHere > 0 ? doneHere / state.elapsedS : 0;
    state.etaS = state.rate > 0 ? Math.max(0, total - step) / state.rate : NaN;
  };

  const displayId = newDisplayId("ifsq-progress");
  let created = false;
  let bar: SingleBar | null = null;

  const render = () => {
    switch (sink) {
      case "kernel":
        emitDisplay({ "text/html": progressHtml(state), "text/plain": progressLine(state) },
          { displayId, update: created, metadata: { [PROGRESS_METADATA_KEY]: { ...state, etaS: Number.isFinite(state.etaS) ? state.etaS : null } } });
        created = true;
        break;
      case "plain":
        write(progressLine(state));
        break;
      case "tty": {
        const payload = { label, rateStr: formatRate(state.rate), etaStr: formatDuration(state.etaS), metrics: formatMetrics(state.metrics) };
        if (!bar) {
          bar = new SingleBar({
            format: "{label} [{bar}] {percentage}% | {value}/{total} | {rateStr} steps/s | ETA {etaStr} | {metrics}",
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 50,
          });
          bar.start(total, state.step, payload);
        } else {
          bar.update(state.step, payload);
        }
        break;
      }
      case "none":
        break;
    }
  };

  // Rate limit (view/throttle.ts): a tick within `interval` of the last render is held and shown when the interval is
  // over; done() renders at once and cancels it. The tty sink (cli-progress) does its own limiting.
  const limit = throttle(render, interval, now);

  return {
    tick(step: number, metrics?: Record<string, number>) {
      if (finished) return;
      update(step, metrics);
      limit.request(sink === "tty");
    },
    done() {
      if (finished) return;
      finished = true;
      limit.stop();
      update(state.step);
      state.finished = true;
      state.etaS = 0;
      render();
      const b = bar as SingleBar | null;
      if (b) b.stop();
    },
  };
}
