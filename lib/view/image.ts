/**
 * `image(images)`: a PNG grid of [N, H, W, C] images (C = 1 grey or 3 RGB), NHWC row-major, shown in a notebook.
 *
 * Pixel value v maps to round(255·(v − lo)/(hi − lo)), clamped, with `range = [lo, hi]` (default [−1, 1], the data
 * convention of this project). Tiles are upscaled by `scale` (nearest neighbour) and separated by `pad` grey pixels.
 * Encoding uses pngjs (pure JS, synchronous).
 */
import { PNG } from "pngjs";
import { emitDisplay, escapeHtml, inKernel } from "./kernel";
import { figurePath } from "./files";
import { writeFileAtomic } from "../atomic";

/** A tf.Tensor or anything with a shape and synchronous data (tensors are read, never disposed). */
export interface TensorLike {
  shape: number[];
  dataSync(): ArrayLike<number>;
}

export type ImageInput = TensorLike | Float32Array | Uint8Array | number[] | { data: ArrayLike<number>; shape: number[] };

export interface ImageOptions {
  /** Grid columns (default ceil(sqrt(N))). */
  cols?: number;
  /** Integer upscale factor (default: enough to make tiles at least 56 px, at most 8). */
  scale?: number;
  /** Value range mapped to black…white (default [−1, 1]). */
  range?: [number, number];
  caption?: string;
  /** Required for flat arrays: [N, H, W, C] or [H, W, C]. */
  shape?: number[];
  /** Grey pixels between tiles (default 2). */
  pad?: number;
  /** File name (no extension): also writes `<figureDir>/<name>.png`. */
  name?: string;
}

export interface PngGrid {
  png: Buffer;
  width: number;
  height: number;
  n: number;
  tile: [number, number, number];
  cols: number;
  rows: number;
}

function isTensorLike(x: unknown): x is TensorLike {
  return typeof x === "object" && x !== null && Array.isArray((x as TensorLike).shape) && typeof (x as TensorLike).dataSync === "function";
}

function toNHWC(images: ImageInput, shape?: number[]): { data: ArrayLike<number>; shape: [number, number, number, number] } {
  let data: ArrayLike<number>;
  let s: number[] | undefined;
  if (isTensorLike(images)) {
    data = images.dataSync();
    s = images.shape;
  } else if (ArrayBuffer.isView(images) || Array.isArray(images)) {
    data = images as ArrayLike<number>;
    s = shape;
    if (!s) throw new Error(`image: a flat array of ${data.length} values needs opts.shape = [N, H, W, C] (or [H, W, C])`);
  } else {
    data = images.data;
    s = images.shape;
  }
  if (s.length === 3) s = [1, ...s];
  if (s.length !== 4) throw new Error(`image: shape [${s.join(", ")}] has rank ${s.length}; expected [N, H, W, C] or [H, W, C]`);
  const [n, h, w, c] = s;
  if (c !== 1 && c !== 3) throw new Error(`image: channels C=${c} in shape [${s.join(", ")}]; expected 1 (grey) or 3 (RGB)`);
  if (n * h * w * c !== data.length) throw new Error(`image: shape [${s.join(", ")}] needs ${n * h * w * c} values, got ${data.length}`);
  return { data, shape: [n, h, w, c] };
}

/** Renders the images into one PNG grid (see the file comment). */
export function pngGrid(images: ImageInput, opts: ImageOptions = {}): PngGrid {
  const { data, shape } = toNHWC(images, opts.shape);
  const [n, h, w, c] = shape;
  if (n === 0) throw new Error("image: no images (N = 0)");
  const cols = Math.max(1, Math.min(n, Math.floor(opts.cols ?? Math.ceil(Math.sqrt(n)))));
  const rows = Math.ceil(n / cols);
  const scale = Math.max(1, Math.floor(opts.scale ?? Math.min(8, Math.ceil(56 / Math.max(h, w)))));
  const pad = Math.max(0, Math.floor(opts.pad ?? 2));
  const [lo, hi] = opts.range ?? [-1, 1];
  if (!(hi > lo)) throw new Error(`image: range [${lo}, ${hi}] is empty; expected lo < hi`);
  const tw = w * scale, th = h * scale;
  const width = pad + cols * (tw + pad), height = pad + rows * (th + pad);
  const png = new PNG({ width, height });
  png.data.fill(128); // grey separators, opaque below
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  const toByte = (v: number) => {
    const b = Math.round((255 * (v - lo)) / (hi - lo));
    return Number.isNaN(b) ? 0 : b < 0 ? 0 : b > 255 ? 255 : b;
  };
  for (let k = 0; k < n; k++) {
    const x0 = pad + (k % cols) * (tw + pad), y0 = pad + Math.floor(k / cols) * (th + pad);
    for (let y = 0; y < th; y++) {
      const sy = Math.floor(y / scale);
      for (let x = 0; x < tw; x++) {
        const src = ((k * h + sy) * w + Math.floor(x / scale)) * c;
        const dst = ((y0 + y) * width + x0 + x) * 4;
        const r = toByte(data[src]);
        png.data[dst] = r;
        png.data[dst + 1] = c === 3 ? toByte(data[src + 1]) : r;
        png.data[dst + 2] = c === 3 ? toByte(data[src + 2]) : r;
      }
    }
  }
  return { png: PNG.sync.write(png), width, height, n, tile: [h, w, c], cols, rows };
}

/**
 * Shows an image grid (outside a kernel: a one-line summary). Returns nothing, so a cell ending in `image(…)` prints
 * nothing extra; `pngGrid` gives the PNG bytes.
 */
export function image(images: ImageInput, opts: ImageOptions = {}): void {
  const grid = pngGrid(images, opts);
  let file: string | null = null;
  if (opts.name !== undefined) {
    file = figurePath(opts.name, "png");
    writeFileAtomic(file, grid.png);
  }
  const [h, w, c] = grid.tile;
  const summary = `image grid${opts.caption ? ` "${opts.caption}"` : ""}: ${grid.n} image${grid.n === 1 ? "" : "s"} ${h}×${w}×${c}` +
    ` in ${grid.rows}×${grid.cols} → ${grid.width}×${grid.height} px PNG${file ? ` → ${file}` : ""}`;
  if (inKernel()) {
    const b64 = grid.png.toString("base64");
    const caption = opts.caption ? `<figcaption style="font-size:90%;color:#555;">${escapeHtml(opts.caption)}</figcaption>` : "";
    emitDisplay({
      "text/html": `<figure style="margin:4px 0;"><img src="data:image/png;base64,${b64}" width="${grid.width}" height="${grid.height}" ` +
        `style="image-rendering:pixelated;" alt="${escapeHtml(opts.caption ?? "image grid")}"/>${caption}</figure>`,
      "image/png": b64,
      "text/plain": summary,
    });
  } else {
    console.log(summary);
  }
}
