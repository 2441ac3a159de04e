/**
 * A train.lock held by another live process of this host, as a concurrent trainer's would be: it names this test
 * process's parent (alive, not this process, started before now). Returns the release function.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function holdLockAsOther(runDir: string): { pid: number; release: () => void } {
  const lock = path.join(runDir, "train.lock");
  fs.writeFileSync(lock, `${process.ppid}\n${os.hostname()}\n${new Date().toISOString()}\n`, { flag: "wx" });
  return { pid: process.ppid, release: () => fs.rmSync(lock, { force: true }) };
}
