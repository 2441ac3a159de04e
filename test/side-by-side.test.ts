/**
 * lib/experiments/sweeps/side-by-side: when a helper process trains a notebook's sweep beside it, and that the helper
 * really trains the declared sweep's runs (a real child process on the toy sweep), which the notebook then reuses.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { runEnv } from "../lib/experiments/kinds";
import { reuseRun } from "../lib/experiments/env";
import { getSweep } from "../lib/experiments/sweeps/catalog";
import { planSweep } from "../lib/experiments/sweeps/sweep";
import { sideBySideDecision, withSideBySide } from "../lib/experiments/sweeps/side-by-side";
import { findFinishedRun } from "../lib/train/run";

const quiet = () => {};

/** Runs `fn` with a fresh runs folder, the toy sweep's quick runs, IFSQ_WORKERS unset, and the log lines collected. */
async function withToySweep(fn: (t: { root: string; env: ReturnType<typeof runEnv>; planned: ReturnType<typeof planSweep>; lines: string[] }) => Promise<void>): Promise<void> {
  await initBackend("wasm", { log: quiet });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-sbs-"));
  const saved = process.env.IFSQ_WORKERS;
  delete process.env.IFSQ_WORKERS;
  try {
    const lines: string[] = [];
    const env = runEnv({ runsDir: path.join(root, "runs"), log: (l) => lines.push(l), progress: false });
    await fn({ root, env, planned: planSweep(env.kinds, getSweep("toy"), { preset: "quick" }), lines });
  } finally {
    if (saved === undefined) delete process.env.IFSQ_WORKERS;
    else process.env.IFSQ_WORKERS = saved;
    fs.rmSync(root, { recursive: true, force: true });
  }
}

test("side by side: a helper process trains the declared sweep's runs, the notebook reuses them; when it is (not) started", () =>
  withToySweep(async ({ root, env, planned, lines }) => {
    assert.equal(planned.length, 4);
    assert.equal(sideBySideDecision(env, "toy", "tiny", planSweep(env.kinds, getSweep("toy"), { preset: "tiny" }), 2).helper, false, "tiny");
    assert.equal(sideBySideDecision(env, "toy", "quick", planned, 1).helper, false, "one core");
    assert.match(sideBySideDecision(env, "toy", "quick", planned.slice(1), 2).reason, /the notebook's 3 runs are not the declared sweep toy@quick's 4/);
    process.env.IFSQ_WORKERS = "2";
    assert.match(sideBySideDecision(env, "toy", "quick", planned, 2).reason, /IFSQ_WORKERS=2 is set/);
    delete process.env.IFSQ_WORKERS;
    assert.equal(sideBySideDecision(env, "toy", "quick", planned, 2).helper, true);

    // the toy task gains a prepare that records the worker setting it ran under (a generator's prepare trains its
    // feature network there): the dependencies are prepared before the helper starts, at the default worker count
    const prepared: { workers: number | undefined; line: number }[] = [];
    const toy = env.kinds.get("toy")!;
    env.kinds = new Map([...env.kinds, ["toy", { ...toy, makeTask: async (c: never) => ({ ...(await toy.makeTask(c)), prepare: async () => void prepared.push({ workers: env.workers, line: lines.length }) }) }]]);

    const finished = () => planned.filter((p) => findFinishedRun(p.kind, p.config, { runsDir: env.runsDir })).length;
    let workersInside: number | undefined;
    const reused = await withSideBySide(env, "toy", "quick", planned, async () => {
      workersInside = env.workers;
      // wait for the helper to train the whole sweep, then walk it as a notebook does
      const t0 = Date.now();
      while (finished() < planned.length && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 250));
      const out: boolean[] = [];
      for (const p of planned) out.push((await reuseRun(env, p.kind, p.config)).reused);
      return out;
    });
    assert.equal(workersInside, 1, "this process trains in-process while the helper runs");
    assert.equal(prepared.length, 1, "one task per kind is prepared, once");
    assert.equal(prepared[0].workers, undefined, "at the default worker count");
    const helperLine = lines.findIndex((l) => /a helper process trains them/.test(l));
    assert.ok(prepared[0].line <= helperLine, `prepared before the helper started:\n${lines.join("\n")}`);
    assert.ok(lines.some((l) => /^side by side: prepared what the toy runs depend on in \d+ s, before starting the helper$/.test(l)), lines.join("\n"));
    assert.equal(env.workers, undefined, "and the setting is restored");
    assert.deepEqual(reused, [true, true, true, true], "every run was trained by the helper");
    assert.ok(lines.some((l) => /4 unfinished runs of sweep toy@quick .* a helper process trains them/.test(l)), lines.join("\n"));
    const logs = fs.readdirSync(path.join(root, "sweeps", "toy-quick")).filter((f) => f.startsWith("helper-"));
    assert.equal(logs.length, 1);
    assert.match(fs.readFileSync(path.join(root, "sweeps", "toy-quick", logs[0]), "utf8"), /4 trained, 0 reused, 0 failed/);
    assert.match(sideBySideDecision(env, "toy", "quick", planned, 2).reason, /0 unfinished runs/);
  }));

test("side by side with trainFirst: the notebook trains the runs the helper has not claimed, then fn finds all finished", () =>
  withToySweep(async ({ env, planned, lines }) => {
    const finishedInside = await withSideBySide(
      env,
      "toy",
      "quick",
      planned,
      async () => planned.filter((p) => findFinishedRun(p.kind, p.config, { runsDir: env.runsDir })).length,
      { trainFirst: true },
    );
    assert.equal(finishedInside, planned.length, "every run is finished before fn runs");
    const line = lines.find((l) => /^side by side: this process trained \d+ of the 4 runs/.test(l));
    assert.ok(line, lines.join("\n"));
    const mine = Number(/trained (\d+) of/.exec(line!)![1]);
    assert.ok(mine >= 1, `this process trained ${mine} runs instead of waiting on the helper`);
    assert.doesNotMatch(line!, /failed here/);
  }));
