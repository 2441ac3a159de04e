/**
 * The sweep as a job array on a real Slurm cluster (not a mock): scripts/slurm-local.sh starts a private one-node
 * cluster (slurmctld, slurmd, and munged unless one runs), the tokenizers sweep at tiny (few steps) is submitted as
 * a two-task array, the test waits until squeue has no task left, checks that every run was trained exactly once
 * (per-task output files), that notebook 02's trainTokenizer then reuses the runs without training, and stops the
 * daemons it started by PID. Skipped, saying why, without root or without Debian's slurmctld slurmd slurm-client
 * munge (CI installs them: scripts/setup.sh with CI=true).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { trainTokenizer } from "../lib/experiments/tokenizer/index";
import { runEnv } from "../lib/experiments/kinds";
import { catalogStudy } from "../lib/experiments/plan";
import { squeueTasks } from "../lib/experiments/sweeps/slurm";
import { tokenizersStudy } from "../lib/experiments/bin-histograms/grid";

const root = path.resolve(__dirname, "..");
const SET = ["steps=4", "evalLimit=64"];

function skipReason(): string | null {
  if (process.platform !== "linux" || typeof process.getuid !== "function" || process.getuid() !== 0) return "needs root on Linux to start slurmctld/slurmd";
  const missing = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch", "/usr/bin/squeue"].filter((f) => !fs.existsSync(f));
  if (missing.length) return `missing ${missing.join(", ")}: install Debian's slurmctld slurmd slurm-client munge (IFSQ_WITH_SLURM=1 npm run setup; CI does it)`;
  return null;
}

const skip = skipReason();
if (skip) console.log(`sweep-slurm: skipped: ${skip}`);

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return new Promise((res) => child.on("exit", (code) => res({ code, out })));
}

test("a two-shard tokenizers sweep as a Slurm job array trains each run exactly once; the notebook then reuses them", { skip: skip ?? false, timeout: 300_000 }, async () => {
  const t0 = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-slurm-"));
  made.push(work);
  const clusterDir = path.join(work, "cluster");
  const runsDir = path.join(work, "runs");
  const logDir = path.join(work, "logs");
  const start = spawnSync("bash", [path.join(root, "scripts/slurm-local.sh"), "start", clusterDir], { encoding: "utf8" });
  try {
    assert.equal(start.status, 0, `slurm-local start failed: ${start.stdout}${start.stderr}`);
    const env = { ...process.env, SLURM_CONF: path.join(clusterDir, "slurm.conf") };
    console.log(`sweep-slurm: cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const sweepArgs = ["--import", "tsx", "scripts/sweep.ts", "tokenizers", "--preset", "tiny", ...SET.flatMap((s) => ["--set", s]), "--runs-dir", runsDir, "--log-dir", logDir];
    const before = await run(process.execPath, [...sweepArgs, "--status"], env);
    console.log(before.out.trimEnd());
    assert.match(before.out, /0 done, 0 running, 0 stale lock, 4 missing/);

    const sub = await run(process.execPath, [...sweepArgs, "--shards", "2", "--slurm", "--cpus-per-task=1"], env);
    console.log(sub.out.trimEnd());
    assert.equal(sub.code, 0, sub.out);
    const jobId = /submitted job array (\d+)/.exec(sub.out)?.[1];
    assert.ok(jobId, sub.out);

    // wait until no task of the array is left in the queue (a real poll of squeue)
    const deadline = Date.now() + 240_000;
    let seenQueued = false;
    for (;;) {
      const q = squeueTasks([jobId!], env);
      assert.ok(q !== null, "squeue not found");
      if (q.length) seenQueued = true;
      if (q.length === 0) break;
      assert.ok(Date.now() < deadline, `job ${jobId} still queued after 240 s: ${JSON.stringify(q)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`sweep-slurm: job array ${jobId} left the queue after ${((Date.now() - t0) / 1000).toFixed(1)} s (seen queued: ${seenQueued})`);

    // one output file per array task; every run trained by exactly one task
    const outs = fs.readdirSync(logDir).filter((f) => f.endsWith(".out")).sort();
    assert.deepEqual(outs, [`sweep-tokenizers-${jobId}_0.out`, `sweep-tokenizers-${jobId}_1.out`]);
    const trained: string[] = [];
    for (const f of outs) {
      const text = fs.readFileSync(path.join(logDir, f), "utf8");
      console.log(`--- ${f}\n${text.trimEnd()}`);
      assert.match(text, /sweep tokenizers @ tiny: 2 trained, 0 reused, 0 failed/);
      trained.push(...[...text.matchAll(/^\[\d+\/\d+\] trained\s+(\S+)/gm)].map((m) => m[1]));
    }
    const planned = catalogStudy(tokenizersStudy).plan("tiny", SET);
    assert.deepEqual([...trained].sort(), planned.map((p) => p.id).sort(), "each run trained by exactly one array task");

    const afterStatus = await run(process.execPath, [...sweepArgs, "--status"], env);
    console.log(afterStatus.out.trimEnd());
    assert.match(afterStatus.out, /4 done, 0 running, 0 stale lock, 0 missing/);
    assert.match(afterStatus.out, new RegExp(`job ${jobId} \\(2 shards, .*\\): no task left in the queue`));

    // notebook 02's call reads the finished runs without training
    await initBackend("cpu", { log: () => {} });
    const doneBefore = planned.map((p) => fs.statSync(path.join(runsDir, p.id, "done.json")).mtimeMs);
    for (const bound of ["tanh", "ifsq"] as const) {
      const lines: string[] = [];
      const tk = await trainTokenizer(runEnv({ runsDir, log: (l) => lines.push(l), progress: false }), { preset: "tiny", overrides: { bound, levels: [17, 17, 17, 17], seed: 0, alpha: 1.6, steps: 4, evalLimit: 64 } });
      assert.equal(tk.reused, true, `bound=${bound} reused`);
      assert.deepEqual(lines, []);
      assert.ok(planned.some((p) => path.join(runsDir, p.id) === tk.runDir));
      tk.tokenizer.dispose();
    }
    assert.deepEqual(planned.map((p) => fs.statSync(path.join(runsDir, p.id, "done.json")).mtimeMs), doneBefore);
    console.log(`sweep-slurm: passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    const stop = spawnSync("bash", [path.join(root, "scripts/slurm-local.sh"), "stop", clusterDir], { encoding: "utf8" });
    console.log(stop.stdout.trimEnd());
  }
});
