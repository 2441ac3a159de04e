/**
 * Letting the event loop run inside long compute loops.
 *
 * tfjs-wasm's `await tensor.data()` resolves as a microtask, so a training loop that awaits only tensor reads never
 * returns to the event loop (measured: 1 834 awaited matMul reads in 1 s, and a 0 ms timer set before them never
 * fired). In a tslab kernel that means no request of the front end is received (completion, kernel_info, comm_info
 * wait until the cell ends) and no signal is delivered (an interrupt waits too). `breather(ms)` returns a function to
 * await once per iteration: it yields one macrotask turn (setImmediate) when at least `ms` have passed since the last.
 */
export function breather(intervalMs = 50, now: () => number = Date.now): () => Promise<void> {
  if (!(intervalMs >= 0)) throw new Error(`breather: intervalMs=${intervalMs}; expected a number of milliseconds ≥ 0`);
  let last = now();
  return async () => {
    const t = now();
    if (t - last < intervalMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    last = now();
  };
}
