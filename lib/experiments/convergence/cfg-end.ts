/**
 * The end-of-budget CFG check of notebook 06: every convergence run's final (EMA) weights sampled again with
 * classifier-free guidance at one scale s, on the same samples as its last in-run evaluation (same classes and noise:
 * generator.ts `inRunSampling`), so that with and without CFG is a paired comparison, for every seed.
 *
 *   gFID_s(run) = FID(features of cfg.evalSamples images drawn at scale s, test-split features)
 *
 * It runs after training, not in-run: guided samples cost twice the unguided ones (the [cond; null] batch), and a
 * guided curve at every point would double the in-run evaluation (issue 16 asks for ≤ 15 % of a run's wall time).
 * The result is kept in the run folder (`cfg-end.json`, written atomically, one entry per scale) and read back while
 * the run, its sampling settings and the feature network are unchanged.
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../../atomic";
import type { Sampler } from "../../eval/features";
import type { RunEnv } from "../env";
import { inRunSampling, samplerMetrics, type EvalDraw, type InRunConfig } from "../generator";
import { trainAr } from "../ar/task";
import { arEvalDraw } from "../ar/sample";
import { trainDiT } from "../dit/task";
import { ditEvalDraw } from "../dit/sample";
import type { ConvergenceRun } from "./runs";
import { writeRunFidManifests, type FidManifest } from "../../eval/fid-manifest";
import { inRunFidManifest, type InRunManifestConfig } from "../fid-manifests";

export interface CfgEnd {
  scale: number;
  gfid: number;
  /** Wall seconds of the check (sampling, decoding, features), 0 when read from the run folder. */
  seconds: number;
  /** Whether it was read from the run folder. */
  cached: boolean;
  /** How the gFID was measured (the run's in-run manifest at this scale; also in the run's fid-manifest.json). */
  manifest?: FidManifest;
}

/** One scale's result; everything else that fixes the samples is the run's config (its folder's hash). */
interface CacheEntry {
  scale: number;
  n: number;
  featureNet: string;
  gfid: number;
  seconds: number;
}

const CACHE = "cfg-end.json";

/** The cached entries of a run folder; an unreadable file counts as none (it is rewritten after the check). */
function readEntries(file: string, log: (line: string) => void): CacheEntry[] {
  if (!fs.existsSync(file)) return [];
  try {
    const e = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    if (Array.isArray(e)) return e as CacheEntry[];
    log(`cfgEnd: ${file} is not a list of checks; computing again`);
  } catch (err) {
    log(`cfgEnd: ${file} is unreadable (${(err as Error).message}); computing again`);
  }
  return [];
}

/** A convergence run's final model (its EMA weights) and its in-run evaluation's draw. */
async function loadDraw(env: RunEnv, run: ConvergenceRun): Promise<{ model: { classNames: readonly string[]; dispose(): void }; draw: EvalDraw }> {
  const p = run.planned;
  if (p.kind === "ar") {
    const model = await trainAr(env, { config: p.config });
    return { model, draw: arEvalDraw(model) };
  }
  const model = await trainDiT(env, { config: p.config });
  return { model, draw: ditEvalDraw(model) };
}

/** The guided gFID at the end of one convergence run (computed now, or read from its run folder). */
export async function cfgEndOfRun(env: RunEnv, run: ConvergenceRun, scale: number): Promise<CfgEnd> {
  if (!Number.isFinite(scale)) throw new Error(`cfgEnd: scale=${scale}; expected a finite CFG scale`);
  const cfg: InRunConfig & { steps: number } = run.planned.config;
  const file = path.join(run.runDir, CACHE);
  const entries = readEntries(file, env.log);
  const manifest = inRunFidManifest(run.kind, run.config as unknown as InRunManifestConfig, { guidanceScale: scale });
  const hit = entries.find((e) => e.scale === scale && e.n === cfg.evalSamples && e.featureNet === cfg.featureNet);
  if (hit) return { scale, gfid: hit.gfid, seconds: 0, cached: true, manifest };
  const t0 = performance.now();
  // the finished run's final EMA weights (loadConvergenceRuns trained it)
  const { model, draw } = await loadDraw(env, run);
  let gfid: number;
  try {
    const s = inRunSampling(run.kind, cfg, model.classNames.length, cfg.steps);
    const sampler: Sampler = (m, batchSeed, at) => draw(s.classes(m, at.lo, batchSeed), batchSeed, scale);
    gfid = (await samplerMetrics(env, sampler, cfg.evalSamples, { featureNet: cfg.featureNet, batchSize: cfg.sampleBatch, seed: s.seed })).fid;
  } finally {
    model.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const keep = entries.filter((e) => e.scale !== scale);
  writeFileAtomic(file, JSON.stringify([...keep, { scale, n: cfg.evalSamples, featureNet: cfg.featureNet, gfid, seconds }], null, 1) + "\n");
  writeRunFidManifests(run.runDir, { [`gfidCfgEnd@${scale}`]: manifest });
  return { scale, gfid, seconds, cached: false, manifest };
}

/** The check for every run (in order), each run's result set on `run.cfgEnd`; returns the seconds it took. */
export async function addCfgEnd(env: RunEnv, runs: ConvergenceRun[], scale: number): Promise<number> {
  let seconds = 0;
  for (const r of runs) {
    r.cfgEnd = await cfgEndOfRun(env, r, scale);
    seconds += r.cfgEnd.seconds;
  }
  return seconds;
}
