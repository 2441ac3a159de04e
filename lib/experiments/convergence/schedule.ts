/**
 * The evaluation schedule of a convergence run: n completed steps whose training compute is log-spaced from a small
 * fraction of the budget to the whole budget. Compute grows linearly with steps (FLOPs = step · FLOPs/step), so
 * log-spacing the steps log-spaces the compute.
 *
 *   s_k = round(S · f^(1 − k/(n−1))),  k = 0 … n−1   (S = total steps, f = first fraction; s_0 ≈ f·S, s_{n−1} = S)
 *
 *   logSpacedSteps(500, 9, 0.01)   // [5, 9, 16, 28, 50, 89, 158, 281, 500]
 *
 * Rounding makes neighbours equal at small S; then a point moves to the step after its predecessor (and the points
 * before the end are capped so that the last stays S), so there are exactly n points whenever S ≥ n — the early
 * ones no longer exactly log-spaced. With S < n every step is a point.
 */

/** The log-spaced completed steps (ascending, unique, the last = totalSteps; min(points, totalSteps) of them). */
export function logSpacedSteps(totalSteps: number, points: number, firstFraction = 0.01): number[] {
  if (!(Number.isInteger(totalSteps) && totalSteps >= 1)) throw new Error(`logSpacedSteps: totalSteps=${totalSteps}; expected a positive integer`);
  if (!(Number.isInteger(points) && points >= 2)) throw new Error(`logSpacedSteps: points=${points}; expected an integer ≥ 2 (the first and the last point)`);
  if (!(firstFraction > 0 && firstFraction < 1)) throw new Error(`logSpacedSteps: firstFraction=${firstFraction}; expected a fraction of the budget in (0, 1)`);
  const n = Math.min(points, totalSteps);
  if (n === 1) return [totalSteps];
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const s = Math.round(totalSteps * Math.pow(firstFraction, 1 - k / (n - 1)));
    out.push(Math.max(s, k === 0 ? 1 : out[k - 1] + 1));
  }
  for (let k = n - 1; k >= 0; k--) out[k] = Math.min(out[k], totalSteps - (n - 1 - k));
  return out;
}
