/**
 * A run folder's train.lock: one training process per folder (two writers would interleave metrics and checkpoints).
 *
 *   train.lock   "<pid>\n<host>\n<startedAt ISO>\n" (older versions wrote just "<pid>\n")
 *
 * The lock is created whole: its lines go to a temp file that is then hard-linked to train.lock, and link(2) fails
 * when train.lock exists, so no process ever sees a lock without its owner.
 *
 * Whose is it? (`ownerState`) On another host: unknown (it cannot be checked from here). On this host the owner is
 *   - gone when its PID runs no process, or runs one that started after the lock's startedAt (the PID was reused: after
 *     a reboot or a container restart PIDs repeat, and a live but unrelated process must not hold the run forever).
 *     A process's start time is boot time (/proc/stat btime) + its start in clock ticks (/proc/<pid>/stat field 22,
 *     USER_HZ = 100) and is known to ±1 s, so "after" means more than START_SLACK_MS later;
 *   - self when it is this process (same PID, started before the lock): taking or waiting on it again would deadlock,
 *     so `takeLock` throws at once and trainOrReuse / sweeps do not wait on it;
 *   - alive otherwise. A lock in the old "<pid>" format is dated by its file's modification time; where /proc cannot
 *     be read, the PID alone decides.
 * A gone owner's lock is taken over; so is an ownerless lock (written by an older version, or damaged) once it is
 * older than LOCK_GRACE_MS. Any other lock is an error naming its owner.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fsyncDir } from "../atomic";

/** The owner a train.lock names. */
export interface LockOwner {
  pid: number;
  host?: string;
  startedAt?: string;
}

export type OwnerState = "alive" | "self" | "gone" | "unknown";

/** An ownerless lock younger than this is taken to be in creation by an older version (it wrote the PID after creating the file). */
export const LOCK_GRACE_MS = 60_000;
const BREAK_GRACE_MS = 10_000;
/** A process start time from /proc is known to ±1 s (btime is whole seconds); later than startedAt by more is another process. */
const START_SLACK_MS = 2_000;
const USER_HZ = 100;
let lockCounter = 0;

/** The path of a run folder's lock. */
export function lockPathOf(dir: string): string {
  return path.join(dir, "train.lock");
}

/** When process `pid` started (ms since the epoch), from /proc; null when it does not run or /proc cannot tell. */
export function processStartMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on; comm may hold spaces
    const ticks = Number(fields[22 - 3]);
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"));
    if (!btime || !Number.isFinite(ticks)) return null;
    return Number(btime[1]) * 1000 + (ticks * 1000) / USER_HZ;
  } catch {
    return null;
  }
}

/**
 * Whether the lock's owner is this process, another live one, gone (dead or its PID reused), or cannot be told here.
 * `fileMtimeMs`: the lock file's modification time, standing in for startedAt in the old "<pid>" format.
 */
export function ownerState(o: LockOwner, fileMtimeMs?: number): OwnerState {
  if (o.host !== undefined && o.host !== os.hostname()) return "unknown";
  if (!processAlive(o.pid)) return "gone";
  const locked = o.startedAt !== undefined ? Date.parse(o.startedAt) : fileMtimeMs ?? NaN; // old format: the file's time
  const started = processStartMs(o.pid);
  if (Number.isFinite(locked) && started !== null && started > locked + START_SLACK_MS) return "gone";
  return o.pid === process.pid ? "self" : "alive";
}

