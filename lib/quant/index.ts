/** FSQ / iFSQ quantizers and the analytic activation-collapse analysis (paper-spec §2–3). */
export { FSQ, roundSte } from "./fsq";
export type { FSQOptions } from "./fsq";
export { IFSQ_ALPHA, ifsqActivation, ifsqBound, checkAlpha } from "./ifsq";
export { FSQ_EPS, tanhBound, tanhBoundConstants } from "./tanh-bound";
export type { TanhBoundConstants } from "./tanh-bound";
export {
  toBound,
  boundLabel,
  boundConstants,
  checkLevels,
  boundValue,
  boundDerivative,
  boundInverse,
  boundActivation,
  boundActivationInverse,
  boundActivationAt,
  checkLevel,
} from "./bounds";
export type { Bound, BoundConstants } from "./bounds";
export {
  codeProbabilities,
  uniformCodeProbabilities,
  codeEntropy,
  collapseStats,
  analyticCodeStats,
  activationDensity,
  activationDensityCurve,
  mappingCurve,
  alphaCriterion,
  alphaCriteria,
  alphaArgmins,
  alphaSweep,
  sigmaSweep,
  ALPHA_CRITERIA,
} from "./collapse";
export type { CodeDistribution, CollapseStats, AlphaCriteria, AlphaCriterion, AlphaSweepRow } from "./collapse";
export { normalCdf, normalPdf } from "./numerics";
export { codeCounts, sampleOccupancy } from "./histogram";
export type { OccupancyOptions } from "./histogram";
