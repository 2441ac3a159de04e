/**
 * Engine choice for TensorFlow.js.
 *
 * Order when nothing is asked for: tensorflow-gpu (@tensorflow/tfjs-node-gpu) → tensorflow (@tensorflow/tfjs-node)
 * → native (wasm with its matmul/conv kernels on the system BLAS, ./native-engine; the addon is built by
 * scripts/setup.sh) → wasm (SIMD, from node_modules) → cpu (pure JS). `IFSQ_BACKEND` (or the `prefer` argument) picks
 * one explicitly. The native engines are optional: absent means skipped with the reason and the enabling command,
 * never a crash. `IFSQ_NATIVE_THREADS` sets the native engine's BLAS/oneDNN threads (default 1: both cores come from
 * the data-parallel workers). The danfojs shim that answers to the name
 * `@tensorflow/tfjs-node` (shims/tfjs-node, `"ifsqShim": true`) is not a native engine and is never chosen.
 *
 * This module and the config loader are the only places in lib/ that read environment variables; so the data folder
 * setting IFSQ_DATA_DIR is read here too (`dataDirSetting`), for lib/data, the worker count IFSQ_WORKERS
 * (`workersSetting`), for lib/train/workers, the runs folder IFSQ_RUNS_DIR (`runsDirSetting`), for lib/train/run, and
 * the figure folder IFSQ_FIGURE_DIR (`figureDirSetting`), for lib/view/files.
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "fs";
import * as path from "path";
import { loadNativeAddon, installNativeKernels, removeNativeKernels } from "./native-engine";

export const BACKENDS = ["tensorflow-gpu", "tensorflow", "native", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  /** Our name for the engine. */
  name: BackendName;
  /** tfjs's registered backend name ("tensorflow", "wasm", "cpu"). */
  tfjsName: string;
  /** Why this engine was chosen, one line. */
  reason: string;
  /** Engines that were considered and skipped, with the reason. */
  skipped: string[];
}

let current: BackendInfo | null = null;

