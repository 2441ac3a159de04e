import { test } from "node:test";
import assert from "node:assert/strict";
import { liveCurve, liveCurveFigure, type LiveCurveState } from "../lib/view/live-curve";
import { throttle } from "../lib/view/throttle";

test("throttle: at most one render per interval, the held newest state rendered when the interval is over", async () => {
  let t = 0;
  let n = 0;
  const th = throttle(() => n++, 100, () => t);
  th.request(); // renders (nothing before)
  t = 10; th.request(); t = 20; th.request(); // held
  assert.equal(n, 1);
  t = 100; await new Promise((r) => setTimeout(r, 120));
  assert.equal(n, 2, "the held request renders once after the interval");
  th.request(true);
  assert.equal(n, 3);
  th.stop(); th.request(true);
  assert.equal(n, 3, "stopped");
});

test("live curve: updates in place at most once per interval, eval metrics on the right, final rendering at done()", () => {
  let t = 0;
  const got: { fig: ReturnType<typeof liveCurveFigure>; state: LiveCurveState; first: boolean }[] = [];
  const c = liveCurve({ title: "dit abc", intervalMs: 1000, now: () => t, emit: (fig, state, first) => got.push({ fig, state, first }) });
  for (let s = 1; s <= 50; s++) {
    t = s * 100; // 10 steps per second
    c.add({ type: "train", step: s, loss: 1 / s });
    if (s % 25 === 0) c.add({ type: "eval", step: s, gfid: 100 - s, evalSeconds: 1 });
  }
  c.add({ type: "train", step: 51, lr: 1 }); // no loss: not drawn
  // 5 s of adds at 1 s per update: the first add, then one every 10 steps (held ones flush by timer, not here)
  assert.equal(got.length, 5);
  assert.equal(got[0].first, true);
  assert.ok(got.slice(1).every((g) => !g.first));
  c.done();
  assert.equal(got.length, 6);
  const last = got[got.length - 1];
  assert.equal(last.state.finished, true);
  assert.equal(last.state.trainPoints, 50);
  assert.equal(last.state.evalPoints, 2);
  assert.equal(last.fig.data.length, 2);
  assert.deepEqual((last.fig.data[1] as { y: number[] }).y, [75, 50]);
  assert.equal((last.fig.data[0] as { x: number[] }).x.length, 50);
  assert.match(String((last.fig.layout!.title as { text: string }).text), /finished, step 50, loss 0\.02000/);
  // the curve grows between updates
  const lens = got.map((g) => (g.fig.data[0] as { x: number[] }).x.length);
  assert.ok(lens.every((n, i) => i === 0 || n > lens[i - 1]), `points per update ${lens}`);
  c.done();
  assert.equal(got.length, 6, "done() is idempotent");
  // outside a kernel nothing is drawn and nothing throws
  const quiet = liveCurve({ title: "x" });
  quiet.add({ type: "train", step: 1, loss: 1 });
  quiet.done();
  assert.equal(quiet.state.updates, 0);
  // PSNR (tokenizer) runs: the right panel shows it
  const tk = liveCurveFigure([{ type: "train", step: 1, loss: 2 }, { type: "eval", step: 1, psnr: 20 }], "tokenizer");
  assert.equal((tk.data[1] as { name: string }).name, "psnr");
});
