/**
 * The figure both generators use for a sampling knob (AR: CFG scale, DiT: Euler steps): gFID on the left axis, samples
 * per second on the right, one point per setting. The points' gFIDs must be measured the same way except for the
 * knob (`vary`, a field of their FID manifests; lib/eval/fid-manifest.ts): otherwise it throws naming the difference,
 * unless `unchecked`.
 */
import type { PlotlyFigure } from "../view/figure";
import { methodStyle, type MethodKey } from "../view/palette";
import { checkComparableFids, type FidManifest, type FidManifestField } from "../eval/fid-manifest";

export interface GfidAndSpeedPoint {
  /** The knob's value (CFG scale, number of steps, …). */
  x: number;
  gfid: number;
  samplesPerSec: number;
  /** How the gFID was measured. */
  manifest?: FidManifest;
}

export function gfidAndSpeedFigure(points: GfidAndSpeedPoint[], o: { method: MethodKey; knob: string; logX?: boolean; vary?: FidManifestField; unchecked?: boolean }): PlotlyFigure {
  checkComparableFids(points.map((p) => ({ label: `${o.knob} = ${p.x}`, manifest: p.manifest })), { what: `gFID vs ${o.knob}`, allowDifferent: o.vary ? [o.vary] : [], unchecked: o.unchecked });
  const x = points.map((p) => p.x);
  return {
    data: [
      { x, y: points.map((p) => p.gfid), type: "scatter", mode: "lines+markers", name: "gFID", line: { color: methodStyle(o.method).color } },
      { x, y: points.map((p) => p.samplesPerSec), type: "scatter", mode: "lines+markers", name: "samples/s", yaxis: "y2" },
    ],
    layout: {
      title: { text: `gFID and sampling speed vs ${o.knob}` }, height: 360,
      xaxis: { title: { text: o.logX ? `${o.knob} (log)` : o.knob }, ...(o.logX ? { type: "log" } : {}) },
      yaxis: { title: { text: "gFID (lower is better)" } },
      yaxis2: { title: { text: "samples/s" }, overlaying: "y", side: "right", showgrid: false, ...(o.logX ? { type: "log" } : {}) },
    },
  };
}
