/**
 * scripts/watch-parent.js through its `childEnv` (how a helper process is spawned): a helper started
 * through tsx's CLI (two node processes) ends within seconds when the process that started it is killed with SIGKILL,
 * which runs no exit handler. Without the watch it keeps running, re-parented.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

async function until(what: string, ms: number, f: () => boolean): Promise<number> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  return Date.now() - t0;
}

test("a helper started with childEnv (through tsx's CLI) ends when its starter is killed with SIGKILL", async () => {
  const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-watch-")), "child.pid");
  const parent = spawn(process.execPath, [require.resolve("tsx/cli"), "test/fixtures/watched-helper.ts", "parent", pidFile], { cwd: ROOT, stdio: "ignore" });
  let helper = 0;
  try {
    await until("the helper's pid file", 60_000, () => fs.existsSync(pidFile));
    const [pid, ppid] = fs.readFileSync(pidFile, "utf8").split(" ").map(Number);
    helper = pid;
    assert.ok(running(pid) && running(ppid), "the helper and tsx's CLI process between it and its starter run");
    // the starter is tsx's CLI's child of `parent`; kill every process of the starter's side with SIGKILL
    const starter = Number(fs.readFileSync(`/proc/${ppid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
    for (const p of [starter, parent.pid!]) process.kill(p, "SIGKILL");
    const ms = await until(`helper ${pid} and its tsx CLI ${ppid} to exit`, 10_000, () => !running(pid) && !running(ppid));
    console.log(`helper gone ${ms} ms after its starter was killed`);
  } finally {
    if (helper && running(helper)) process.kill(helper, "SIGKILL");
    if (parent.exitCode === null) parent.kill("SIGKILL");
  }
});
