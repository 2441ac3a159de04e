/**
 * The sweep engine's view of a study's planned runs: a kind name, a resolved config and the run folder name. The
 * engine (this folder: shards, run status, the runner, Slurm arrays) knows no study: a study declares and resolves its
 * runs (lib/experiments/plan.ts), an entry point hands the planned list here.
 *
 *   shardOf(planned, 1, 4)      // runs 1, 5, 9, … (0-based shards, round-robin over the declared list)
 */

/** A planned run: its position in the study's declared list (what shards split), kind, resolved config, folder name. */
export interface PlannedRun {
  index: number;
  label: string;
  kind: string;
  config: Record<string, unknown>;
  /** `<kind>-<configHash12>`, the run folder's name. */
  id: string;
}

/** Parses "i/n" (0 ≤ i < n) into a shard. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new Error(`shard ${JSON.stringify(text)} must look like i/n with 0 ≤ i < n (e.g. 0/4)`);
  return { index, count };
}

/** The runs of shard `index` of `count`: every count-th run starting at index (round-robin over the declared list). */
export function shardOf<T extends { index: number }>(runs: readonly T[], index: number, count: number): T[] {
  if (!(Number.isInteger(count) && count >= 1 && Number.isInteger(index) && index >= 0 && index < count)) {
    throw new Error(`shard ${index}/${count}: need integers 0 ≤ index < count`);
  }
  return runs.filter((r) => r.index % count === index);
}
