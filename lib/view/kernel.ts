/**
 * Detecting a tslab kernel and sending display data to it.
 *
 * tslab's public `display.*` sends one MIME type per output. Figures need a bundle (plotly JSON + HTML + plain text in
 * one output) so every front end picks what it can render; tslab exposes that only through the internal
 * `tslab/dist/jupyter` module's `lastWriteDisplayData`, the very function `display.*` and `newDisplay()` call.
 * We only ever look at the instance the kernel itself loaded (found in `require.cache`), so nothing is loaded outside a
 * kernel and a second copy of tslab can never answer "Not ready".
 */

/** One output: MIME type → payload (strings, or JSON-able objects for `application/*+json`). */
export type MimeBundle = Record<string, unknown>;

interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type WriteDisplayData = (msg: DisplayMessage, update: boolean) => void;

const JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

function kernelWriter(): WriteDisplayData | null {
  for (const key of Object.keys(require.cache)) {
    if (!JUPYTER_MODULE.test(key)) continue;
    const mod = require.cache[key]?.exports as { lastWriteDisplayData?: WriteDisplayData | null } | undefined;
    if (mod && typeof mod.lastWriteDisplayData === "function") return mod.lastWriteDisplayData;
  }
  return null;
}

/** True when running inside a tslab kernel that is executing (or has executed) a cell. */
export function inKernel(): boolean {
  return kernelWriter() !== null;
}

/**
 * Sends one display output to the kernel. With `displayId`, the first call creates the output and later calls with
 * `update: true` replace it in place (live progress bars). `metadata` goes into the output's metadata (machine-readable
 * state for tools that read the notebook's messages).
 * @throws when not in a kernel; callers check `inKernel()` first.
 */
export function emitDisplay(data: MimeBundle, opts: { displayId?: string; update?: boolean; metadata?: Record<string, unknown> } = {}): void {
  const write = kernelWriter();
  if (!write) throw new Error("emitDisplay: not running inside a tslab kernel (check inKernel() first)");
  write({ data, metadata: opts.metadata ?? {}, transient: opts.displayId ? { display_id: opts.displayId } : {} }, opts.update === true);
}

let displayCounter = 0;
/** A fresh display id for `emitDisplay` (unique within the process). */
export function newDisplayId(prefix = "ifsq"): string {
  displayCounter += 1;
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${displayCounter}`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}
