/**
 * Checkpoints: one file per checkpoint, in the safetensors layout (readable from Python with
 * `safetensors.numpy.load_file`), written atomically.
 *
 *   bytes [0, 8)          N, the header length, unsigned 64-bit little-endian
 *   bytes [8, 8 + N)      UTF-8 JSON header, padded with spaces so the data starts at a multiple of 8:
 *                           { "__metadata__": { "ifsq": "<CheckpointMeta as a JSON string>",
 *                                               "ifsq_sha256": "<64 hex digits>" },
 *                             "<tensor name>": { "dtype": "F32" | "I32" | "BOOL",
 *                                                "shape": [d0, d1, …],
 *                                                "data_offsets": [begin, end] },        // relative to the data start
 *                             … }
 *   bytes [8 + N, end)    the tensors' raw little-endian data, contiguous, in header order
 *
 * CheckpointMeta = { format: "ifsq-checkpoint", version: 2, kind, step, configHash, createdAt, dataBytes,
 *                    dataSha256 (hex SHA-256 of the data section), rngState?, slots?, extra? }.
 * `ifsq_sha256` is the SHA-256 of the whole file with its own 64 hex digits read as "0"s: it covers the header
 * length, the header (meta, tensor table, padding) and the data, so an edited step or shape is caught like a flipped
 * data bit. Version 1 files (no `ifsq_sha256`; only the data was checksummed) are still read.
 * The trainer names tensors by section: `params/<name>`, `optim/m/<name>`, `optim/v/<name>`, `optim/t`,
 * `ema/<name>`, `ema/updates`; `slots` lists the optimizer's and the EMA's state names.
 *
 * Loading checks the sizes (a truncated file is an error naming the file and the missing bytes), the header,
 * every tensor's dtype/shape/offsets, the checksums, that a `step-NNNNNNN.safetensors` file name agrees with the
 * header's step, and, when asked, the kind, config hash and the expected tensor names, shapes and dtypes. Damage
 * (unreadable, truncated, checksum, name/step mismatch) throws CheckpointCorruptError, so a caller can fall back to
 * an older checkpoint; a valid file that does not fit the caller throws a plain CheckpointError.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic, removeStaleTemps, fsyncDir } from "../atomic";

export const CHECKPOINT_FORMAT = "ifsq-checkpoint";
export const CHECKPOINT_VERSION = 2;
/** Versions this code reads (1: data checksum only; 2: whole-file checksum). */
export const READABLE_CHECKPOINT_VERSIONS: readonly number[] = [1, 2];

export type CkptDtype = "float32" | "int32" | "bool";
export type CkptData = Float32Array | Int32Array | Uint8Array;

/** A tensor as plain data (what a checkpoint stores; also what gradient workers exchange). */
export interface CkptTensor {
  dtype: CkptDtype;
  shape: number[];
  data: CkptData;
}

/** What the caller supplies. */
export interface CheckpointMetaInput {
  /** The trainer kind ("tokenizer", "ar", …). */
  kind: string;
  /** Steps completed when the checkpoint was taken. */
  step: number;
  /** configHash() of the resolved config. */
  configHash: string;
  /** State of a sequential Rng (Rng.getState()), if the run has one. */
  rngState?: number[] | null;
  /** State names per stateful object, in their order (e.g. { optimizer: ["m/w", …, "t"], ema: […] }). */
  slots?: Record<string, string[]>;
  /** Anything else JSON-serialisable (trainer counters, the task's extraState). */
  extra?: Record<string, unknown>;
}

/** What the file holds. */
export interface CheckpointMeta extends CheckpointMetaInput {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  createdAt: string;
  dataBytes: number;
  dataSha256: string;
}

export interface Checkpoint {
  file: string;
  meta: CheckpointMeta;
  tensors: Record<string, CkptTensor>;
}

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** The file is damaged (unreadable, truncated, a checksum fails, or its name disagrees with its header). */
export class CheckpointCorruptError extends CheckpointError {
  override name = "CheckpointCorruptError";
}

const DTYPE_CODE: Record<CkptDtype, string> = { float32: "F32", int32: "I32", bool: "BOOL" };
const CODE_DTYPE: Record<string, CkptDtype> = { F32: "float32", I32: "int32", BOOL: "bool" };
const BYTES: Record<CkptDtype, number> = { float32: 4, int32: 4, bool: 1 };
const MAX_HEADER = 100 * 1024 * 1024;
/** Checkpoint file names in a run's checkpoints/ folder: `step-0000100.safetensors`. */
const FILE_RE = /^step-(\d+)\.safetensors$/;

