/**
 * The IDX file format (LeCun's MNIST format, also used by Fashion-MNIST), optionally gzip-compressed.
 *
 * Layout (big-endian): magic u32 = 0x0000 TT NN (TT = element type, 0x08 = uint8; NN = number of dimensions),
 * then NN dimension sizes as u32, then ∏dims elements. Labels: magic 2049 (0x801, 1 dim); images: magic 2051
 * (0x803, 3 dims [N, rows, cols]).
 *
 * Every check failure is an error that names the file and what was expected: a truncated or corrupted file is never
 * returned as garbage.
 */
import * as fs from "fs";
import * as zlib from "zlib";

export interface IdxArray {
  /** Dimension sizes, e.g. [60000, 28, 28]. */
  dims: number[];
  /** Row-major uint8 elements (a view into the decompressed buffer). */
  data: Uint8Array;
}

/** Magic numbers of the two IDX files we read. */
export const IDX_MAGIC = { labels: 2049, images: 2051 } as const;

function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Parses an IDX buffer (raw or gzip). `name` is used in error messages; `expect` optionally pins the magic number
 * and the number of items (first dimension).
 */
export function parseIdx(buf: Uint8Array, name: string, expect: { magic?: number; count?: number; dims?: number[] } = {}): IdxArray {
  let raw: Uint8Array;
  if (isGzip(buf)) {
    try {
      raw = zlib.gunzipSync(buf);
    } catch (e) {
      throw new Error(`${name}: gzip stream is corrupted or truncated (${(e as Error).message}); delete the file and fetch it again`);
    }
  } else {
    raw = buf;
  }
  if (raw.length < 4) throw new Error(`${name}: ${raw.length} bytes is too short for an IDX header (need at least 4)`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0, false);
  if (raw[0] !== 0 || raw[1] !== 0) throw new Error(`${name}: bad IDX magic number ${magic} (0x${magic.toString(16)}); the first two bytes must be zero`);
  const type = raw[2];
  const ndim = raw[3];
  if (expect.magic !== undefined && magic !== expect.magic) {
    throw new Error(`${name}: IDX magic number is ${magic} (0x${magic.toString(16)}), expected ${expect.magic} (0x${expect.magic.toString(16)})`);
  }
  if (type !== 0x08) throw new Error(`${name}: IDX element type 0x${type.toString(16)} is not supported; only uint8 (0x08) is`);
  if (ndim < 1) throw new Error(`${name}: IDX header declares ${ndim} dimensions; expected at least 1`);
  const headerBytes = 4 + 4 * ndim;
  if (raw.length < headerBytes) throw new Error(`${name}: truncated IDX header: ${raw.length} bytes, need ${headerBytes} for ${ndim} dimensions`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const have = raw.length - headerBytes;
  if (have < count) {
    throw new Error(`${name}: truncated IDX data: dims [${dims.join(", ")}] need ${count} bytes after the header, the file has ${have}`);
  }
  if (have > count) {
    throw new Error(`${name}: IDX file has ${have - count} trailing bytes after dims [${dims.join(", ")}] (${count} data bytes); the file is corrupted`);
  }
  if (expect.count !== undefined && dims[0] !== expect.count) {
    throw new Error(`${name}: holds ${dims[0]} items, expected ${expect.count}`);
  }
  if (expect.dims !== undefined) {
    const rest = dims.slice(1);
    if (rest.length !== expect.dims.length || rest.some((d, i) => d !== expect.dims![i])) {
      throw new Error(`${name}: item shape is [${rest.join(", ")}], expected [${expect.dims.join(", ")}]`);
    }
  }
  return { dims, data: raw.subarray(headerBytes, headerBytes + count) };
}

/** Reads and parses an IDX file from disk (see parseIdx). */
export function readIdxFile(file: string, expect: { magic?: number; count?: number; dims?: number[] } = {}): IdxArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read IDX file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseIdx(buf, file, expect);
}

/** Encodes an IDX uint8 array (used by tests to make fixtures). */
export function encodeIdx(dims: number[], data: Uint8Array, gzip = true): Buffer {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`encodeIdx: data has ${data.length} elements, dims [${dims.join(", ")}] need ${count}`);
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const raw = Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
  return gzip ? zlib.gzipSync(raw) : raw;
}
