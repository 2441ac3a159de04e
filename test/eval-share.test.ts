/** lib/experiments/eval-share: Σ evalSeconds / wall time per finished run, grouped by kind (median, largest). */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { evalShares } from "../lib/experiments/eval-share";

function fakeRun(root: string, id: string, time: number | null, evalSeconds: number[]): void {
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true });
  const rows = [{ type: "train", step: 10, time: 1, loss: 1 }, ...evalSeconds.map((s, i) => ({ type: "eval", step: 10 * (i + 1), time: 2, gfid: 100, evalSeconds: s }))];
  fs.writeFileSync(path.join(dir, "metrics.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  if (time !== null) fs.writeFileSync(path.join(dir, "done.json"), JSON.stringify({ step: 10, time, finishedAt: "x", final: {} }));
}

test("evalShares: per kind, the median and the largest share of evaluation in a finished run's wall time", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-evalshare-"));
  try {
    fakeRun(root, "ar-000000000001", 100, [5, 5]); // 10 %
    fakeRun(root, "ar-000000000002", 100, [20]); // 20 %
    fakeRun(root, "ar-000000000003", 100, [2, 2, 2]); // 6 %
    fakeRun(root, "dit-000000000004", 200, [3]); // 1.5 %
    fakeRun(root, "dit-000000000005", null, [50]); // unfinished: left out
    fakeRun(root, "tokenizer-000000000006", 50, []); // no evaluations: left out
    const rows = evalShares(root);
    assert.deepEqual(rows.map((r) => r.kind), ["ar", "dit"]);
    const ar = rows[0];
    assert.equal(ar.runs, 3);
    assert.equal(ar.evals, 6);
    assert.ok(Math.abs(ar.medianShare - 0.1) < 1e-12);
    assert.ok(Math.abs(ar.maxShare - 0.2) < 1e-12);
    assert.equal(ar.maxRun, "ar-000000000002");
    assert.ok(Math.abs(rows[1].medianShare - 0.015) < 1e-12);
    assert.deepEqual(evalShares(path.join(root, "missing")), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