function assertLittleEndian(): void {
  if (os.endianness() !== "LE") throw new CheckpointError("checkpoints store little-endian data; this machine is big-endian");
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding and decoding

/** Serialises tensors and meta to the checkpoint byte layout. */
export function encodeCheckpoint(tensors: Record<string, CkptTensor>, meta: CheckpointMetaInput): Buffer {
  assertLittleEndian();
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__") throw new CheckpointError(`a tensor may not be named "__metadata__"`);
    const n = sizeOf(t.shape);
    if (t.data.length !== n) throw new CheckpointError(`tensor "${name}": shape [${t.shape}] needs ${n} values, data has ${t.data.length}`);
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, n * BYTES[t.dtype]);
    header[name] = { dtype: DTYPE_CODE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const data = Buffer.concat(chunks, offset);
  const full: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    ...meta,
    createdAt: new Date().toISOString(),
    dataBytes: offset,
    dataSha256: createHash("sha256").update(data).digest("hex"),
  };
  let json = JSON.stringify({ __metadata__: { ifsq: JSON.stringify(full), ifsq_sha256: ZERO_SHA }, ...header });
  const len = Buffer.byteLength(json, "utf8");
  json += " ".repeat((8 - ((8 + len) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(head.length));
  const out = Buffer.concat([prefix, head, data]);
  // the field's digits are zeros while hashing, then replaced by the hash (same length, so no offset moves)
  const at = 8 + head.indexOf(SHA_FIELD + ZERO_SHA + '"') + SHA_FIELD.length;
  out.write(createHash("sha256").update(out).digest("hex"), at, "latin1");
  return out;
}

const ZERO_SHA = "0".repeat(64);
const SHA_FIELD = '"ifsq_sha256":"';

/** SHA-256 of `b` with the 64 bytes at `at` read as "0"s. */
function fileSha(b: Buffer, at: number): string {
  return createHash("sha256").update(b.subarray(0, at)).update(ZERO_SHA, "latin1").update(b.subarray(at + 64)).digest("hex");
}

/** Parses and validates checkpoint bytes; every error names `file`. */
export function decodeCheckpoint(buf: Uint8Array, file = "<buffer>"): Checkpoint {
  assertLittleEndian();
  const bad = (msg: string): never => {
    throw new CheckpointCorruptError(`checkpoint ${file}: ${msg}`);
  };
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8) bad(`truncated: ${b.length} bytes, less than the 8-byte header length`);
  const n64 = b.readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER)) bad(`corrupted: header length ${n64} is implausible (not a checkpoint?)`);
  const n = Number(n64);
  if (8 + n > b.length) bad(`truncated: the header needs ${n} bytes, only ${b.length - 8} are present`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(b.toString("utf8", 8, 8 + n));
  } catch (e) {
    return bad(`corrupted header (not valid JSON: ${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) bad("corrupted header (not a JSON object)");
  const md = header.__metadata__ as Record<string, unknown> | undefined;
  if (!md || typeof md.ifsq !== "string") bad(`not an ifsq checkpoint (no __metadata__.ifsq in the header)`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(md!.ifsq as string);
  } catch (e) {
    return bad(`corrupted metadata (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) bad(`format ${JSON.stringify(meta.format)} is not ${CHECKPOINT_FORMAT}`);
  if (!READABLE_CHECKPOINT_VERSIONS.includes(meta.version)) {
    throw new CheckpointError(
      `checkpoint ${file}: format version ${JSON.stringify(meta.version)} is not supported (this code reads versions ${READABLE_CHECKPOINT_VERSIONS.join(", ")}); ` +
        `it was written by a newer version of the project: update the code, or retrain with resume: false (--fresh)`,
    );
  }
  const dataStart = 8 + n;
  const dataLen = b.length - dataStart;
  if (!Number.isInteger(meta.dataBytes) || meta.dataBytes < 0) bad(`metadata dataBytes=${meta.dataBytes} is not an integer ≥ 0`);
  if (dataLen < meta.dataBytes) bad(`truncated: expected ${meta.dataBytes} bytes of tensor data, found ${dataLen} (${meta.dataBytes - dataLen} missing)`);
  if (dataLen > meta.dataBytes) bad(`corrupted: ${dataLen - meta.dataBytes} unexpected bytes after the tensor data`);
  if (meta.version >= 2) {
    const want = String(md!.ifsq_sha256);
    if (typeof md!.ifsq_sha256 !== "string" || !/^[0-9a-f]{64}$/.test(want)) bad(`corrupted header: __metadata__.ifsq_sha256 is ${JSON.stringify(md!.ifsq_sha256)}, expected 64 hex digits`);
    const field = Buffer.from(SHA_FIELD + want + '"', "latin1");
    const pos = b.subarray(0, 8 + n).indexOf(field);
    if (pos < 0 || b.subarray(0, 8 + n).indexOf(field, pos + 1) >= 0) bad("corrupted header: the ifsq_sha256 field is not in the form this code writes");
    const got = fileSha(b, pos + SHA_FIELD.length);
    if (got !== want) {
      const dataOk = typeof meta.dataSha256 === "string" && createHash("sha256").update(b.subarray(8 + n)).digest("hex") === meta.dataSha256;
      bad(
        `corrupted: the file's SHA-256 is ${got.slice(0, 16)}…, the header says ${want.slice(0, 16)}… ` +
          (dataOk ? "(the tensor data is intact: the header was changed after writing)" : "(the tensor data differs from what was written)"),
      );
    }
  }
  for (const k of ["kind", "configHash", "dataSha256"] as const) if (typeof meta[k] !== "string") bad(`metadata field ${k} is missing`);
  if (!Number.isInteger(meta.step) || meta.step < 0) bad(`metadata step=${meta.step} is not an integer ≥ 0`);
  const named = FILE_RE.exec(path.basename(file));
  if (named && Number(named[1]) !== meta.step) {
    bad(`the file name says step ${Number(named[1])}, the header says step ${meta.step}; the file was renamed or edited after writing`);
  }

  const data = b.subarray(dataStart);
  // version 2: the whole-file checksum above already covers the data (and dataSha256 with it)
  const sha = meta.version >= 2 ? meta.dataSha256 : createHash("sha256").update(data).digest("hex");
  if (sha !== meta.dataSha256) bad(`corrupted: the tensor data's SHA-256 is ${sha.slice(0, 16)}…, the header says ${meta.dataSha256.slice(0, 16)}…`);

  const tensors: Record<string, CkptTensor> = {};
  let expectOffset = 0;
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = CODE_DTYPE[String(e?.dtype)];
    if (!dtype) bad(`tensor "${name}" has unsupported dtype ${JSON.stringify(e?.dtype)} (expected F32, I32 or BOOL)`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor "${name}" has a bad shape ${JSON.stringify(shape)}`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o))) bad(`tensor "${name}" has bad data_offsets ${JSON.stringify(offs)}`);
    const [begin, end] = offs as [number, number];
    const bytes = sizeOf(shape as number[]) * BYTES[dtype];
    if (begin !== expectOffset || end - begin !== bytes || end > dataLen) {
      bad(`tensor "${name}" has data_offsets [${begin}, ${end}]; expected [${expectOffset}, ${expectOffset + bytes}] for ${dtype} [${shape}] within ${dataLen} bytes`);
    }
    expectOffset = end;
    const slice = data.buffer.slice(data.byteOffset + begin, data.byteOffset + end);
    const arr = dtype === "float32" ? new Float32Array(slice) : dtype === "int32" ? new Int32Array(slice) : new Uint8Array(slice);
    tensors[name] = { dtype, shape: shape as number[], data: arr };
  }
  if (expectOffset !== dataLen) bad(`corrupted: tensors cover ${expectOffset} of ${dataLen} data bytes`);
  return { file, meta, tensors };
}

// ---------------------------------------------------------------------------------------------------------------
// Files

/** Reads tensors' values (awaiting them, so it works on every backend). Does not dispose the tensors. */
export async function tensorsToArrays(tensors: Record<string, tf.Tensor>): Promise<Record<string, CkptTensor>> {
  const out: Record<string, CkptTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = t.dtype as CkptDtype;
    if (!(dtype in BYTES)) throw new CheckpointError(`tensor "${name}" has dtype ${t.dtype}; checkpoints store float32, int32 and bool`);
    const v = await t.data();
    const data = dtype === "float32" ? new Float32Array(v as Float32Array) : dtype === "int32" ? new Int32Array(v as Int32Array) : Uint8Array.from(v as ArrayLike<number>);
    out[name] = { dtype, shape: t.shape.slice(), data };
  }
  return out;
}

/** Writes a checkpoint atomically (temp file, fsync, rename). Tensors may be tf tensors (not disposed) or arrays. */
export async function saveCheckpoint(file: string, tensors: Record<string, tf.Tensor | CkptTensor>, meta: CheckpointMetaInput): Promise<void> {
  const arrays: Record<string, CkptTensor> = {};
  for (const [name, t] of Object.entries(tensors)) arrays[name] = t instanceof tf.Tensor ? (await tensorsToArrays({ [name]: t }))[name] : t;
  writeFileAtomic(file, encodeCheckpoint(arrays, meta));
}

export interface CheckpointExpectation {
  kind?: string;
  configHash?: string;
  /** Exact set of tensor names with their shapes and dtypes (dtype defaults to float32). */
  tensors?: Record<string, { shape: readonly number[]; dtype?: CkptDtype }>;
}

/** Checks a loaded checkpoint against what the caller needs; the error lists every mismatch. */
export function validateCheckpoint(ck: Checkpoint, expect: CheckpointExpectation): void {
  const where = `checkpoint ${ck.file}`;
  if (expect.kind !== undefined && ck.meta.kind !== expect.kind) throw new CheckpointError(`${where} is for kind "${ck.meta.kind}", not "${expect.kind}"`);
  if (expect.configHash !== undefined && ck.meta.configHash !== expect.configHash) {
    throw new CheckpointError(
      `${where} was written for config hash ${ck.meta.configHash.slice(0, 12)}…, but the current config hashes to ${expect.configHash.slice(0, 12)}…; ` +
        `it belongs to a different configuration (start a fresh run or use the matching config)`,
    );
  }
  if (expect.tensors) {
    const problems: string[] = [];
    for (const [name, want] of Object.entries(expect.tensors)) {
      const got = ck.tensors[name];
      const dtype = want.dtype ?? "float32";
      if (!got) problems.push(`missing "${name}"`);
      else if (got.shape.join() !== want.shape.join() || got.shape.length !== want.shape.length) problems.push(`"${name}" has shape [${got.shape}], expected [${want.shape}]`);
      else if (got.dtype !== dtype) problems.push(`"${name}" has dtype ${got.dtype}, expected ${dtype}`);
    }
    for (const name of Object.keys(ck.tensors)) if (!(name in expect.tensors)) problems.push(`unexpected "${name}"`);
    if (problems.length) {
      const shown = problems.slice(0, 10).join("; ") + (problems.length > 10 ? `; … ${problems.length - 10} more` : "");
      throw new CheckpointError(`${where} does not match the model: ${shown}`);
    }
  }
}

/** Reads, decodes and (optionally) validates a checkpoint file. */
export function loadCheckpoint(file: string, expect: CheckpointExpectation = {}): Checkpoint {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new CheckpointCorruptError(`checkpoint ${file}: cannot be read (${(e as Error).message})`);
  }
  const ck = decodeCheckpoint(buf, file);
  validateCheckpoint(ck, expect);
  return ck;
}

/** A new tf tensor for one stored tensor (the caller owns it). */
export function ckptToTensor(t: CkptTensor): tf.Tensor {
  return tf.tensor(t.dtype === "bool" ? Array.from(t.data) : t.data, t.shape, t.dtype);
}

/** New tf tensors for every stored tensor whose name starts with `prefix` (prefix stripped). Caller disposes. */
export function sectionTensors(ck: Checkpoint, prefix: string): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(ck.tensors)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = ckptToTensor(t);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// A folder of checkpoints

/** `step-0000100.safetensors` */
export function checkpointFileName(step: number): string {
  return `step-${String(step).padStart(7, "0")}.safetensors`;
}

/** Checkpoints in `dir`, oldest first. */
export function listCheckpoints(dir: string): { step: number; file: string }[] {
  if (!fs.existsSync(dir)) return [];
  const out: { step: number; file: string }[] = [];
  for (const f of fs.readdirSync(dir)) {
    const m = FILE_RE.exec(f);
    if (m) out.push({ step: Number(m[1]), file: path.join(dir, f) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The newest checkpoint in `dir`, or null. */
export function newestCheckpoint(dir: string): { step: number; file: string } | null {
  const all = listCheckpoints(dir);
  return all.length ? all[all.length - 1] : null;
}

/** A checkpoint that was skipped because it is damaged, with the reason. */
export interface SkippedCheckpoint {
  file: string;
  reason: string;
}

/**
 * The newest checkpoint in `dir` that is intact and passes `expect`, with the damaged newer ones it skipped
 * (CheckpointCorruptError). A valid file that does not fit `expect` (another config, kind or model) is still an
 * error: that is a mix-up to look at, not damage to route around. `ck` is null when there is no intact one.
 */
export function newestIntactCheckpoint(dir: string, expect: CheckpointExpectation = {}): { ck: Checkpoint | null; skipped: SkippedCheckpoint[] } {
  const skipped: SkippedCheckpoint[] = [];
  const all = listCheckpoints(dir);
  for (let i = all.length - 1; i >= 0; i--) {
    try {
      return { ck: loadCheckpoint(all[i].file, expect), skipped };
    } catch (e) {
      if (!(e instanceof CheckpointCorruptError)) throw e;
      skipped.push({ file: all[i].file, reason: e.message });
    }
  }
  return { ck: null, skipped };
}

/** Renames a damaged checkpoint to `<name>.corrupt` (kept for inspection, no longer listed); returns the new path. */
export function setAsideCheckpoint(file: string): string {
  const to = `${file}.corrupt`;
  fs.renameSync(file, to);
  fsyncDir(path.dirname(file));
  return to;
}

/** Deletes all but the newest `keep` checkpoints (and stale temp files from killed writes). */
export function pruneCheckpoints(dir: string, keep: number): void {
  removeStaleTemps(dir);
  const all = listCheckpoints(dir);
  for (const c of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) fs.rmSync(c.file, { force: true });
  fsyncDir(dir);
}
