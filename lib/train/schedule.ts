/**
 * Learning-rate schedule: linear warm-up, then constant or cosine decay.
 *
 *   step i (0-based) < W:   η(i) = η · (i + 1) / W
 *   constant:               η(i) = η
 *   cosine:                 η(i) = η · (r + (1 − r) · ½ · (1 + cos(π · p))),   p = (i − W) / max(1, S − W − 1) ∈ [0, 1]
 *
 * with W = warmupSteps, S = steps, r = minLrRatio. A pure function of the step, so a resumed run sees the same lrs.
 */
export interface ScheduleConfig {
  lr: number;
  steps: number;
  warmupSteps: number;
  schedule: "constant" | "cosine";
  minLrRatio: number;
}

export function lrAt(cfg: ScheduleConfig, i: number): number {
  const W = cfg.warmupSteps;
  if (i < W) return (cfg.lr * (i + 1)) / W;
  if (cfg.schedule === "constant") return cfg.lr;
  const p = Math.min(1, Math.max(0, (i - W) / Math.max(1, cfg.steps - W - 1)));
  return cfg.lr * (cfg.minLrRatio + (1 - cfg.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
}
