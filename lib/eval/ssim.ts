/**
 * Structural similarity (Wang et al. 2004) with scikit-image's defaults, as the paper's evaluation calls it
 * (`structural_similarity(data_range=1, channel_axis=0)`):
 *   7×7 uniform window, K1 = 0.01, K2 = 0.03, C1 = (K1·R)², C2 = (K2·R)², R = data range = 1,
 *   μx, μy = window means;  σx², σy², σxy = window (co)variances with the sample correction NP/(NP−1), NP = 49;
 *   S = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
 * averaged over the valid region (skimage filters the whole image and then crops (7−1)/2 = 3 pixels on every side;
 * what remains are exactly the windows that lie fully inside the image), then over channels, then over images.
 * Computed in float64 with summed-area tables.
 */
import { checkFinite, checkSameShape, ImagesLike, Range, readImages, toUnit } from "./images";

export interface SsimOptions {
  /** Value range of the inputs; default [0, 1]. Values are mapped to [0, 1] and clamped (data range R = 1). */
  range?: Range;
  /** Window side; default 7 (skimage). Must be odd and ≤ the image side. */
  winSize?: number;
}

const K1 = 0.01;
const K2 = 0.03;

/** SSIM of one single-channel image pair (H×W, values already on [0, 1]). */
export function ssimChannel(x: Float64Array, y: Float64Array, height: number, width: number, winSize = 7): number {
  const w = winSize;
  if (w % 2 !== 1 || w < 3) throw new Error(`ssim: winSize=${w} must be odd and ≥ 3`);
  if (height < w || width < w) throw new Error(`ssim: image ${height}×${width} is smaller than the ${w}×${w} window`);
  // summed-area tables of x, y, x², y², xy, (H+1)×(W+1)
  const W1 = width + 1;
  const tabs = [0, 1, 2, 3, 4].map(() => new Float64Array((height + 1) * W1));
  const [sx, sy, sxx, syy, sxy] = tabs;
  for (let r = 0; r < height; r++) {
    let ax = 0, ay = 0, axx = 0, ayy = 0, axy = 0; // prettier-ignore
    for (let c = 0; c < width; c++) {
      const a = x[r * width + c];
      const b = y[r * width + c];
      ax += a;
      ay += b;
      axx += a * a;
      ayy += b * b;
      axy += a * b;
      const o = (r + 1) * W1 + c + 1;
      const u = r * W1 + c + 1;
      sx[o] = sx[u] + ax;
      sy[o] = sy[u] + ay;
      sxx[o] = sxx[u] + axx;
      syy[o] = syy[u] + ayy;
      sxy[o] = sxy[u] + axy;
    }
  }
  const np = w * w;
  const covNorm = np / (np - 1);
  const C1 = K1 * K1;
  const C2 = K2 * K2;
  const box = (t: Float64Array, r: number, c: number) => t[(r + w) * W1 + c + w] - t[r * W1 + c + w] - t[(r + w) * W1 + c] + t[r * W1 + c];
  let total = 0;
  const rows = height - w + 1;
  const cols = width - w + 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const ux = box(sx, r, c) / np;
      const uy = box(sy, r, c) / np;
      const vx = covNorm * (box(sxx, r, c) / np - ux * ux);
      const vy = covNorm * (box(syy, r, c) / np - uy * uy);
      const vxy = covNorm * (box(sxy, r, c) / np - ux * uy);
      total += ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
    }
  }
  return total / (rows * cols);
}

/** SSIM of each image pair (mean over channels), length N. */
export function ssimPerImage(a: ImagesLike, b: ImagesLike, opts: SsimOptions = {}): Float64Array {
  const x = readImages(a, "ssim(a)");
  const y = readImages(b, "ssim(b)");
  checkSameShape(x, y, "ssim");
  checkFinite(x.images, "ssim(a)");
  checkFinite(y.images, "ssim(b)");
  const [lo, hi] = opts.range ?? [0, 1];
  if (!(hi > lo)) throw new Error(`ssim: range [${lo}, ${hi}] must have hi > lo`);
  const { height: H, width: W, channels: C } = x;
  const out = new Float64Array(x.n);
  const cx = new Float64Array(H * W);
  const cy = new Float64Array(H * W);
  for (let i = 0; i < x.n; i++) {
    let s = 0;
    for (let ch = 0; ch < C; ch++) {
      for (let p = 0; p < H * W; p++) {
        const j = (i * H * W + p) * C + ch;
        cx[p] = toUnit(x.images[j], lo, hi);
        cy[p] = toUnit(y.images[j], lo, hi);
      }
      s += ssimChannel(cx, cy, H, W, opts.winSize ?? 7);
    }
    out[i] = s / C;
  }
  return out;
}

/** Mean SSIM over images. */
export function ssim(a: ImagesLike, b: ImagesLike, opts: SsimOptions = {}): number {
  const per = ssimPerImage(a, b, opts);
  let s = 0;
  for (const v of per) s += v;
  return s / per.length;
}
