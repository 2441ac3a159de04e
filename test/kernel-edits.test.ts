/**
 * scripts/kernel-edits.js in isolation (the real kernel is driven by test/kernel-edit.test.ts): the timer multiplexer
 * on top of tslab's one-slot rebuild timer, and the converter wrapper that reloads every project module on an edit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "path";

const edits = require(path.join(__dirname, "..", "scripts", "kernel-edits.js")) as {
  createMultiplexer(set: (cb: () => void) => object, clear: (h: object) => void): { setTimeout(cb: (...a: unknown[]) => void, ms?: number, ...a: unknown[]): object; clearTimeout(id: object): void; pending(): number };
  multiplexRebuildTimers(sys: Record<string, unknown>): void;
  reloadOnEdit(mod: { createConverter: (o?: unknown) => unknown }, warn: (m: string) => void): void;
};

/** tslab's converter timer: one pending timer at most (a second throws), fired by hand. */
function oneSlotHost() {
  let slot: { callback: () => void } | null = null;
  return {
    set: (cb: () => void) => {
      if (slot) throw new Error("Unexpected pending rebuildTimer");
      slot = { callback: () => { cb(); slot = null; } };
      return slot;
    },
    clear: (h: object) => {
      if (slot !== h) throw new Error("clearing unexpected tiemr");
      slot = null;
    },
    fire: () => slot?.callback(),
    pending: () => slot !== null,
  };
}

test("the multiplexer keeps any number of timers behind one host timer; firing it runs all, in order, and those they schedule", () => {
  const host = oneSlotHost();
  const mux = edits.createMultiplexer(host.set, host.clear);
  const ran: string[] = [];
  mux.setTimeout(() => ran.push("program update"), 250);
  const lookups = mux.setTimeout(() => { ran.push("failed lookups"); mux.setTimeout((x) => ran.push(`scheduled meanwhile ${x}`), 250, 7); }, 250);
  assert.equal(mux.pending(), 2);
  assert.equal(host.pending(), true);
  host.fire();
  assert.deepEqual(ran, ["program update", "failed lookups", "scheduled meanwhile 7"]);
  assert.equal(mux.pending(), 0);
  assert.equal(host.pending(), false);
  // clearing the last pending timer clears the host's; clearing one of two keeps it
  const a = mux.setTimeout(() => ran.push("a"));
  mux.setTimeout(() => ran.push("b"));
  mux.clearTimeout(a);
  assert.equal(host.pending(), true);
  host.fire();
  assert.deepEqual(ran.slice(3), ["b"]);
  mux.clearTimeout(mux.setTimeout(() => ran.push("never")));
  assert.equal(host.pending(), false);
  mux.clearTimeout(lookups); // long gone: no error
});

test("multiplexRebuildTimers: a converter's own sys.setTimeout assignment lands behind the multiplexer; ts.sys keeps the real timers", () => {
  const realSet = () => 0;
  const sysProto: Record<string, unknown> = { setTimeout: realSet, clearTimeout: () => {} };
  edits.multiplexRebuildTimers(sysProto);
  assert.equal(sysProto.setTimeout, realSet);
  const host = oneSlotHost();
  const sys = Object.create(sysProto) as Record<string, (...a: unknown[]) => unknown>;
  sys.setTimeout = host.set as never; // what tslab's createConverter does
  sys.clearTimeout = host.clear as never;
  assert.notEqual(sys.setTimeout, host.set, "TypeScript sees the multiplexer");
  sys.setTimeout(() => {});
  sys.setTimeout(() => {}); // tslab alone threw "Unexpected pending rebuildTimer" here
  assert.equal(host.pending(), true);
});

test("reloadOnEdit: when an emitted project module is emitted again with other code, every module emitted so far is handed back", () => {
  let outputs: { path: string; data: string }[] = [];
  const mod = { createConverter: () => ({ convert: () => ({ output: "x", sideOutputs: outputs }) }) };
  const warned: string[] = [];
  edits.reloadOnEdit(mod, (m) => warned.push(m));
  const conv = mod.createConverter() as { convert(a: string, b: string): { sideOutputs?: { path: string; data: string }[] } };
  const cwd = process.cwd();
  outputs = [{ path: `${cwd}/lib/a.js`, data: "a1" }, { path: `${cwd}/lib/index.js`, data: "i1" }];
  assert.deepEqual(conv.convert("", "").sideOutputs?.map((o) => o.data), ["a1", "i1"]);
  outputs = [{ path: `${cwd}/lib/a.js`, data: "a1" }]; // re-emitted unchanged (a touch): no reload
  assert.deepEqual(conv.convert("", "").sideOutputs?.map((o) => o.data), ["a1"]);
  assert.equal(warned.length, 0);
  outputs = [{ path: `${cwd}/lib/a.js`, data: "a2" }]; // edited
  assert.deepEqual(conv.convert("", "").sideOutputs?.map((o) => `${path.basename(o.path)}=${o.data}`), ["a.js=a2", "index.js=i1"]);
  assert.match(warned[0], /^\[kernel\] lib\/a\.ts changed since imported: reloading 2 project module\(s\)/);
});
