/** The project root: the nearest folder above lib/ (symlinks resolved) holding package.json; relative settings (IFSQ_RUNS_DIR, IFSQ_DATA_DIR, IFSQ_FIGURE_DIR) are taken from it. */
import * as fs from "fs";
import * as path from "path";

export function projectRoot(): string {
  let dir = fs.realpathSync(__dirname);
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`projectRoot: no package.json above ${__dirname}; pass the folder explicitly`);
    dir = up;
  }
}
