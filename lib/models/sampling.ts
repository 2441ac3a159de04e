/**
 * Logit processing and seeded sampling for autoregressive generation (LlamaGen `generate.py`), as small pure
 * functions on row-major logit matrices `Float32Array [n·V]` (n rows, vocabulary V). Order per step:
 *
 *   ℓ = ℓ_u + s·(ℓ_c − ℓ_u)          classifier-free guidance on logits (s = 1: the conditional logits)
 *   ℓ ← ℓ / max(T, 1e-5)              temperature
 *   ℓ ← topK(ℓ, k)                    keep logits ≥ the k-th largest (ties kept; k = 0: off)
 *   ℓ ← topP(ℓ, p)                    nucleus: keep the most probable tokens until their mass exceeds p (p = 1: off)
 *   p = softmax(ℓ);  token = min{ i : Σ_{j≤i} p_j > u },  u ~ U[0, 1) from a seeded Rng
 *
 * Removed logits become −∞ and get probability 0. Everything is computed in float64 on the JS side, so a sampled
 * token depends only on the logits and the seed, never on the backend.
 */
import { Rng } from "../rng";

/** Settings of one sampling call. */
export interface SamplingOptions {
  /** Classifier-free guidance scale s (default 1 = no guidance). */
  cfgScale?: number;
  /** Softmax temperature T (default 1); values below 1e-5 count as 1e-5 (≈ greedy). */
  temperature?: number;
  /** Keep the k largest logits per row (default 0 = off). */
  topK?: number;
  /** Nucleus mass p ∈ (0, 1] (default 1 = off). */
  topP?: number;
}

function checkRows(logits: Float32Array, V: number, what: string): number {
  if (!Number.isInteger(V) || V <= 0) throw new Error(`${what}: vocabulary V=${V} must be a positive integer`);
  if (logits.length % V !== 0) throw new Error(`${what}: ${logits.length} logits are not a whole number of rows of V=${V}`);
  return logits.length / V;
}

/** Checks the option values; the error names the bad one. */
export function checkSamplingOptions(o: SamplingOptions): Required<SamplingOptions> {
  const r = { cfgScale: o.cfgScale ?? 1, temperature: o.temperature ?? 1, topK: o.topK ?? 0, topP: o.topP ?? 1 };
  if (!Number.isFinite(r.cfgScale)) throw new Error(`sampling: cfgScale=${r.cfgScale} must be a finite number (1 = no guidance)`);
  if (!Number.isFinite(r.temperature) || r.temperature < 0) throw new Error(`sampling: temperature=${r.temperature} must be a finite number ≥ 0`);
  if (!Number.isInteger(r.topK) || r.topK < 0) throw new Error(`sampling: topK=${r.topK} must be an integer ≥ 0 (0 = off)`);
  if (!(r.topP > 0 && r.topP <= 1)) throw new Error(`sampling: topP=${r.topP} must be in (0, 1] (1 = off)`);
  return r;
}

/** ℓ_u + s·(ℓ_c − ℓ_u), elementwise; with s = 1 this returns a copy of the conditional logits exactly. */
export function cfgMix(cond: Float32Array, uncond: Float32Array, scale: number): Float32Array {
  if (cond.length !== uncond.length) throw new Error(`cfgMix: conditional (${cond.length}) and unconditional (${uncond.length}) logits differ in size`);
  if (scale === 1) return Float32Array.from(cond);
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) out[i] = uncond[i] + scale * (cond[i] - uncond[i]);
  return out;
}

/** ℓ / max(T, 1e-5) (a new array). */
export function applyTemperature(logits: Float32Array, temperature: number): Float32Array {
  const t = Math.max(temperature, 1e-5);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] / t;
  return out;
}

/** Per row, sets logits below the k-th largest to −∞ (ties with the k-th are kept). k = 0 or k ≥ V: unchanged copy. */
export function topKFilter(logits: Float32Array, V: number, k: number): Float32Array {
  const n = checkRows(logits, V, "topKFilter");
  const out = Float32Array.from(logits);
  if (k <= 0 || k >= V) return out;
  const row = new Float32Array(V);
  for (let r = 0; r < n; r++) {
    row.set(logits.subarray(r * V, (r + 1) * V));
    row.sort(); // ascending; NaN last
    const kth = row[V - k];
    for (let i = r * V; i < (r + 1) * V; i++) if (!(out[i] >= kth)) out[i] = -Infinity;
  }
  return out;
}

/**
 * Nucleus filtering per row (the HuggingFace / LlamaGen rule): sort by probability, descending; drop every token
 * whose preceding cumulative probability already exceeds p (so the most probable token always stays).
 */
