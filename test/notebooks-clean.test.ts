/** Committed notebooks are forms: no outputs, no execution counts (executed copies go to build/notebooks/). */
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { cleanNotebook, defaultNotebooks, dirtyParts, notebookText } from "../scripts/nb-clean";

describe("notebooks are committed clean", () => {
  const notebooks = defaultNotebooks();

  test("there is at least the tour notebook", () => {
    assert.ok(notebooks.some((f) => path.basename(f) === "00-tour.ipynb"), `found: ${notebooks.join(", ")}`);
  });

  for (const file of notebooks) {
    test(`${path.basename(file)} has no outputs or execution counts (fix: npm run nb:clean)`, () => {
      const nb = JSON.parse(fs.readFileSync(file, "utf8"));
      assert.deepEqual(dirtyParts(nb), []);
      assert.equal(nb.metadata?.kernelspec?.name, "tslab", "kernelspec name must be the project's tslab kernel");
    });
  }

  test("cleanNotebook clears outputs, counts and timing, keeps everything else; output is stable", () => {
    const dirty = {
      cells: [
        { cell_type: "markdown", metadata: {}, source: "# t" },
        {
          cell_type: "code", execution_count: 3, id: "x", source: "1+1",
          metadata: { tags: ["parameters"], execution: { "iopub.status.busy": "…" } },
          outputs: [{ output_type: "stream", name: "stdout", text: "2\n" }],
        },
      ],
      metadata: { kernelspec: { name: "tslab" } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    assert.equal(dirtyParts(dirty).length, 3);
    const clean = cleanNotebook(dirty);
    assert.deepEqual(dirtyParts(clean), []);
    assert.deepEqual(clean.cells[1].metadata, { tags: ["parameters"] });
    assert.equal(clean.cells[1].id, "x");
    assert.equal(dirty.cells[1].outputs!.length, 1, "the input is not modified");
    assert.equal(notebookText(cleanNotebook(clean)), notebookText(clean));
  });
});
