/**
 * Where figures go.
 *
 * `$IFSQ_FIGURE_DIR` (set per notebook by scripts/run-notebooks.sh, read by backend.ts's `figureDirSetting`) names the
 * figure folder; a relative value is taken from the project root (lib/project-root.ts), so a kernel whose working
 * directory is `notebooks/` writes where a script run from the root does. Default: `<root>/build/figures`.
 */
import * as path from "path";
import { figureDirSetting } from "../backend";
import { projectRoot } from "../project-root";

/** The folder figure JSON (and named image PNGs) are written to. */
export function figureDir(): string {
  const env = figureDirSetting();
  const root = projectRoot();
  if (env !== null) return path.resolve(root, env);
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
