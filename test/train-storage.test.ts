/**
 * Runs-folder failures are errors naming the run and the remedy (issue 25, item 7): a runs folder that is a file, a
 * read-only file system, a disk that fills up during a checkpoint write (a real 16 KiB tmpfs: needs root's mount; the
 * test is skipped, saying so, where mounting is not allowed), and `npm run train` on a finished run whose config.json
 * is damaged (refused, exit 1, as sweeps and notebooks refuse it).
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { resolveConfig } from "../lib/train/config";
import { loadCheckpoint } from "../lib/train/checkpoint";
import { Run } from "../lib/train/run";
import { RunStorageError } from "../lib/train/storage-errors";
import { train } from "../lib/train/trainer";
import { toyConfig, makeToyTask, type ToyConfig } from "../lib/train/toy";
import { tempDirs } from "./support/temp-dirs";

before(async () => {
  await initBackend("cpu", { log: () => {} });
});

const tmpDir = tempDirs("ifsq-storage-");
const ROOT = path.resolve(__dirname, "..");
const quiet = { progress: false as const, log: () => {} };
const cfg = (): ToyConfig => resolveConfig(toyConfig, { preset: "tiny", set: [] });

/** Mounts a tmpfs of `size` at a new folder (options e.g. "ro"); null where this process may not mount. */
function tmpfs(size: string, extra = ""): { dir: string; remount(opts: string): void; unmount(): void } | null {
  const dir = tmpDir();
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}${extra ? "," + extra : ""}`, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) return null;
  return {
    dir,
    remount: (opts) => assert.equal(spawnSync("mount", ["-o", `remount,${opts}`, dir]).status, 0),
    unmount: () => void spawnSync("umount", [dir]),
  };
}

test("a runs folder that is a file: the error names the run and says to point IFSQ_RUNS_DIR / --runs-dir at a folder", () => {
  const file = path.join(tmpDir(), "runs");
  fs.writeFileSync(file, "not a folder");
  assert.throws(() => Run.open("toy", cfg(), file), (e: Error) => {
    assert.ok(e instanceof RunStorageError);
    assert.match(e.message, new RegExp(`^cannot create run ${file}/toy-[0-9a-f]{12}: the runs folder ${file} is a file, not a folder; point IFSQ_RUNS_DIR or --runs-dir at a folder`));
    return true;
  });
});

test("a read-only runs folder (and a missing one below a read-only mount): EROFS, naming the run and the remedy", (t) => {
  const m = tmpfs("64k", "ro");
  if (!m) return t.skip("mount -t tmpfs is not allowed here");
  try {
    for (const runsDir of [m.dir, path.join(m.dir, "sub", "runs")]) {
      assert.throws(() => Run.open("toy", cfg(), runsDir), (e: Error) => {
        assert.ok(e instanceof RunStorageError, String(e));
        assert.match(e.message, new RegExp(`^cannot write run ${runsDir}/toy-[0-9a-f]{12} while creating it: the file system is read-only \\(EROFS.*\\); point IFSQ_RUNS_DIR or --runs-dir at a writable folder$`));
        return true;
      });
    }
  } finally {
    m.unmount();
  }
});

test("a disk that fills up during a checkpoint write: the error names the run and says free space, then --resume; resuming after freeing space gives the same run", async (t) => {
  const m = tmpfs("16k"); // 4 pages: config.json, metrics.jsonl and two 3.5 KB checkpoints; the third does not fit
  if (!m) return t.skip("mount -t tmpfs is not allowed here");
  try {
    await assert.rejects(train(makeToyTask(cfg()), { runsDir: m.dir, ...quiet }), (e: Error) => {
      assert.ok(e instanceof RunStorageError, String(e));
      assert.equal((e as RunStorageError).code, "ENOSPC");
      assert.match(e.message, new RegExp(`^no space left on the device holding run ${m.dir}/toy-[0-9a-f]{12} while training it \\(ENOSPC.*\\); free space, then resume with \`npm run train -- toy --resume\``));
      return true;
    });
    const run = Run.locate("toy", cfg(), m.dir);
    const kept = fs.readdirSync(run.checkpointsDir).filter((f) => f.endsWith(".safetensors"));
    assert.ok(kept.length >= 1, "checkpoints written before the disk filled are kept");
    m.remount("size=1m"); // space freed
    const resumed = await train(makeToyTask(cfg()), { runsDir: m.dir, ...quiet });
    assert.ok(resumed.resumedFrom > 0, `resumed from step ${resumed.resumedFrom}`);
    const ref = tmpDir();
    await train(makeToyTask(cfg()), { runsDir: ref, ...quiet });
    const last = `step-${String(cfg().steps).padStart(7, "0")}.safetensors`;
    const a = loadCheckpoint(path.join(run.checkpointsDir, last)).tensors;
    const b = loadCheckpoint(path.join(Run.locate("toy", cfg(), ref).checkpointsDir, last)).tensors;
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    for (const k of Object.keys(a)) assert.deepEqual(Array.from(a[k].data), Array.from(b[k].data), `tensor ${k}: the resumed run equals an uninterrupted one`);
  } finally {
    m.unmount();
  }
});

test("npm run train on a finished run with a damaged config.json fails (exit 1) naming the file, as sweeps and notebooks do", async () => {
  const runsDir = tmpDir();
  await train(makeToyTask(cfg()), { runsDir, ...quiet });
  const run = Run.locate("toy", cfg(), runsDir);
  fs.writeFileSync(run.configPath, "{ not json");
  const r = spawnSync(process.execPath, [require.resolve("tsx/cli"), "scripts/train.ts", "toy", "--preset", "tiny", "--runs-dir", runsDir, "--quiet"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`error: ${run.configPath.replace(/[.]/g, "\\.")} .*delete it`));
  assert.doesNotMatch(r.stdout, /already finished/);
});
