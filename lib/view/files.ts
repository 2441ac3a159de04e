/**
 * Where figures go.
 *
 * `$IFSQ_FIGURE_DIR` (set per notebook by scripts/run-notebooks.sh) names the figure folder; a relative value is taken
 * from the project root (the nearest folder above the working directory holding package.json), so a kernel whose
 * working directory is `notebooks/` writes where a script run from the root does. Default: `<root>/build/figures`.
 */
import * as fs from "fs";
import * as path from "path";

/** The nearest folder at or above `from` that holds a package.json (falls back to `from`). */
export function projectRoot(from: string = process.cwd()): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from);
    dir = up;
  }
}

/** The folder figure JSON (and named image PNGs) are written to. */
export function figureDir(): string {
  const env = process.env.IFSQ_FIGURE_DIR;
  const root = projectRoot();
  if (env && env.length > 0) return path.resolve(root, env);
  return path.join(root, "build", "figures");
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Path for an output called `name` with extension `ext` in the figure folder; rejects names that are not plain file names. */
export function figurePath(name: string, ext: string): string {
  if (!NAME.test(name)) {
    throw new Error(`figure name ${JSON.stringify(name)} is not a plain file name; expected letters, digits, ".", "_", "-" (e.g. "loss-curve")`);
  }
  return path.join(figureDir(), `${name}.${ext}`);
}
