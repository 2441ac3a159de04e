/**
 * How the project's tslab kernel treats edits of the files a notebook imported (loaded by scripts/tslab-kernel.js).
 *
 * 1. Survive them. tslab 1.0.22's converter gives TypeScript's watch program a `sys.setTimeout` that holds ONE pending
 *    timer and throws "Unexpected pending rebuildTimer" on a second; its pending timer runs only when the next cell is
 *    converted. TypeScript's watcher keeps two timers (a program update, and the invalidation of failed module
 *    lookups), so a rename-save of a lib file, a contents-manager save, or churn under node_modules while a cell runs
 *    schedules the second one from a file-watch callback: an uncaught error, fatal with the wasm backend loaded.
 *    `multiplexRebuildTimers` puts an accessor on `ts.sys.setTimeout` / `clearTimeout`: the converter's assignment
 *    (`sys = Object.create(ts.sys); sys.setTimeout = …`) lands in the setter, and TypeScript gets a multiplexer that
 *    holds any number of pending timers behind the converter's one; when the converter fires it, every pending
 *    callback runs (callbacks scheduled meanwhile too), in order.
 * 2. Make edits take effect predictably: the next cell that imports a project file sees the new code. tslab re-emits a
 *    changed file but re-evaluates only that module; a module that imported it (lib/index.ts) keeps the old exports.
 *    `reloadOnEdit` wraps the converter's `convert`: when a file it already emitted is emitted again with different
 *    JavaScript, every project module emitted so far is handed back to tslab, which drops them from its module cache,
 *    so the next import evaluates all of them from the current sources, and the cell's stderr says which files changed.
 *    Values made before (a model, a trainer) keep the code they were made with; node_modules are not reloaded.
 * Nothing in node_modules is edited.
 */
"use strict";
const path = require("path");

/** Installs the timer multiplexer on `sysProto` (TypeScript's `ts.sys`); idempotent. */
function multiplexRebuildTimers(sysProto) {
  if (sysProto.ifsqMultiplexed) return;
  const real = { setTimeout: sysProto.setTimeout, clearTimeout: sysProto.clearTimeout };
  /** Per derived sys (one per converter): the converter's own functions and the multiplexer built on them. */
  const bySys = new WeakMap();
  const state = (sys) => {
    let s = bySys.get(sys);
    if (!s) {
      s = { own: {}, mux: null };
      bySys.set(sys, s);
    }
    return s;
  };
  for (const name of ["setTimeout", "clearTimeout"]) {
    Object.defineProperty(sysProto, name, {
      configurable: true,
      enumerable: true,
      get() {
        if (this === sysProto) return real[name];
        const s = bySys.get(this);
        if (!s || !s.own.setTimeout || !s.own.clearTimeout) return (s && s.own[name]) || real[name];
        if (!s.mux) s.mux = createMultiplexer(s.own.setTimeout, s.own.clearTimeout);
        return s.mux[name];
      },
      set(fn) {
        if (this === sysProto) real[name] = fn;
        else {
          const s = state(this);
          s.own[name] = fn;
          s.mux = null;
        }
      },
    });
  }
  Object.defineProperty(sysProto, "ifsqMultiplexed", { value: true });
}

/**
 * Any number of pending timers on top of a host that allows one (`hostSet(cb)` returns a handle; `hostClear(handle)`).
 * Returns { setTimeout, clearTimeout, pending() }.
 */
function createMultiplexer(hostSet, hostClear) {
  const pending = new Map(); // id -> callback, in scheduling order
  let handle = null;
  let flushing = false;
  const flush = () => {
    flushing = true;
    try {
      while (pending.size > 0) {
        const [id, run] = pending.entries().next().value;
        pending.delete(id);
        run();
      }
    } finally {
      flushing = false;
      handle = null;
    }
  };
  return {
    setTimeout(callback, _ms, ...args) {
      const id = { ifsqTimer: true };
      pending.set(id, () => callback(...args));
      if (handle === null && !flushing) handle = hostSet(flush);
      return id;
    },
    clearTimeout(id) {
      pending.delete(id);
      if (pending.size === 0 && handle !== null && !flushing) {
        const h = handle;
        handle = null;
        hostClear(h);
      }
    },
    pending: () => pending.size,
  };
}

/** Wraps `converterModule.createConverter` so that each converter's `convert` reloads every project module on an edit. */
function reloadOnEdit(converterModule, warn) {
  const create = converterModule.createConverter;
  if (create.ifsqReload) return;
  const wrapped = function (options) {
    const conv = create(options);
    const convert = conv.convert;
    /** path -> emitted JavaScript, for every project module emitted so far. */
    const emitted = new Map();
    conv.convert = function (prevDecl, src) {
      const out = convert.call(this, prevDecl, src);
      if (!out || !out.sideOutputs) return out;
      const changed = out.sideOutputs.filter((o) => emitted.has(o.path) && emitted.get(o.path) !== o.data).map((o) => o.path);
      for (const o of out.sideOutputs) emitted.set(o.path, o.data);
      if (changed.length === 0) return out;
      const names = changed.map((p) => path.relative(process.cwd(), p).replace(/\.js$/, ".ts"));
      warn(`[kernel] ${names.join(", ")} changed since imported: reloading ${emitted.size} project module(s); values made before keep their old code (restart the kernel for a clean state)\n`);
      return { ...out, sideOutputs: Array.from(emitted, ([p, data]) => ({ path: p, data })).sort((a, b) => a.path.localeCompare(b.path)) };
    };
    return conv;
  };
  wrapped.ifsqReload = true;
  converterModule.createConverter = wrapped;
}

/** Installs both on the tslab in `tslabDir`, before its main() creates a converter. */
function installEditHandling(tslabDir, warn) {
  const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
  multiplexRebuildTimers(ts.sys);
  reloadOnEdit(require(path.join(tslabDir, "dist", "converter.js")), warn);
}

module.exports = { multiplexRebuildTimers, createMultiplexer, reloadOnEdit, installEditHandling };
