import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { kindRegistry } from "../lib/train/registry";
import { Run, readMetrics, runId } from "../lib/train/run";
import { train } from "../lib/train/trainer";
import { toyConfig, makeToyTask, type ToyConfig } from "../lib/train/toy";
import { tokenizerConfig, resolveTokenizerConfig } from "../lib/experiments/tokenizer/index";
import { parseShard, shardOf } from "../lib/experiments/sweeps/sweep";
import { catalogStudy, defineStudy, planRuns } from "../lib/experiments/plan";
import { runStatus, countStates } from "../lib/experiments/sweeps/status";
import { runSweep } from "../lib/experiments/sweeps/run-sweep";
import { sbatchArgs } from "../lib/experiments/sweeps/slurm";
import { tokenizersStudy } from "../lib/experiments/bin-histograms/grid";
import { toyStudy } from "../lib/experiments/toy-study";
import { tempDirs } from "./support/temp-dirs";
import { holdLockAsOther } from "./support/foreign-lock";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

const tmpDir = tempDirs("ifsq-sweep-");

let built = 0;
const kinds = kindRegistry({
  toy: { configDef: toyConfig, makeTask: (c: ToyConfig) => (built++, makeToyTask(c)) },
  tokenizer: { configDef: tokenizerConfig, makeTask: () => { throw new Error("not in this test"); } },
});

const toy = catalogStudy(toyStudy);
const tokenizers = catalogStudy(tokenizersStudy);

test("planRuns resolves typed runs in declared order; defineStudy checks the name", () => {
  const p = planRuns([{ label: "a", kind: "toy", overrides: { hidden: 8, seed: 3 } }, { label: "b", kind: "toy", overrides: { hidden: 16 } }], { preset: "tiny" });
  assert.deepEqual(p.map((r) => [r.index, r.label, r.kind]), [[0, "a", "toy"], [1, "b", "toy"]]);
  assert.equal(p[0].kind === "toy" ? p[0].config.hidden : -1, 8);
  assert.equal(p[0].id, runId("toy", p[0].config));
  assert.deepEqual(toy.plan("tiny").map((r) => r.label), ["hidden=8 seed=0", "hidden=8 seed=1", "hidden=16 seed=0", "hidden=16 seed=1"]);
  assert.throws(() => defineStudy({ ...toyStudy, name: "a b" }), /study name "a b"/);
});

test("the tokenizers sweep names the same run folders as notebook 02's trainTokenizer call", () => {
  const planned = tokenizers.plan("quick");
  assert.equal(planned.length, 4);
  for (const bound of ["tanh", "ifsq"] as const) {
    const nb = resolveTokenizerConfig({ preset: "quick", overrides: { bound, levels: [17, 17, 17, 17], seed: 0, alpha: 1.6 } });
    assert.ok(planned.some((p) => p.id === runId("tokenizer", nb)), `bound=${bound} seed=0`);
  }
  assert.equal(tokenizers.plan("tiny").length, 4);
});

test("planning applies --set to every run and names the run of a bad key; twin configs are an error", () => {
  const p = toy.plan("tiny", ["steps=7"]);
  assert.deepEqual(p.map((r) => r.config.steps), [7, 7, 7, 7]);
  assert.throws(() => toy.plan("tiny", ["hiden=3"]), /run "hidden=8 seed=0" \(toy\): .*unknown key "hiden".*did you mean "hidden"/);
  assert.throws(() => toy.plan("tiny", ["hidden=3"]), /runs "hidden=8 seed=0" and "hidden=16 seed=0" resolve to the same config/);
  assert.throws(() => toy.plan("huge" as never), /"huge" is not a preset/);
});

test("shards split the declared list round-robin, disjoint and complete; bad shards are errors", () => {
  const p = tokenizers.plan("paper-cpu");
  const parts = [0, 1, 2, 3].map((i) => shardOf(p, i, 4).map((r) => r.index));
  assert.deepEqual(parts, [[0, 4], [1, 5], [2], [3]]);
  assert.deepEqual(parseShard("1/4"), { index: 1, count: 4 });
  assert.throws(() => parseShard("4/4"), /shard "4\/4" must look like i\/n with 0 ≤ i < n/);
  assert.throws(() => parseShard("1-4"), /must look like i\/n/);
});

test("runStatus: missing, resumable step, running (live lock), stale (dead pid), done", async () => {
  const runsDir = tmpDir();
  const [r] = toy.plan("tiny");
  assert.equal(runStatus(r, runsDir).state, "missing");
  const t = makeToyTask(r.kind === "toy" ? r.config : assert.fail(r.kind));
  await train(t, { runsDir, stopAfter: 20, progress: false, log: () => {} });
  t.dispose();
  assert.deepEqual([runStatus(r, runsDir).state, runStatus(r, runsDir).step], ["missing", 20]);
  const folder = Run.locate(r.kind, r.config, runsDir);
  const { pid, release } = holdLockAsOther(folder.dir);
  assert.equal(runStatus(r, runsDir).state, "running");
  assert.match(runStatus(r, runsDir).holder ?? "", new RegExp(`^${pid} ${os.hostname()} \\d{4}-`));
  release();
  fs.writeFileSync(folder.lockPath, "999999999\n");
  assert.equal(runStatus(r, runsDir).state, "stale");
  fs.writeFileSync(folder.lockPath, `999999999\nanother-node-${os.hostname()}\n2026-01-01T00:00:00.000Z\n`);
  assert.equal(runStatus(r, runsDir).state, "running", "a dead-looking pid on another host cannot be judged here");
  fs.rmSync(folder.lockPath);
  const all = toy.plan("tiny");
  const sum = await runSweep(kinds, all, { runsDir, log: () => {}, train: { progress: false } });
  assert.equal(sum.trained.length, 4);
  const s = runStatus(r, runsDir);
  assert.deepEqual([s.state, s.step, s.steps], ["done", 40, 40]);
  assert.deepEqual(countStates(all.map((x) => runStatus(x, runsDir))), { done: 4, running: 0, stale: 0, missing: 0 });
});

