/**
 * Temporary folders for a test file, removed when the file's tests are done:
 *   const tmpDir = tempDirs("ifsq-sweep-");   // at the top level of a test file
 *   const runsDir = tmpDir();
 */
import { after } from "node:test";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  after(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}
