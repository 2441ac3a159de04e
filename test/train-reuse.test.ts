import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { resolveConfig } from "../lib/train/config";
import { kindRegistry, lookupKind } from "../lib/train/registry";
import { trainOrReuse } from "../lib/train/reuse";
import { lockStatus } from "../lib/train/lock";
import { holdLockAsOther } from "./support/foreign-lock";
import { Run, readMetrics } from "../lib/train/run";
import { train } from "../lib/train/trainer";
import { toyConfig, makeToyTask, type ToyConfig, type ToyTask } from "../lib/train/toy";
import { tempDirs } from "./support/temp-dirs";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

const tmpDir = tempDirs("ifsq-reuse-");

/** The toy kind, counting the tasks it builds (each build is the start of a training session). */
function countingKinds(): { kinds: ReturnType<typeof kindRegistry>; built: () => number } {
  let n = 0;
  const kinds = kindRegistry({
    toy: {
      configDef: toyConfig,
      makeTask: (c: ToyConfig) => {
        n += 1;
        return makeToyTask(c);
      },
    },
  });
  return { kinds, built: () => n };
}

function cfg(set: string[] = []): ToyConfig {
  return resolveConfig(toyConfig, { preset: "tiny", set });
}

const quiet = { log: () => {}, train: { progress: false as const } };

test("kindRegistry: lookup, unknown kind names the known ones, duplicate and bad names are errors", () => {
  const kinds = kindRegistry([["toy", { configDef: toyConfig, makeTask: makeToyTask }]]);
  assert.equal(lookupKind(kinds, "toy").configDef, toyConfig);
  assert.throws(() => lookupKind(kinds, "tyo"), /unknown train kind "tyo" \(did you mean "toy"\?\); known kinds: toy/);
  const spec = { configDef: toyConfig, makeTask: makeToyTask };
  assert.throws(() => kindRegistry([["toy", spec], ["toy", spec]]), /kind "toy" is given twice/);
  assert.throws(() => kindRegistry({ "a b": spec }), /kind "a b" must contain only/);
});

test("trainOrReuse trains a missing run once, then reuses it without building a task", async () => {
  const runsDir = tmpDir();
  const { kinds, built } = countingKinds();
  const c = cfg();
  const a = await trainOrReuse(kinds, "toy", c, { ...quiet, runsDir });
  assert.equal(a.outcome, "trained");
  assert.equal(built(), 1);
  assert.equal(a.finished?.done.step, 40);
  assert.equal(fs.existsSync(path.join(a.dir, "train.lock")), false, "lock released");
  const b = await trainOrReuse(kinds, "toy", c, { ...quiet, runsDir });
  assert.equal(b.outcome, "reused");
  assert.equal(built(), 1);
  assert.equal(b.dir, a.dir);
  assert.deepEqual(b.finished?.done, a.finished?.done);
});

test("trainOrReuse rejects a config that is not fully resolved, naming the kind", async () => {
  const { kinds } = countingKinds();
  const partial = { ...cfg() } as Record<string, unknown>;
  delete partial.noise;
  await assert.rejects(trainOrReuse(kinds, "toy", partial, { ...quiet, runsDir: tmpDir() }), /trainOrReuse\(toy\): config is not fully resolved/);
  await assert.rejects(trainOrReuse(kinds, "toy", { ...cfg(), steps: -1 }, { ...quiet, runsDir: tmpDir() }), /trainOrReuse\(toy\): config is invalid \(steps:/);
});

test("a run locked by a live process: wait: false reports busy with the holder; wait: true reuses once the holder finishes", async () => {
  const runsDir = tmpDir();
  const { kinds, built } = countingKinds();
  const c = cfg();
  const run = Run.open("toy", c, runsDir);
  const { pid, release } = holdLockAsOther(run.dir); // another live trainer holds it
  const busy = await trainOrReuse(kinds, "toy", c, { ...quiet, runsDir, wait: false });
  assert.equal(busy.outcome, "busy");
  assert.match(busy.outcome === "busy" ? busy.holder : "", new RegExp(`^${pid} `));
  assert.equal(lockStatus(run)?.state, "alive");
  assert.equal(built(), 0);

  // the holder trains (outside trainOrReuse) while a waiter polls
  const lines: string[] = [];
  const waiter = trainOrReuse(kinds, "toy", c, { runsDir, pollMs: 20, log: (l) => lines.push(l), train: { progress: false } });
  const task: ToyTask = makeToyTask(c);
  await train(task, { runsDir, lockHeld: true, progress: false, log: () => {} });
  task.dispose();
  release();
  const r = await waiter;
  assert.equal(r.outcome, "reused");
  assert.ok(r.waitedMs > 0);
  assert.equal(built(), 0, "the waiter never built a task");
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`being trained by ${pid} .*; waiting`));
});

