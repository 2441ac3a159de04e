/**
 * The notebook runner's life cycle (issue 25, items 4 and 6), with the real runner, kernels and fixture notebooks:
 *  - late deaths: a kernel killed 2 s after the last cell by a child-process callback, and 12 s after it by a timer
 *    (longer than the old 10 s settle), both fail as "the kernel died after the last cell";
 *  - signals: SIGINT with --jobs 1 and SIGTERM with --jobs 2 stop every kernel and the node process each started (in
 *    test/fixtures/notebooks/stoppable.ipynb; it records their PIDs in its figure folder), run no further notebook,
 *    print what was stopped, and exit 128 + the signal;
 *  - SIGKILL of the runner: its kernel and the kernel's child exit by themselves (they watch their parent).
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const FIXTURES = path.join(ROOT, "test", "fixtures", "notebooks");

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-lifecycle-"));
}

function runnerArgs(dir: string, jobs: number, notebooks: string[]): string[] {
  return ["scripts/run-notebooks.sh", "--no-html", "--no-frontend", "--jobs", String(jobs), "--timeout", "300", "--out", path.join(dir, "nb"), "--figures", path.join(dir, "fig"), ...notebooks];
}

/** Whether `pid` runs (a zombie does not). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function until<T>(what: string, ms: number, f: () => T | null | false): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The kernel's and its child's PIDs, once stoppable.ipynb (copied as `stem`) has written them. */
function pids(dir: string, stem: string): { kernel: number; child: number } | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "fig", stem, "pids.json"), "utf8"));
  } catch {
    return null;
  }
}

function start(args: string[]): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn("bash", args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exit = new Promise<number | null>((res) => child.once("exit", (code, sig) => res(code ?? (sig ? -1 : null))));
  return { child, out: () => out, exit };
}

/** Copies stoppable.ipynb under the given stems (one kernel each). */
function stoppables(dir: string, stems: string[]): string[] {
  return stems.map((s) => {
    const p = path.join(dir, `${s}.ipynb`);
    fs.copyFileSync(path.join(FIXTURES, "stoppable.ipynb"), p);
    return p;
  });
}

test("a kernel killed after the last cell by a child-process callback (2 s) or a timer (12 s) fails the notebook", () => {
  const dir = tmp();
  const run = spawnSync("bash", runnerArgs(dir, 2, ["late-child-exit", "late-timer-12s"].map((n) => path.join(FIXTURES, `${n}.ipynb`))), { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
  const out = run.stdout + run.stderr;
  assert.equal(out.trimEnd().split("\n").pop(), "0 passed, 2 failed", out);
  assert.match(out, /FAIL \S*late-child-exit\.ipynb \([\d.]+ s\): the kernel died after the last cell[^\n]*\n[\s\S]*?late-child-exit fixture: a child-process callback exits the kernel/);
  assert.match(out, /FAIL \S*late-timer-12s\.ipynb \([\d.]+ s\): the kernel died after the last cell[^\n]*\n[\s\S]*?late-timer-12s fixture: the kernel exits on purpose 12 s after the last cell/);
  assert.equal(run.status, 1);
});

for (const [signal, jobs, code] of [["SIGINT", 1, 130], ["SIGTERM", 2, 143]] as const) {
  test(`${signal} with --jobs ${jobs}: every kernel and its child stop, no further notebook runs, exit ${code}`, async () => {
    const dir = tmp();
    const stems = jobs === 1 ? ["stop-a"] : ["stop-a", "stop-b"];
    const notebooks = [...stoppables(dir, stems), path.join(FIXTURES, "good.ipynb")];
    const r = start(runnerArgs(dir, jobs, notebooks));
    try {
      const all = await until("the kernels' PIDs", 120_000, () => {
        const got = stems.map((s) => pids(dir, s));
        return got.every((g) => g !== null) ? (got as { kernel: number; child: number }[]) : null;
      });
      await sleep(500); // the long cell has started
      const t0 = Date.now();
      r.child.kill(signal);
      const status = await Promise.race([r.exit, sleep(30_000).then(() => "still running")]);
      const out = r.out();
      assert.equal(status, code, out);
      console.log(`${signal}, --jobs ${jobs}: runner exited ${status} after ${Date.now() - t0} ms`);
      for (const p of all) {
        assert.equal(running(p.kernel), false, `kernel ${p.kernel} still runs\n${out}`);
        assert.equal(running(p.child), false, `its child ${p.child} still runs\n${out}`);
      }
      assert.match(out, new RegExp(`runner: ${signal} received: stopping ${stems.length} running notebook`));
      for (const s of stems) assert.match(out, new RegExp(`runner: stopped ${s}: kernel \\d+ node tslab-kernel\\.js[^\\n]*\\(SIG\\w+\\); \\d+ node -e setInterval`));
      assert.match(out, new RegExp(`runner: stopped by ${signal}: ${stems.join(", ")} stopped, good not run`));
      assert.doesNotMatch(out, /^ok /m, "no notebook ran to the end");
      assert.doesNotMatch(out, /Task exception was never retrieved|AttributeError/);
      assert.equal(out.trimEnd().split("\n").pop(), `0 passed, ${stems.length + 1} failed`);
    } finally {
      if (r.child.exitCode === null) r.child.kill("SIGKILL");
    }
  });
}

test("SIGKILL of the runner: its kernel and the kernel's child exit by themselves within seconds", async () => {
  const dir = tmp();
  const [nb] = stoppables(dir, ["stop-k"]);
  const r = start(runnerArgs(dir, 1, [nb])); // run-notebooks.sh execs python: the kernel's parent is the process killed here
  const p = await until("the kernel's PIDs", 120_000, () => pids(dir, "stop-k"));
  r.child.kill("SIGKILL");
  await r.exit;
  const t0 = Date.now();
  const status = (pid: number) => (running(pid) ? fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n").filter((l) => /^(State|PPid)/.test(l)).join(", ") : "gone");
  await until(`kernel ${p.kernel} and child ${p.child} to exit`, 10_000, () => !running(p.kernel) && !running(p.child)).catch((e: Error) => {
    throw new Error(`${e.message}: kernel ${status(p.kernel)}; child ${status(p.child)}\n${r.out()}`);
  });
  console.log(`runner SIGKILLed: kernel and child gone after ${Date.now() - t0} ms`);
});
