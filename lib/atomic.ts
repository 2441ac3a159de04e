/**
 * Crash-safe file writes: a reader sees either the old file or the complete new one, never a torn write.
 * Write to a temp name in the same folder, fsync it, rename it over the target, fsync the folder.
 */
import * as fs from "fs";
import * as path from "path";
import { threadId } from "worker_threads";

let counter = 0;

/** Writes `data` to `file` atomically (creating the folder if needed). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}-${threadId}.${counter++}.tmp`);
  const fd = fs.openSync(tmp, "w");
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

/** Makes a rename or unlink in `dir` durable (best effort: not every platform can fsync a folder). */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // folders cannot be opened for fsync on some platforms; the rename is still atomic
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** Removes temp files left in `dir` by writes that were killed before their rename. */
export function removeStaleTemps(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) if (f.startsWith(".") && f.endsWith(".tmp")) fs.rmSync(path.join(dir, f), { force: true });
}
