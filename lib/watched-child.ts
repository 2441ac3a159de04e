/**
 * The environment for a child process that must end when this process ends, even when this one is killed with
 * SIGKILL: NODE_OPTIONS gains `--require <repo>/scripts/watch-parent.js`, so the child (and every node process it
 * starts: tsx's CLI runs the script in a second one) polls its parent PID every second and exits once it is gone.
 * The one implementation lives in scripts/watch-parent.js (plain JavaScript: the tslab kernel launcher loads it too).
 */
import * as path from "path";
import { projectRoot } from "./project-root";

interface WatchParentModule {
  childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

/** `env` with NODE_OPTIONS (and the starter's PID) set up for the parent watch (a copy; `env` is not changed). */
export function watchedChildEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const mod = require(path.join(projectRoot(), "scripts", "watch-parent.js")) as WatchParentModule;
  return mod.childEnv(env);
}
