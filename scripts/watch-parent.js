/**
 * A process that ends when the process that started it is gone (as ipykernel's parent poller does).
 *
 * `watchParent()` notes `process.ppid` and checks it every `intervalMs` (an unref'd timer: it keeps nothing alive).
 * When it changes, the parent died, by any cause including SIGKILL, and this process was re-parented (to PID 1 or a
 * subreaper): it writes one line to stderr and exits with status 1. `process.exit` runs the process's 'exit' handlers
 * (a sweep that started a helper kills it there), and children that watch this process follow within one interval.
 *
 * Used by the tslab kernel launcher (scripts/tslab-kernel.js), which also puts `--require <this file>` in the
 * NODE_OPTIONS its children inherit, and by child processes spawned with `childEnv`: preloaded
 * that way (no main module yet) it starts watching at once. tsx's CLI runs a script in a second node process; both
 * watch their own parent, so the chain ends link by link. A child whose starter died before the child's own watch
 * began (node takes a moment to boot) sees that through $IFSQ_WATCH_PARENT_PID and exits at once.
 */
"use strict";

/** The PID of the watching process that started this one (set by `childEnv`, and by `watchParent` for children). */
const PARENT_KEY = "IFSQ_WATCH_PARENT_PID";
let watching = null;

function exitBecause(ppid, now) {
  try {
    process.stderr.write(`[pid ${process.pid}] parent process ${ppid} is gone (now ${now}): exiting\n`);
  } catch {
    // stderr closed with the parent: exit anyway
  }
  process.exit(1);
}

/** Whether `pid` runs; a zombie (exited, not yet reaped: an orphan waits for init to reap it) does not. */
function running(pid) {
  try {
    const stat = require("fs").readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    // no /proc: ask the kernel (a zombie counts as running there)
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/**
 * Starts watching the parent (idempotent); returns the parent PID watched. A process whose starter (named in its
 * environment) died while it was still starting exits at once; one started through a shell watches the shell as long
 * as its starter lives. Its own children, started with its environment, expect it as their starter.
 */
function watchParent(opts = {}) {
  if (watching) return watching.ppid;
  const intervalMs = opts.intervalMs ?? 1000;
  const ppid = process.ppid;
  const starter = Number(process.env[PARENT_KEY]);
  if (starter > 0 && starter !== ppid && (ppid === 1 || !running(starter))) exitBecause(starter, ppid);
  process.env[PARENT_KEY] = String(process.pid);
  const timer = setInterval(() => {
    const now = process.ppid;
    if (now === ppid) return;
    clearInterval(timer);
    exitBecause(ppid, now);
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

/** `env` (a copy) for a child process that watches this one: NODE_OPTIONS preloads this file, and names this process. */
function childEnv(env) {
  return { ...env, NODE_OPTIONS: inheritWatch(env.NODE_OPTIONS), [PARENT_KEY]: String(process.pid) };
}

module.exports = { watchParent, inheritWatch, childEnv };

if (!require.main) watchParent(); // preloaded through NODE_OPTIONS / --require