/** Validates a backend name; the error lists the valid ones. */
export function parseBackendName(value: string, source = "backend"): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${source}=${JSON.stringify(value)} is not a backend; expected one of: ${BACKENDS.join(", ")}`);
}

/** Whether an npm package is installed for real (the tfjs-node shim does not count). */
function nativePackage(pkg: string): string | null {
  let manifest: string;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    return null;
  }
  try {
    const json = JSON.parse(fs.readFileSync(manifest, "utf8"));
    if (json.ifsqShim) return null;
  } catch {
    return null;
  }
  return manifest;
}

const NATIVE: Record<"tensorflow-gpu" | "tensorflow", string> = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node",
};

/** Directory holding the wasm binaries of @tensorflow/tfjs-backend-wasm, with a trailing slash. */
export function wasmDir(): string {
  return path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + path.sep;
}

async function tryInit(name: BackendName): Promise<string | null> {
  switch (name) {
    case "tensorflow-gpu":
    case "tensorflow": {
      const pkg = NATIVE[name];
      if (!nativePackage(pkg)) return `${pkg} is not installed`;
      try {
        require(pkg);
      } catch (e) {
        return `${pkg} failed to load: ${(e as Error).message.split("\n")[0]}`;
      }
      if (!(await tf.setBackend("tensorflow"))) return `${pkg} loaded but its backend did not initialise`;
      return null;
    }
    case "native": {
      const loaded = loadNativeAddon();
      if ("reason" in loaded) return loaded.reason;
      const why = await tryInit("wasm");
      if (why) return why;
      // 1 thread by default: OpenBLAS's and oneDNN's (OpenMP) pools together oversubscribe 2 cores, measured A 822 ms
      // per step with 2 threads vs 255 with 1 in one process; both cores come from the data-parallel workers
      installNativeKernels(loaded.addon, nativeThreadsSetting() ?? 1);
      return null;
    }
    case "wasm": {
      removeNativeKernels();
      try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const wasm = require("@tensorflow/tfjs-backend-wasm") as typeof import("@tensorflow/tfjs-backend-wasm");
        wasm.setWasmPaths(wasmDir());
      } catch (e) {
        return `@tensorflow/tfjs-backend-wasm failed to load: ${(e as Error).message.split("\n")[0]}`;
      }
      if (!(await tf.setBackend("wasm"))) return "the wasm backend did not initialise";
      return null;
    }
    case "cpu":
      if (!(await tf.setBackend("cpu"))) return "the cpu backend did not initialise";
      return null;
  }
}

/**
 * Selects and initialises the engine. Idempotent for the same choice; switching engines later is allowed
 * (tensors made on the old engine must not be used afterwards).
 * @param prefer  explicit engine; defaults to $IFSQ_BACKEND, else the fastest installed one.
 */
export async function initBackend(prefer?: BackendName | string, opts: { log?: (line: string) => void } = {}): Promise<BackendInfo> {
  tf.enableProdMode(); // silences the "install tfjs-node" banner and debug checks
  const env = process.env.IFSQ_BACKEND;
  const requested = prefer ?? (env && env.length > 0 ? env : undefined);
  const explicit = requested === undefined ? undefined : parseBackendName(requested, prefer ? "backend" : "IFSQ_BACKEND");
  if (current && (explicit === undefined || explicit === current.name) && tf.getBackend() === current.tfjsName) return current;

  const skipped: string[] = [];
  const order: BackendName[] = explicit ? [explicit] : [...BACKENDS];
  for (const name of order) {
    const why = await tryInit(name);
    if (why === null) {
      const reason = explicit
        ? `${prefer ? "requested" : "IFSQ_BACKEND"}=${explicit}`
        : `fastest installed engine${skipped.length ? ` (skipped: ${skipped.join("; ")})` : ""}`;
      current = { name, tfjsName: tf.getBackend(), reason, skipped };
      (opts.log ?? ((l: string) => console.log(l)))(`backend: ${name} — ${reason}`);
      return current;
    }
    if (explicit) throw new Error(`backend ${explicit} was requested but is unavailable: ${why}`);
    skipped.push(`${name}: ${why}`);
  }
  throw new Error(`no TensorFlow.js backend could be initialised: ${skipped.join("; ")}`);
}

/** `$IFSQ_NATIVE_THREADS`: BLAS threads of the native engine (a positive integer), or null when unset. */
export function nativeThreadsSetting(): number | null {
  const v = process.env.IFSQ_NATIVE_THREADS;
  if (v === undefined || v === "") return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`IFSQ_NATIVE_THREADS=${JSON.stringify(v)} is not a thread count; expected a positive integer`);
  return n;
}

/** The engine chosen by the last initBackend call, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}

/**
 * `$IFSQ_DATA_DIR`: the folder holding the Fashion-MNIST IDX files (relative to the project root unless absolute),
 * or null when unset or empty. When set it is the only folder lib/data looks in (see data/fashion-mnist.ts).
 */
export function dataDirSetting(): string | null {
  const v = process.env.IFSQ_DATA_DIR;
  return v && v.length > 0 ? v : null;
}

/** `$IFSQ_RUNS_DIR`: the folder of the run folders (relative to the project root unless absolute), or null when unset. */
export function runsDirSetting(): string | null {
  const v = process.env.IFSQ_RUNS_DIR;
  return v && v.length > 0 ? v : null;
}

/** `$IFSQ_FIGURE_DIR`: the folder figures are written to (relative to the project root unless absolute), or null when unset. */
export function figureDirSetting(): string | null {
  const v = process.env.IFSQ_FIGURE_DIR;
  return v && v.length > 0 ? v : null;
}

/** `$IFSQ_WORKERS`: data-parallel workers per training run (a positive integer), or null when unset. */
export function workersSetting(): number | null {
  const v = process.env.IFSQ_WORKERS;
  if (v === undefined || v === "") return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`IFSQ_WORKERS=${JSON.stringify(v)} is not a worker count; expected a positive integer (1 = train in this process)`);
  return n;
}

/** One engine as `engineStatus` sees it. */
export interface EngineStatus {
  name: BackendName;
  /** It initialises here. */
  available: boolean;
  /** Why it does not, or null. */
  why: string | null;
  /** The engine initBackend() chooses now ($IFSQ_BACKEND, else the fastest available). */
  active: boolean;
}

/**
 * Every engine of BACKENDS, in preference order: whether it initialises here and why not, and which one is active
 * (for `npm run doctor`). Probing switches tfjs's backend; the engine initBackend() chooses is active afterwards.
 * A bad $IFSQ_BACKEND is reported as an error by initBackend, which this rethrows.
 */
export async function engineStatus(): Promise<EngineStatus[]> {
  const out: EngineStatus[] = [];
  for (const name of BACKENDS) {
    const why = await tryInit(name);
    out.push({ name, available: why === null, why, active: false });
  }
  current = null;
  let chosen: BackendInfo | null = null;
  let error: Error | null = null;
  try {
    chosen = await initBackend(undefined, { log: () => {} });
  } catch (e) {
    error = e as Error;
  }
  for (const e of out) e.active = chosen?.name === e.name;
  if (error) throw Object.assign(error, { engines: out });
  return out;
}