/** A lock file's text, its parsed owner (null when it names none) and its age; null when the file is gone. */
export function readLock(file: string): { raw: string; owner: LockOwner | null; ageMs: number } | null {
  let raw: string;
  let mtime: number;
  try {
    raw = fs.readFileSync(file, "utf8");
    mtime = fs.statSync(file).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  return { raw, owner: parseLockOwner(raw), ageMs: Date.now() - mtime };
}

function parseLockOwner(raw: string): LockOwner | null {
  const [pid, host, startedAt] = raw.split("\n").map((l) => l.trim());
  if (!/^\d+$/.test(pid) || Number(pid) <= 0) return null;
  return { pid: Number(pid), host: host || undefined, startedAt: startedAt || undefined };
}

/** Who holds the lock in `dir`, read without taking it (the one reader of a lock for callers outside this file). */
export interface LockStatus {
  /** The owner as one line ("<pid> <host> <startedAt>"), or the raw text when it names none. */
  holder: string;
  pid: number | null;
  /** alive | self | gone | unknown; unknown also when no owner is written yet. */
  state: OwnerState;
  /** Whether the owner is known to have stopped (state gone); null when it cannot be told. */
  gone: boolean | null;
}

/** The lock status of a run folder (a Run, or anything with its `dir`), or null when it has no lock. */
export function lockStatus(run: { dir: string }): LockStatus | null {
  const lock = readLock(lockPathOf(run.dir));
  if (!lock) return null;
  const o = lock.owner;
  if (!o) return { holder: lock.raw.trim() || "(empty lock file)", pid: null, state: "unknown", gone: null };
  const state = ownerState(o, Date.now() - lock.ageMs);
  return { holder: [String(o.pid), o.host, o.startedAt].filter(Boolean).join(" "), pid: o.pid, state, gone: state === "unknown" ? null : state === "gone" };
}

/**
 * Other processes training in `runsDir` now: the distinct live PIDs on this host, other than this process, that hold
 * a run's train.lock (a run waiting on another's lock holds none). Used to leave a core to each of them.
 */
export function otherTrainers(runsDir: string): number[] {
  if (!fs.statSync(runsDir, { throwIfNoEntry: false })?.isDirectory()) return []; // a missing or mistaken runs folder: Run.open says what is wrong
  const pids = new Set<number>();
  for (const d of fs.readdirSync(runsDir)) {
    const lock = readLock(path.join(runsDir, d, "train.lock"));
    const o = lock?.owner;
    if (o && lock && ownerState(o, Date.now() - lock.ageMs) === "alive") pids.add(o.pid);
  }
  return [...pids].sort((a, b) => a - b);
}

/** Thrown by takeLock when this very process already holds the lock (waiting on it would never end). */
export class OwnLockError extends Error {}

/** Claims run folder `dir` for this process; returns the release function. See the file comment. */
export function takeLock(dir: string): () => void {
  const lockPath = lockPathOf(dir);
  const me = `${process.pid}\n${os.hostname()}\n${new Date().toISOString()}\n`;
  removeDeadLockTemps(dir);
  const tmp = path.join(dir, `.train.lock.${process.pid}.${lockCounter++}.tmp`);
  const fd = fs.openSync(tmp, "wx");
  try {
    fs.writeSync(fd, me);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        createLockFile(tmp, lockPath, me);
        fsyncDir(dir);
        return () => {
          try {
            if (fs.readFileSync(lockPath, "utf8") === me) fs.rmSync(lockPath, { force: true });
          } catch {
            // already gone
          }
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const held = readLock(lockPath);
      if (held !== null) {
        assertStale(dir, held);
        breakStaleLock(lockPath, held.raw, tmp, me);
      }
      sleepMs(5);
    }
    throw new Error(`${lockPath}: could not take the lock in 200 attempts (other processes keep taking it); retry`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Throws unless the lock `held` of run folder `dir` belongs to nobody any more. */
function assertStale(dir: string, held: { raw: string; owner: LockOwner | null; ageMs: number }): void {
  const lockPath = lockPathOf(dir);
  const o = held.owner;
  if (o === null) {
    if (held.ageMs >= LOCK_GRACE_MS) return;
    throw new Error(
      `${lockPath} exists but names no owner (${JSON.stringify(held.raw.slice(0, 60))}); a process of an older version may be creating it: ` +
        `retry in a minute (it is then taken over), or delete it now if no process trains ${dir}`,
    );
  }
  const since = o.startedAt ? ` since ${o.startedAt}` : "";
  const state = ownerState(o, Date.now() - held.ageMs);
  if (state === "unknown") {
    throw new Error(
      `${dir} is being trained by process ${o.pid} on host ${o.host}${since} (${lockPath}); this host cannot check that process: ` +
        `wait for it, or delete the lock file if it no longer runs`,
    );
  }
  if (state === "self") {
    throw new OwnLockError(
      `${dir} is already locked by this process (${o.pid}${since}, ${lockPath}): an earlier lock in this process was not released, ` +
        `or training was started while this process holds the run (pass lockHeld: true); not waiting on its own lock`,
    );
  }
  if (state === "alive") throw new Error(`${dir} is being trained by process ${o.pid}${since} (${lockPath}); wait for it or stop it first`);
}

/**
 * Removes the stale lock whose content is `raw`, unless it changed meanwhile. Racing processes take turns through
 * `train.lock.break` (created by the same link trick), so none of them can remove a lock another has just taken.
 */
function breakStaleLock(lockPath: string, raw: string, tmp: string, me: string): void {
  const breaker = `${lockPath}.break`;
  try {
    createLockFile(tmp, breaker, me);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    // another process is breaking it right now; a breaker this old was left by a process killed while breaking
    const b = readLock(breaker);
    if (b !== null && b.ageMs >= BREAK_GRACE_MS) fs.rmSync(breaker, { force: true });
    return;
  }
  try {
    const now = readLock(lockPath);
    if (now !== null && now.raw === raw) fs.rmSync(lockPath, { force: true });
  } finally {
    fs.rmSync(breaker, { force: true });
  }
}

/**
 * Creates `lock` holding `text` unless it exists (EEXIST): a hard link of the finished temp file. Where the file
 * system has no hard links, an exclusive create followed by the write (the ownerless grace period covers the gap).
 */
function createLockFile(tmp: string, lock: string, text: string): void {
  try {
    fs.linkSync(tmp, lock);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
    fs.writeFileSync(lock, text, { flag: "wx" });
  }
}

/** Removes lock temp files of processes that no longer exist (killed between writing the temp and removing it). */
function removeDeadLockTemps(dir: string): void {
  for (const f of fs.readdirSync(dir)) {
    const m = /^\.train\.lock\.(\d+)\.\d+\.tmp$/.exec(f);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) fs.rmSync(path.join(dir, f), { force: true });
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Whether `pid` runs; a zombie (exited, not yet reaped by its parent) does not. */
function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    // no such process, or no /proc: ask the kernel
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
