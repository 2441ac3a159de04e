/**
 * The rate limit of live displays (progress bars, live curves): `request()` renders at once when `intervalMs` has
 * passed since the last render; otherwise the request is held and ONE render happens `intervalMs` after the last
 * one (an unref'd timer, so it never keeps a script alive), showing the newest state. So a loop of any speed renders
 * at most 1000 / intervalMs times a second, and its last state is always shown even when nobody calls `stop()`.
 *
 *   const t = throttle(render, 200); t.request(); …; t.stop(); render();   // final render by the caller
 */
export interface Throttle {
  /** Renders now if allowed (or when `immediate`), else once the interval is over. */
  request(immediate?: boolean): void;
  /** Cancels a held render; later requests do nothing. */
  stop(): void;
  /** Renders so far. */
  readonly renders: number;
}

export function throttle(render: () => void, intervalMs: number, now: () => number = Date.now): Throttle {
  if (!(intervalMs >= 0)) throw new Error(`throttle: intervalMs=${intervalMs}; expected milliseconds ≥ 0`);
  let lastEmit = -Infinity;
  let held = false;
  let stopped = false;
  let renders = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const emit = () => {
    lastEmit = now();
    held = false;
    renders += 1;
    render();
  };
  return {
    request(immediate = false) {
      if (stopped) return;
      if (immediate || now() - lastEmit >= intervalMs) {
        emit();
        return;
      }
      held = true;
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        if (held && !stopped) emit();
      }, Math.max(0, lastEmit + intervalMs - now()));
      timer.unref?.();
    },
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
    get renders() {
      return renders;
    },
  };
}
