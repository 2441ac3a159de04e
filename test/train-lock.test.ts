/** lock.ts: process start times from /proc, and how a lock's owner is judged (alive, self, gone, unknown). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as os from "os";
import { ownerState, processStartMs } from "../lib/train/lock";

test("processStartMs: this process started within the last minute, before now; PID 1 before it; a dead PID has none", async () => {
  const me = processStartMs(process.pid);
  assert.ok(me !== null);
  const age = Date.now() - me;
  assert.ok(age > -2000 && age < 120_000 + process.uptime() * 1000, `started ${age} ms ago`);
  assert.ok(Math.abs(age - process.uptime() * 1000) < 3000, `start ${age} ms ago vs uptime ${process.uptime() * 1000} ms`);
  const init = processStartMs(1);
  assert.ok(init !== null && init <= me);
  const child = spawn(process.execPath, ["-e", "0"]);
  await new Promise((res) => child.once("exit", res));
  assert.equal(processStartMs(child.pid!), null);
});

test("ownerState: self, alive, gone (dead, or PID started after the lock), unknown (other host)", () => {
  const host = os.hostname();
  const now = new Date().toISOString();
  assert.equal(ownerState({ pid: process.pid, host, startedAt: now }), "self");
  assert.equal(ownerState({ pid: process.ppid, host, startedAt: now }), "alive");
  assert.equal(ownerState({ pid: process.ppid }), "alive", "old-format lock, no file time: judged by the PID alone");
  assert.equal(ownerState({ pid: process.ppid }, Date.now()), "alive", "old-format lock written now");
  assert.equal(ownerState({ pid: process.ppid }, Date.parse("2001-01-01T00:00:00Z")), "gone", "old-format lock written before its PID's process started");
  assert.equal(ownerState({ pid: process.ppid, host, startedAt: "2001-01-01T00:00:00.000Z" }), "gone", "PID reused");
  assert.equal(ownerState({ pid: process.pid, host, startedAt: "2001-01-01T00:00:00.000Z" }), "gone", "this PID's earlier life");
  assert.equal(ownerState({ pid: 2147483646, host, startedAt: now }), "gone");
  assert.equal(ownerState({ pid: 1, host: `${host}-elsewhere`, startedAt: now }), "unknown");
});
