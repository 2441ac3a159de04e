/**
 * The one palette of the project: the display name and colour of every method the notebooks compare (FSQ's tanh
 * bound, iFSQ, the AR and the diffusion generator), so a method looks the same in every figure and table.
 *
 *   methodStyle("ifsq", { alpha: 1.6 })   // { name: "iFSQ (α=1.6)", color: "#1f77b4" }
 */
export type MethodKey = "tanh" | "ifsq" | "ar" | "dit";

export interface MethodStyle {
  name: string;
  color: string;
}

export const METHODS: Readonly<Record<MethodKey, MethodStyle>> = {
  tanh: { name: "FSQ (tanh)", color: "#d62728" },
  ifsq: { name: "iFSQ", color: "#1f77b4" },
  ar: { name: "AR (LlamaGen)", color: "#2ca02c" },
  dit: { name: "DiT (flow matching)", color: "#9467bd" },
};

/** Neutral colours for reference lines (uniform, ideal, Gaussian fit). */
export const REFERENCE_COLOR = "#7f7f7f";

/** A method's name and colour; iFSQ's name carries its slope α when given. */
export function methodStyle(key: MethodKey, opts: { alpha?: number } = {}): MethodStyle {
  const m = METHODS[key];
  if (!m) throw new Error(`methodStyle: unknown method ${JSON.stringify(key)}; expected one of ${Object.keys(METHODS).join(", ")}`);
  return key === "ifsq" && opts.alpha !== undefined ? { ...m, name: `${m.name} (α=${opts.alpha})` } : m;
}
