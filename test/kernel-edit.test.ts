/**
 * Edit-while-training (issue 25, items 1–3): a cell that imported ./lib/index streams output for 8 s while lib/probe.ts
 * is saved through Jupyter's contents-manager procedure and by a rename-save, and files churn beside the notebook and
 * under node_modules (test/kernel_edit.py, the real kernel through jupyter_client). The kernel survives, the cell
 * finishes ok, and the next cell that imports ./lib/index sees the last save (also through index's re-export).
 * The launcher of commit a9f8627 fails it: the kernel dies with "Unexpected pending rebuildTimer"
 * (`/usr/bin/python3 test/kernel_edit.py --launcher <copy of that scripts/tslab-kernel.js>`).
 */
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const PY = process.env.IFSQ_PYTHON ?? "/usr/bin/python3";

test("the kernel survives saves of an imported lib file during a streaming cell, and the next cell sees the new code", () => {
  const run = spawnSync(PY, ["test/kernel_edit.py", "--seconds", "8", "--json"], { cwd: ROOT, encoding: "utf8", timeout: 600_000 });
  const last = run.stdout.trim().split("\n").pop() ?? "";
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(last);
  } catch {
    assert.fail(`kernel_edit.py printed no JSON summary (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
  const { kernel_log_tail, ...summary } = r;
  console.log(`kernel edit: ${JSON.stringify(summary)}`);
  assert.equal(r.error, undefined, `${r.error}; kernel log:\n${kernel_log_tail}`);
  assert.deepEqual((r.saves as [string, number][]).map((s) => s[0]), ["contents manager", "rename", "churn"]);
  assert.equal(r.stream_status, "ok", `the streaming cell: ${r.stream_status}; kernel log:\n${kernel_log_tail}`);
  assert.equal(r.stream_done, true);
  assert.equal(r.alive, true, `the kernel died; its log:\n${kernel_log_tail}`);
  assert.equal(r.after_status, "ok");
  assert.match(String(r.after), /AFTER 3 index sees 3/, "the next cell must see the last save, also through lib/index's re-export");
  assert.match(String(r.after), /lib\/probe\.ts changed since imported: reloading 2 project module/);
  assert.equal(run.status, 0);
});
