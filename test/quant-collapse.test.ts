import { test } from "node:test";
import assert from "node:assert/strict";
import {
  activationDensity,
  alphaArgmins,
  alphaCriteria,
  alphaCriterion,
  alphaSweep,
  analyticCodeStats,
  codeEntropy,
  codeProbabilities,
  sigmaSweep,
  uniformCodeProbabilities,
} from "../lib/quant/collapse";
import { erf, erfc, integrate, normalCdf, normalPdf } from "../lib/quant/numerics";

const near = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual}, expected ${expected} ± ${tol}`);
const round3 = (xs: number[]) => xs.map((x) => Number(x.toFixed(3)));

// paper-spec §3.3 ignores FSQ's ε ("β = 1 for FSQ (ignoring ε)"); the quantizer itself uses ε = 1e-3.
const TANH_SPEC = { kind: "tanh", eps: 0 } as const;
const TANH = { kind: "tanh" } as const;
const IFSQ = { kind: "ifsq" } as const;

test("normal CDF and erf/erfc agree with reference values in the body and both tails", () => {
  const cases: Array<[number, number]> = [
    [0, 0.5],
    [1, 0.8413447460685429],
    [1.96, 0.9750021048517795],
    [-3, 0.0013498980316300946],
    [-8, 6.22096057427178e-16],
    [-20, 2.7536241186062337e-89],
  ];
  for (const [x, p] of cases) assert.ok(Math.abs(normalCdf(x) / p - 1) < 1e-12, `Φ(${x}) = ${normalCdf(x)}, expected ${p}`);
  assert.equal(normalCdf(Infinity), 1);
  assert.equal(normalCdf(-Infinity), 0);
  near(erf(0.5), 0.5204998778130465, 1e-15, "erf(0.5)");
  assert.ok(Math.abs(erfc(3) / 2.209049699858544e-5 - 1) < 1e-13, "erfc(3)");
  assert.ok(Math.abs(erfc(10) / 2.088487583762545e-45 - 1) < 1e-13, "erfc(10)");
  near(erfc(-1), 1.8427007929497148, 1e-15, "erfc(-1)");
  near(integrate(normalPdf, -40, 40), 1, 1e-14, "∫φ");
  near(integrate((x) => x * x * normalPdf(x), -40, 40), 1, 1e-13, "∫x²φ");
  near(integrate((x) => Math.abs(x - 0.3), -1, 2, { breakpoints: [0.3] }), 0.845 + 1.445, 1e-14, "∫|x−0.3|");
});

test("L = 17, σ = 1: code probabilities, entropy and utilisation (paper-spec §3.3)", () => {
  const tanh = codeProbabilities(TANH_SPEC, 17, 1);
  const ifsq = codeProbabilities(IFSQ, 17, 1);
  assert.deepEqual(tanh.q, [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(tanh.codes.slice(0, 3), [-1, -0.875, -0.75]);
  assert.deepEqual(round3(tanh.probs.slice(0, 9)), [0.043, 0.085, 0.071, 0.063, 0.057, 0.054, 0.052, 0.05, 0.05]);
  assert.deepEqual(round3(ifsq.probs.slice(0, 9)), [0.016, 0.062, 0.068, 0.067, 0.066, 0.064, 0.063, 0.063, 0.062]);
  for (const d of [tanh, ifsq]) {
    near(d.probs.reduce((a, b) => a + b, 0), 1, 1e-14, "Σp");
    for (let k = 0; k < 17; k++) near(d.probs[k], d.probs[16 - k], 1e-15, "symmetry");
  }
  const st = analyticCodeStats(TANH_SPEC, 17, 1);
  const si = analyticCodeStats(IFSQ, 17, 1);
  near(st.entropy, 4.0567, 5e-5, "tanh H");
  near(si.entropy, 4.0172, 5e-5, "iFSQ H");
  // the spec's "99.3 %" is 4.057/4.087 from rounded numbers; unrounded it is 4.0567/4.0875 = 0.9925
  near(st.utilisation, 0.9925, 1e-4, "tanh utilisation");
  assert.equal(si.utilisation.toFixed(3), "0.983");
  assert.equal(st.innerRatio.toFixed(2), "1.71"); // tanh's inner bins vary 1.71×
  assert.equal(si.innerRatio.toFixed(2), "1.09"); // iFSQ's 15 inner bins are flat within 1.09×
  // a uniform activation gives the end codes half a bin: H_max = 15/16·4 + 2·(1/32)·5 = 4.0625 < log₂17
  const u = uniformCodeProbabilities(17);
  assert.equal(u[0], 1 / 32);
  assert.equal(u[8], 1 / 16);
  assert.equal(codeEntropy(u), 4.0625);
  // the quantizer's own ε = 1e-3 moves the tanh numbers by < 1e-3
  const withEps = codeProbabilities(TANH, 17, 1).probs;
  assert.deepEqual(round3(withEps.slice(0, 4)), [0.044, 0.085, 0.071, 0.063]);
  near(analyticCodeStats(TANH, 17, 1).entropy, 4.0575, 5e-5, "tanh H with ε");
});

test("L = 17: entropy and end-bin mass as σ grows (paper-spec §3.3 table; tanh collapses into the end codes)", () => {
  const table: Array<[number, number, number, number, number]> = [
    // σ, tanh H, tanh end p, iFSQ H, iFSQ end p
    [0.5, 3.73, 0.0, 3.52, 0.0],
    [1.0, 4.06, 0.043, 4.02, 0.016],
    [1.25, 4.01, 0.085, 4.06, 0.043],
    [1.5, 3.9, 0.126, 4.03, 0.076],
    [2.0, 3.64, 0.195, 3.85, 0.142],
    [3.0, 3.16, 0.284, 3.43, 0.237],
  ];
  const sigmas = table.map((r) => r[0]);
  const t = sigmaSweep(TANH_SPEC, 17, sigmas);
  const i = sigmaSweep(IFSQ, 17, sigmas);
  table.forEach(([sigma, tH, tP, iH, iP], k) => {
    assert.equal(Number(t[k].entropy.toFixed(2)), tH, `tanh H at σ=${sigma}: ${t[k].entropy}`);
    assert.equal(Number(t[k].endLow.toFixed(3)), tP, `tanh end p at σ=${sigma}: ${t[k].endLow}`);
    assert.equal(Number(i[k].entropy.toFixed(2)), iH, `iFSQ H at σ=${sigma}: ${i[k].entropy}`);
    assert.equal(Number(i[k].endLow.toFixed(3)), iP, `iFSQ end p at σ=${sigma}: ${i[k].endLow}`);
    near(t[k].endMass, 2 * t[k].endLow, 1e-15, "end mass = both ends");
  });
  // iFSQ at σ behaves like tanh (ε = 0) at 0.8σ: same codes, same probabilities
  const a = codeProbabilities(IFSQ, 17, 1.7).probs;
  const b = codeProbabilities(TANH_SPEC, 17, 0.8 * 1.7).probs;
  a.forEach((p, k) => near(p, b[k], 1e-14, `iFSQ(σ) = tanh(0.8σ) at code ${k}`));
  // L = 5, σ = 2: tanh H = 2.17 with 31 % in each end bin; iFSQ H = 2.26
  const t5 = analyticCodeStats(TANH_SPEC, 5, 2);
  assert.equal(t5.entropy.toFixed(2), "2.17");
  assert.equal(t5.endLow.toFixed(2), "0.31");
  assert.equal(analyticCodeStats(IFSQ, 5, 2).entropy.toFixed(2), "2.26");
});

test("code probabilities of even and odd levels match an independent double-precision evaluation", () => {
  // computed with Python's math.erfc from the same formulas (bounds with ε = 1e-3, α = 1.6)
  const cases: Array<[typeof TANH | typeof IFSQ, number, number, number[]]> = [
    [TANH, 8, 1, [0.077375124821, 0.136662497068, 0.116917284381, 0.111915614722, 0.116702676936, 0.133682119812, 0.178674445569, 0.128070236692]],
    [TANH, 4, 0.7, [0.05024763221, 0.260204203448, 0.432772288959, 0.256775875384]],
    [TANH, 2, 1, [7.2143613e-5, 0.999927856387]],
    [TANH, 6, 2, [0.258020440501, 0.119177301219, 0.082473411807, 0.084252806546, 0.128615365335, 0.327460674592]],
    [TANH, 5, 1, [0.165713220531, 0.233591782016, 0.201389994906, 0.233591782016, 0.165713220531]],
    [IFSQ, 5, 1, [0.11195554427, 0.262806856432, 0.250475198596, 0.262806856432, 0.11195554427]],
    [IFSQ, 3, 1.5, [0.323564191236, 0.352871617528, 0.323564191236]],
  ];
  for (const [spec, L, sigma, expected] of cases) {
    const d = codeProbabilities(spec, L, sigma);
    assert.equal(d.probs.length, L);
    expected.forEach((p, k) => near(d.probs[k], p, 1e-11, `${spec.kind} L=${L} σ=${sigma} q=${d.q[k]}`));
  }
  // even L: codes −L/2 … L/2−1, normalised by L/2
  const even = codeProbabilities(TANH, 8, 1);
  assert.deepEqual(even.q, [-4, -3, -2, -1, 0, 1, 2, 3]);
  assert.deepEqual(even.codes, [-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75]);
  // a shifted mean moves the mass
  assert.ok(codeProbabilities(IFSQ, 5, 1, 1).probs[4] > codeProbabilities(IFSQ, 5, 1, 0).probs[4]);
  assert.throws(() => codeProbabilities(IFSQ, 4, 1), /L=4 is even; the ifsq bound needs odd levels/);
  assert.throws(() => codeProbabilities(IFSQ, 5, 0), /sigma=0 is invalid/);
  assert.throws(() => codeProbabilities({ kind: "ifsq", alpha: -1 }, 5, 1), /alpha=-1 is invalid/);
});

test("densities of the bounded activation for x ~ N(0, 1) (paper-spec §3.2, §10.1)", () => {
  near(activationDensity(IFSQ, 17, 1, 0), 1 / Math.sqrt(2 * Math.PI) / 0.8, 1e-15, "iFSQ p(0) = φ(0)/0.8");
  assert.equal(activationDensity(IFSQ, 17, 1, 0).toFixed(3), "0.499");
  assert.equal(activationDensity(TANH_SPEC, 17, 1, 0).toFixed(3), "0.399");
  assert.equal(activationDensity(TANH_SPEC, 17, 1, 0.9).toFixed(2), "0.71");
  let peak = 0;
  let argPeak = 0;
  let lo = Infinity;
  let hi = 0;
  for (let k = 0; k <= 20000; k++) {
    const y = -1 + (2 * k) / 20000;
    const t = activationDensity(TANH_SPEC, 17, 1, y);
    if (t > peak) [peak, argPeak] = [t, Math.abs(y)];
    if (Math.abs(y) <= 0.9) {
      const i = activationDensity(IFSQ, 17, 1, y);
      lo = Math.min(lo, i);
      hi = Math.max(hi, i);
    }
  }
  assert.equal(peak.toFixed(2), "0.77"); // U-shaped tanh density peaks near |y| = 0.95
  near(argPeak, 0.957, 2e-3, "tanh peak location");
  assert.ok(lo >= 0.48 && hi <= 0.55, `iFSQ density stays in [0.48, 0.55] on |y| ≤ 0.9: [${lo}, ${hi}]`);
  // each density integrates to 1
  for (const spec of [TANH_SPEC, TANH, IFSQ]) {
    const mass = integrate((u) => activationDensity(spec, 9, 1.3, Math.tanh(u)) * (1 - Math.tanh(u) ** 2), -30, 30);
    near(mass, 1, 1e-12, `∫p_Y (${spec.kind})`);
  }
});

test("α sweep: distances of 2σ(αx) − 1 to U(−1, 1) and their argmins (paper-spec §3.2 table)", () => {
  const at16 = alphaCriteria(1.6);
  const at2 = alphaCriteria(2);
  const expect: Array<[keyof typeof at16, number, number, number]> = [
    // criterion, value at 1.6, value at 2, relative tolerance for the spec's rounding
    ["l2Cdf", 7e-5, 9.8e-4, 0.06],
    ["cvm", 1.5e-4, 2.0e-3, 0.03],
    ["w1", 0.0121, 0.056, 0.005],
    ["ks", 0.0173, 0.0442, 0.003],
    ["l2Density", 0.0107, 0.0245, 0.003],
    ["kl", 0.0151, 0.0233, 0.003],
  ];
  for (const [name, v16, v2, rel] of expect) {
    assert.ok(Math.abs((at16[name] as number) / v16 - 1) <= rel, `${name}(1.6) = ${at16[name]}, expected ≈ ${v16}`);
    assert.ok(Math.abs((at2[name] as number) / v2 - 1) <= rel, `${name}(2) = ${at2[name]}, expected ≈ ${v2}`);
  }
  // exact values to more digits (regression)
  near(at16.w1, 0.012046951037, 1e-11, "W1(1.6)");
  near(at16.kl, 0.015084130760, 1e-11, "KL(1.6)");
  near(at2.cvm, 0.001957154692, 1e-11, "CvM(2)");
  // CvM over y equals twice the Gaussian-weighted L2 of the CDFs: ∫(Φ−G)²(φ − G′) du = [(Φ−G)³/3] = 0
  near(at16.cvm, 2 * at16.l2Cdf, 1e-15, "CvM = 2·L2cdf");
  const arg = alphaArgmins();
  near(arg.slope, 4 / Math.sqrt(2 * Math.PI), 1e-15, "slope match α = 4/√(2π)");
  assert.equal(arg.slope.toFixed(3), "1.596");
  assert.equal(arg.l2Cdf.toFixed(3), "1.664");
  assert.equal(arg.cvm.toFixed(3), "1.664");
  assert.equal(arg.w1.toFixed(3), "1.644");
  assert.equal(arg.ks.toFixed(3), "1.702");
  assert.equal(arg.l2Density.toFixed(3), "1.719");
  assert.equal(arg.kl.toFixed(3), "1.749");
  // only ασ matters: at σ = 2 every argmin halves
  near(alphaArgmins(2).w1, arg.w1 / 2, 1e-6, "W1 argmin at σ = 2");
  // W1 in x-space equals W1 integrated directly over y ∈ (−1, 1): F_Y(y) = Φ(2·atanh(y)/α)
  const direct = integrate((y) => Math.abs(normalCdf((2 * Math.atanh(y)) / 1.6) - (y + 1) / 2), -1 + 1e-12, 1 - 1e-12, { breakpoints: [0] });
  near(direct, at16.w1, 1e-9, "W1 in y-space");
  assert.throws(() => alphaCriterion("kl", 0), /alpha=0 is invalid/);
  // the sweep rows carry the L-level code entropy too, maximal near α = 1.6 … 1.75 for L = 17
  const rows = alphaSweep([1.2, 1.6, 2.0], 17);
  assert.equal(rows.length, 3);
  near(rows[1].entropy, 4.0172, 5e-5, "H at α = 1.6");
  near(rows[2].entropy, 4.0567, 5e-5, "H at α = 2 (= tanh without ε)");
  assert.ok(rows[0].entropy < rows[1].entropy);
});
