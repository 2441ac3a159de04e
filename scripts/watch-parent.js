/**
 * A process that ends when the process that started it is gone (as ipykernel's parent poller does).
 *
 * `watchParent()` notes `process.ppid` and checks it every `intervalMs` (an unref'd timer: it keeps nothing alive).
 * When it changes, the parent died, by any cause including SIGKILL, and this process was re-parented (to PID 1 or a
 * subreaper): it writes one line to stderr and exits with status 1. `process.exit` runs the process's 'exit' handlers
 * (a sweep that started a helper kills it there), and children that watch this process follow within one interval.
 *
 * Used by the tslab kernel launcher (scripts/tslab-kernel.js), which also puts `--require <this file>` in the
 * NODE_OPTIONS its children inherit (`inheritWatch`), and by child processes spawned with that NODE_OPTIONS
 * (lib/watched-child.ts): preloaded that way (no main module yet) it starts watching at once. tsx's CLI runs a script
 * in a second node process; both watch their own parent, so the chain ends link by link.
 */
"use strict";

let watching = null;

/** Starts watching the parent (idempotent); returns the parent PID watched. */
function watchParent(opts = {}) {
  if (watching) return watching.ppid;
  const intervalMs = opts.intervalMs ?? 1000;
  const ppid = process.ppid;
  const timer = setInterval(() => {
    const now = process.ppid;
    if (now === ppid) return;
    clearInterval(timer);
    try {
      process.stderr.write(`[pid ${process.pid}] parent process ${ppid} is gone (now ${now}): exiting\n`);
    } catch {
      // stderr closed with the parent: exit anyway
    }
    process.exit(1);
  }, intervalMs);
  timer.unref();
  watching = { ppid, timer };
  return ppid;
}

/** `nodeOptions` plus `--require <this file>` (once), quoted for NODE_OPTIONS. */
function inheritWatch(nodeOptions) {
  const flag = `--require ${JSON.stringify(__filename)}`;
  const current = nodeOptions ?? "";
  return current.includes(flag) ? current : `${current} ${flag}`.trim();
}

module.exports = { watchParent, inheritWatch };

if (!require.main) watchParent(); // preloaded through NODE_OPTIONS / --require
