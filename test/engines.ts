/**
 * The engines every numeric test runs on: cpu, wasm, and native (wasm with the BLAS kernels of lib/native-engine)
 * where its addon is built. Where it is not, importing this registers one skipped test that says why and how to build
 * it; under CI (CI=true: .ci/run has run scripts/setup.sh, which builds it) a missing addon is a failure instead.
 */
import { test } from "node:test";
import { loadNativeAddon } from "../lib/native-engine";

const native = loadNativeAddon();
/** Why the native engine's cases are skipped (null: they run). */
export const NATIVE_SKIP: string | null = "reason" in native ? `native engine unavailable: ${native.reason}` : null;

if (NATIVE_SKIP !== null) {
  if (process.env.CI === "true") test("native engine is built in CI (scripts/setup.sh builds it)", () => { throw new Error(NATIVE_SKIP); });
  else test("native-engine cases", { skip: NATIVE_SKIP }, () => {});
}

/** Engines for `for (const backend of ENGINES)`. */
export const ENGINES: readonly ("cpu" | "wasm" | "native")[] = NATIVE_SKIP === null ? ["cpu", "wasm", "native"] : ["cpu", "wasm"];
/** The fast engines (without tfjs cpu). */
export const FAST_ENGINES: readonly ("wasm" | "native")[] = NATIVE_SKIP === null ? ["wasm", "native"] : ["wasm"];