test("runSweep: trains what is missing, reuses the rest, revisits a locked run until its holder finishes, reports ETA", async () => {
  const runsDir = tmpDir();
  const all = toy.plan("tiny");
  const held = Run.open(all[0].kind, all[0].config, runsDir);
  const { release } = holdLockAsOther(held.dir); // another trainer holds run 0
  built = 0;
  const events: { id: string; outcome: string; eta: number | null }[] = [];
  const sweep = runSweep(kinds, all, { runsDir, pollMs: 30, log: () => {}, train: { progress: false }, onEvent: (e) => events.push({ id: e.run.id, outcome: e.outcome, eta: e.etaSeconds }) });
  while (!events.some((e) => e.outcome === "busy")) await new Promise((r) => setTimeout(r, 10));
  const t = makeToyTask(all[0].kind === "toy" ? all[0].config : assert.fail(all[0].kind)); // the holder trains run 0
  await train(t, { runsDir, lockHeld: true, progress: false, log: () => {} });
  t.dispose();
  release();
  const sum = await sweep;
  assert.equal(built, 3, "runs 1–3 trained here, run 0 by its holder");
  assert.deepEqual(sum.trained.map((r) => r.index), [1, 2, 3]);
  assert.deepEqual(sum.reused.map((r) => r.index), [0]);
  assert.equal(events[0].outcome, "busy");
  assert.equal(events[events.length - 1].eta, 0);
  assert.ok(events.filter((e) => e.outcome === "trained").slice(0, -1).every((e) => e.eta !== null && e.eta > 0), JSON.stringify(events));
  built = 0;
  const again = await runSweep(kinds, all, { runsDir, log: () => {}, train: { progress: false } });
  assert.deepEqual([again.trained.length, again.reused.length, built], [0, 4, 0]);
});

test("sbatchArgs: one array task per shard, output per task, the user's options last", () => {
  const a = sbatchArgs({ script: "/r/scripts/sweep.sbatch", shards: 3, jobName: "sweep-toy", logDir: "/r/logs", chdir: "/r", sbatchOptions: ["--partition=cpu", "--gres=gpu:1"], sweepArgs: ["toy", "--preset", "tiny"] });
  assert.deepEqual(a, ["--parsable", "--array=0-2", "--job-name=sweep-toy", "--output=/r/logs/%x-%A_%a.out", "--chdir=/r", "--partition=cpu", "--gres=gpu:1", "/r/scripts/sweep.sbatch", "toy", "--preset", "tiny"]);
  assert.throws(() => sbatchArgs({ script: "s", shards: 0, jobName: "j", logDir: "l", chdir: "c", sbatchOptions: [], sweepArgs: [] }), /shards=0/);
});

/** Runs `scripts/sweep.ts` with arguments; resolves with its exit code and output. */
function sweepCli(args: string[]): Promise<{ code: number | null; out: string }> {
  const root = path.resolve(__dirname, "..");
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "scripts/sweep.ts"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, IFSQ_BACKEND: "cpu" } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return new Promise((res) => child.on("exit", (code) => res({ code, out })));
}

/** Run ids a sweep's output says it trained. */
function trainedIds(out: string): string[] {
  return [...out.matchAll(/^\[\d+\/\d+\] trained\s+(\S+)/gm)].map((m) => m[1]);
}

test("two sweep processes on one runs folder: every run is trained exactly once, then --status shows all done", async () => {
  const runsDir = tmpDir();
  const args = ["toy", "--preset", "tiny", "--set", "steps=300", "--set", "ckptEvery=100", "--runs-dir", runsDir, "--quiet", "--poll", "0.2"];
  const [a, b] = await Promise.all([sweepCli(args), sweepCli(args)]);
  assert.equal(a.code, 0, a.out);
  assert.equal(b.code, 0, b.out);
  const ids = toy.plan("tiny", ["steps=300", "ckptEvery=100"]).map((r) => r.id);
  const trained = [...trainedIds(a.out), ...trainedIds(b.out)];
  assert.deepEqual([...trained].sort(), [...ids].sort(), `each run trained once:\n${a.out}\n${b.out}`);
  for (const id of ids) {
    const rows = readMetrics(path.join(runsDir, id, "metrics.jsonl")).filter((r) => r.type === "train");
    assert.deepEqual(rows.map((r) => r.step), Array.from({ length: 60 }, (_, i) => 5 * (i + 1)), `${id}: one row per logged step (logEvery 5)`);
  }
  const st = await sweepCli([...args.slice(0, 9), "--status"]);
  assert.match(st.out, /4 done, 0 running, 0 stale lock, 0 missing/);
});