test("a lock left by a dead process is taken over and the run resumes from its checkpoint", async () => {
  const runsDir = tmpDir();
  const { kinds } = countingKinds();
  const c = cfg();
  const t = makeToyTask(c);
  await train(t, { runsDir, stopAfter: 20, progress: false, log: () => {} });
  t.dispose();
  const run = Run.locate("toy", c, runsDir);
  fs.writeFileSync(run.lockPath, "999999999\n"); // no such pid
  const r = await trainOrReuse(kinds, "toy", c, { ...quiet, runsDir, wait: false });
  assert.equal(r.outcome, "trained");
  assert.equal(r.outcome === "trained" && r.resumedFrom, 20);
  assert.equal(fs.existsSync(run.lockPath), false);
});

test("a lock naming a live but unrelated PID (started after the lock: the PID was reused) is taken over; a process never waits on its own lock", async () => {
  const runsDir = tmpDir();
  const { kinds } = countingKinds();
  const c = cfg();
  const run = Run.open("toy", c, runsDir);
  // PID 1 and this test's parent are alive, but neither started in 2001: as after a reboot or a container restart
  for (const pid of [1, process.ppid]) {
    fs.writeFileSync(run.lockPath, `${pid}\n${os.hostname()}\n2001-01-01T00:00:00.000Z\n`);
    assert.equal(lockStatus(run)?.state, "gone");
  }
  const t0 = Date.now();
  const r = await trainOrReuse(kinds, "toy", c, { ...quiet, runsDir, pollMs: 60_000 });
  assert.equal(r.outcome, "trained");
  assert.ok(Date.now() - t0 < 30_000, "took the stale lock over instead of polling");

  const c2 = cfg(["seed=7"]);
  const run2 = Run.open("toy", c2, runsDir);
  const release = run2.lock();
  const t1 = Date.now();
  await assert.rejects(trainOrReuse(kinds, "toy", c2, { ...quiet, runsDir, pollMs: 60_000 }), /already locked by this process .*not waiting on its own lock/);
  assert.ok(Date.now() - t1 < 5_000, `rejected after ${Date.now() - t1} ms`);
  release();
});

/** Starts the fixture process; resolves when it has printed "ready", with a promise of its result line. */
function startChild(runsDir: string, go: string, steps: number): Promise<{ result: Promise<{ pid: number; outcome: string; resumedFrom: number | null; waited: boolean; dir: string }> }> {
  const root = path.resolve(__dirname, "..");
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "test/fixtures/train-or-reuse.ts"), runsDir, go, String(steps)], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  return new Promise((resolveReady, rejectReady) => {
    const result = new Promise<{ pid: number; outcome: string; resumedFrom: number | null; waited: boolean; dir: string }>((res, rej) => {
      child.stdout.on("data", (d) => {
        out += d;
        if (out.startsWith("ready\n")) resolveReady({ result });
      });
      child.on("exit", (code) => {
        const last = out.trim().split("\n").pop() ?? "";
        if (code !== 0 || !last.startsWith("{")) {
          const e = new Error(`child exited ${code}: ${err || out}`);
          rejectReady(e);
          rej(e);
        } else res(JSON.parse(last));
      });
    });
  });
}

test("two processes racing for the same config: exactly one trains, the other waits and reuses its run", async () => {
  const runsDir = tmpDir();
  const go = path.join(runsDir, "go");
  const steps = 400;
  const children = await Promise.all([startChild(runsDir, go, steps), startChild(runsDir, go, steps)]);
  fs.writeFileSync(go, "");
  const results = await Promise.all(children.map((c) => c.result));
  assert.deepEqual(results.map((r) => r.outcome).sort(), ["reused", "trained"], JSON.stringify(results));
  assert.equal(results.find((r) => r.outcome === "trained")!.resumedFrom, 0);
  assert.equal(results.find((r) => r.outcome === "reused")!.waited, true, "the reuser found the run locked and waited");
  assert.equal(results[0].dir, results[1].dir);
  // one training session: every logged step appears once
  const steps0 = readMetrics(path.join(results[0].dir, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => r.step);
  assert.deepEqual(steps0, [50, 100, 150, 200, 250, 300, 350, 400]);
  assert.equal(fs.existsSync(path.join(results[0].dir, "train.lock")), false);
});
