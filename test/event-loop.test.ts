/** breather(): a loop of awaited microtasks (what `await tensor.data()` is on wasm) lets timers and I/O run. */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { breather } from "../lib/event-loop";

/** Busy-loops for ms, awaiting a resolved promise per iteration (and `breathe` if given); returns timer callbacks seen. */
async function busyLoop(ms: number, breathe?: () => Promise<void>): Promise<{ fired: number; iterations: number }> {
  let fired = 0;
  const timer = setInterval(() => void fired++, 1);
  const t0 = Date.now();
  let iterations = 0;
  while (Date.now() - t0 < ms) {
    await Promise.resolve(iterations++);
    if (breathe) await breathe();
  }
  clearInterval(timer);
  return { fired, iterations };
}

test("without a breather a microtask loop starves timers; with breather(50) a 300 ms loop lets them run", async () => {
  const starved = await busyLoop(300);
  assert.equal(starved.fired, 0, `a 1 ms interval fired ${starved.fired} times during ${starved.iterations} awaited iterations`);
  const breathing = await busyLoop(300, breather(50));
  assert.ok(breathing.fired >= 2 && breathing.fired <= 7, `fired ${breathing.fired} times; expected about one per 50 ms turn (≤ 6)`);
});

test("breather yields only once the interval has passed (fake clock) and rejects a bad interval", async () => {
  let t = 0;
  const breathe = breather(50, () => t);
  let turns = 0;
  const count = () => setImmediate(() => void turns++);
  count();
  t = 49;
  await breathe(); // 49 ms since creation: no turn
  assert.equal(turns, 0);
  t = 50;
  await breathe(); // one macrotask turn: the setImmediate queued before runs
  assert.equal(turns, 1);
  assert.throws(() => breather(-1), /intervalMs=-1/);
});