export function topPFilter(logits: Float32Array, V: number, p: number): Float32Array {
  const n = checkRows(logits, V, "topPFilter");
  const out = Float32Array.from(logits);
  if (p >= 1) return out;
  const order = new Array<number>(V);
  for (let r = 0; r < n; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    const probs = softmaxRow(row);
    for (let i = 0; i < V; i++) order[i] = i;
    order.sort((a, b) => probs[b] - probs[a] || a - b);
    let cum = 0;
    for (let j = 0; j < V; j++) {
      const i = order[j];
      if (cum > p) out[r * V + i] = -Infinity;
      cum += probs[i];
    }
  }
  return out;
}

/** Softmax of one row in float64 (−∞ entries get 0; an all-−∞ row is an error). */
export function softmaxRow(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  if (!Number.isFinite(max)) throw new Error(`softmax: a row has no finite logit (max ${max}); check for NaN in the model output`);
  const out = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const e = row[i] === -Infinity ? 0 : Math.exp(row[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < row.length; i++) out[i] /= sum;
  return out;
}

/** Row-wise softmax of [n·V] logits → probabilities [n·V] (float64). */
export function softmaxRows(logits: Float32Array, V: number): Float64Array {
  const n = checkRows(logits, V, "softmaxRows");
  const out = new Float64Array(logits.length);
  for (let r = 0; r < n; r++) out.set(softmaxRow(logits.subarray(r * V, (r + 1) * V)), r * V);
  return out;
}

/**
 * Inverse-CDF draw per row: the first index whose cumulative probability exceeds u_r·(row sum), u_r ∈ [0, 1).
 * Zero-probability entries are never chosen.
 */
export function categorical(probs: ArrayLike<number>, V: number, uniforms: ArrayLike<number>): Int32Array {
  if (probs.length % V !== 0) throw new Error(`categorical: ${probs.length} probabilities are not a whole number of rows of V=${V}`);
  const n = probs.length / V;
  if (uniforms.length !== n) throw new Error(`categorical: ${uniforms.length} uniforms for ${n} rows`);
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let total = 0;
    for (let i = 0; i < V; i++) total += probs[r * V + i];
    const u = uniforms[r];
    if (!(u >= 0 && u < 1)) throw new Error(`categorical: uniform[${r}]=${u} is outside [0, 1)`);
    const target = u * total;
    let cum = 0;
    let pick = -1;
    for (let i = 0; i < V; i++) {
      const p = probs[r * V + i];
      if (p <= 0) continue;
      cum += p;
      pick = i;
      if (cum > target) break;
    }
    if (pick < 0) throw new Error(`categorical: row ${r} has no positive probability`);
    out[r] = pick;
  }
  return out;
}

/** Temperature → top-k → top-p → softmax: the distribution a token is drawn from ([n·V], float64). */
export function samplingProbs(logits: Float32Array, V: number, opts: SamplingOptions = {}): Float64Array {
  const o = checkSamplingOptions(opts);
  let l = applyTemperature(logits, o.temperature);
  l = topKFilter(l, V, o.topK);
  l = topPFilter(l, V, o.topP);
  return softmaxRows(l, V);
}

/**
 * Draws one token per row of already-guided logits [n·V] (temperature, top-k, top-p applied here), with one
 * uniform per row from `rng`, in row order.
 */
export function sampleLogits(logits: Float32Array, V: number, opts: SamplingOptions, rng: Rng): Int32Array {
  const probs = samplingProbs(logits, V, opts);
  const n = probs.length / V;
  const u = new Float64Array(n);
  for (let r = 0; r < n; r++) u[r] = rng.next();
  return categorical(probs, V, u);
}

/**
 * One guided draw: `logits` holds n conditional rows, followed (when `cfgScale` ≠ 1) by n unconditional rows
 * ([2n·V], the [cond; null] batch); guidance, then filtering and sampling. Returns n tokens.
 */
export function sampleGuided(logits: Float32Array, V: number, rows: number, opts: SamplingOptions, rng: Rng): Int32Array {
  const o = checkSamplingOptions(opts);
  const guided = logits.length === 2 * rows * V;
  if (!guided && logits.length !== rows * V) throw new Error(`sampleGuided: ${logits.length} logits for ${rows} rows of V=${V} (expected ${rows * V}, or ${2 * rows * V} with guidance)`);
  if (o.cfgScale !== 1 && !guided) throw new Error(`sampleGuided: cfgScale=${o.cfgScale} needs the [cond; null] batch (${2 * rows} rows), got ${rows}`);
  const l = guided ? cfgMix(logits.subarray(0, rows * V), logits.subarray(rows * V), o.cfgScale) : logits;
  return sampleLogits(l, V, o, rng);
}
