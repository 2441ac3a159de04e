/**
 * File-system failures under the runs folder, explained: which run, what is wrong, and what to do. A bare
 * "ENOTDIR … scandir", "ENOENT … mkdir" (what a recursive mkdir says on a read-only file system) or "ENOSPC … write"
 * names neither the run nor the remedy.
 *
 *   runs folder is a file          → point IFSQ_RUNS_DIR / --runs-dir at a folder, or move the file away
 *   runs folder not writable       → (EROFS, EACCES) point IFSQ_RUNS_DIR / --runs-dir at a writable folder
 *   full disk while training a run → free space, then resume (npm run train -- <kind> --resume, or run the notebook
 *                                    or sweep again); checkpoints are written atomically, so those on disk are intact
 */
import * as fs from "fs";
import * as path from "path";

/** A runs-folder failure whose message names the run folder and the remedy; `code` is the fs error code. */
export class RunStorageError extends Error {
  override name = "RunStorageError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const WHERE = "IFSQ_RUNS_DIR or --runs-dir";

/**
 * Checks that `runsDir` is a folder this process can write to, creating it; else a RunStorageError naming `runDir`
 * (the run about to be created in it) and the remedy.
 */
export function ensureRunsDir(runsDir: string, runDir: string): void {
  const st = fs.statSync(runsDir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) {
    throw new RunStorageError(`cannot create run ${runDir}: the runs folder ${runsDir} is a file, not a folder; point ${WHERE} at a folder, or move the file away`, "ENOTDIR");
  }
  try {
    if (!st) fs.mkdirSync(runsDir, { recursive: true });
    fs.accessSync(runsDir, fs.constants.W_OK);
  } catch (e) {
    throw explainStorageError(realCause(e, runsDir), runDir, "creating it");
  }
}

/** A recursive mkdir on a read-only file system fails with ENOENT; the nearest existing folder above tells why. */
function realCause(e: unknown, dir: string): unknown {
  if ((e as NodeJS.ErrnoException).code !== "ENOENT") return e;
  let up = path.dirname(dir);
  while (up !== path.dirname(up) && !fs.existsSync(up)) up = path.dirname(up);
  try {
    fs.accessSync(up, fs.constants.W_OK);
  } catch (cause) {
    return cause;
  }
  return e;
}

/**
 * `e` as a RunStorageError naming run folder `runDir` and what was being done, when it is a full, read-only or
 * forbidding file system or a runs "folder" that is a file; any other error unchanged. `kind` (when training) names
 * the resume command.
 */
export function explainStorageError(e: unknown, runDir: string, doing: string, kind?: string): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const detail = (e as Error | null)?.message ?? String(e);
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new RunStorageError(
        `no space left on the device holding run ${runDir} while ${doing} (${detail}); free space, then resume with ` +
          `\`npm run train -- ${kind ?? "<kind>"} --resume\` (with the same --preset/--set), or run the notebook or sweep again: it resumes from the newest intact checkpoint`,
        code,
      );
    case "EROFS":
    case "EACCES":
    case "EPERM":
      return new RunStorageError(`cannot write run ${runDir} while ${doing}: ${code === "EROFS" ? "the file system is read-only" : "permission denied"} (${detail}); point ${WHERE} at a writable folder`, code);
    case "ENOTDIR":
      return new RunStorageError(`cannot write run ${runDir} while ${doing}: a part of its path is a file, not a folder (${detail}); point ${WHERE} at a folder`, code);
    default:
      return e;
  }
}
