/**
 * The notebook runner (scripts/run-notebooks.sh → scripts/run_notebooks.py) must fail on every way a tslab notebook
 * can go wrong — a throwing cell, a type error, a rejected promise, an error thrown by a timer after the cell returned,
 * an un-awaited rejected promise — and pass a good notebook. One runner invocation executes all fixtures
 * (test/fixtures/notebooks/), one kernel each.
 */
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const FIXTURES = path.join(ROOT, "test", "fixtures", "notebooks");

describe("notebook runner", () => {
  let out = "";
  let status: number | null = null;
  let outDir = "";
  const results = new Map<string, { ok: boolean; line: string; block: string }>();

  before(() => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "ifsq-runner-"));
    const names = ["good", "throws", "type-error", "rejected-promise", "async-throw", "floating-rejection"];
    const run = spawnSync(
      "bash",
      ["scripts/run-notebooks.sh", "--no-html", "--jobs", "2", "--timeout", "120", "--out", path.join(outDir, "nb"), "--figures", path.join(outDir, "fig"),
        ...names.map((n) => path.join(FIXTURES, `${n}.ipynb`))],
      { cwd: ROOT, encoding: "utf8", timeout: 240_000 },
    );
    out = run.stdout + run.stderr;
    status = run.status;
    // Split the report into one block per notebook: "ok   <path> (…)" or "FAIL <path> (…): …" plus indented details.
    const blocks = out.split(/\n(?=ok   |FAIL )/);
    for (const block of blocks) {
      const m = /^(ok  |FAIL) (\S+)/.exec(block.trimStart());
      if (m) results.set(path.basename(m[2], ".ipynb"), { ok: m[1] === "ok  ", line: block.split("\n")[0], block });
    }
  });

  test("prints one line per notebook and ends with exactly 'N passed, N failed'; exit status 1", () => {
    assert.equal(results.size, 6, out);
    assert.equal(out.trimEnd().split("\n").pop(), "1 passed, 5 failed", out);
    assert.equal(status, 1, out);
  });

  test("a good notebook (imports, top-level await, a timer in time, console.error) passes and is written out", () => {
    assert.equal(results.get("good")?.ok, true, out);
    const nb = JSON.parse(fs.readFileSync(path.join(outDir, "nb", "good.ipynb"), "utf8"));
    assert.equal(nb.cells.length, 4, "the runner's hidden cells are removed again");
    assert.deepEqual(nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code").map((c: { execution_count: number }) => c.execution_count), [1, 2, 3]);
    assert.match(JSON.stringify(nb.cells[2].outputs), /value 42/);
  });

  test("a throwing cell fails, naming the cell, its source and its stderr", () => {
    const r = results.get("throws")!;
    assert.equal(r.ok, false, out);
    assert.match(r.line, /cell 2 failed/);
    assert.match(r.block, /--- cell 2 source ---\n\s+throw new Error\("boom from a cell"\);/);
    assert.match(r.block, /--- cell 2 stderr ---[\s\S]*Error: boom from a cell/);
  });

  test("a type error fails with tslab's message", () => {
    const r = results.get("type-error")!;
    assert.equal(r.ok, false, out);
    assert.match(r.block, /Type 'string' is not assignable to type 'number'/);
  });

  test("an awaited rejected promise fails", () => {
    const r = results.get("rejected-promise")!;
    assert.equal(r.ok, false, out);
    assert.match(r.block, /rejected on purpose/);
  });

  test("an error thrown asynchronously after the cell returned fails", () => {
    const r = results.get("async-throw")!;
    assert.equal(r.ok, false, out);
    assert.match(r.line, /asynchronous error/);
    assert.match(r.block, /UncaughtException: Error: thrown by a timer after the cell returned/);
  });

  test("an un-awaited rejected promise fails", () => {
    const r = results.get("floating-rejection")!;
    assert.equal(r.ok, false, out);
    assert.match(r.block, /UnhandledPromiseRejection: Error: nobody awaits this/);
  });

  test("a missing notebook is a failure, not a silent pass", () => {
    const run = spawnSync("bash", ["scripts/run-notebooks.sh", "--no-html", "--out", path.join(outDir, "nb"), "no/such.ipynb"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(run.status, 1);
    assert.match(run.stdout, /^0 passed, 1 failed$/m);
    assert.match(run.stderr, /no such notebook: no\/such\.ipynb/);
  });
});

describe("the library compiles in tslab (its TypeScript 5.0.4, not the project's tsc)", () => {
  test("barrels reachable from lib/index hold only declarations (tslab 1.0.22 crashes on any other statement there)", () => {
    // Minimal repro: `export * from "./rng"; console.log(1);` in a module a notebook imports makes tslab fail with
    // "unexpected error: TypeError: Cannot read properties of undefined (reading 'parent')". Put side effects
    // (registrations, …) in the module that defines the thing, not in a file with `export * from`.
    const bad: string[] = [];
    const seen = new Set<string>();
    const queue = [path.join(ROOT, "lib", "index.ts")];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = fs.readFileSync(file, "utf8");
      const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
      let barrel = false;
      for (const st of sf.statements) {
        if ((ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
          const spec = st.moduleSpecifier.text;
          if (ts.isExportDeclaration(st) && !st.exportClause) barrel = true;
          if (!spec.startsWith(".")) continue;
          const base = path.resolve(path.dirname(file), spec);
          const target = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
          if (target) queue.push(target);
        }
      }
      if (!barrel) continue;
      for (const st of sf.statements) {
        const ok = ts.isImportDeclaration(st) || ts.isExportDeclaration(st) || ts.isInterfaceDeclaration(st) ||
          ts.isTypeAliasDeclaration(st) || ts.isVariableStatement(st) || ts.isFunctionDeclaration(st) ||
          ts.isClassDeclaration(st) || ts.isEnumDeclaration(st);
        if (!ok) {
          const { line } = sf.getLineAndCharacterOfPosition(st.getStart());
          bad.push(`${path.relative(ROOT, file)}:${line + 1}: ${st.getText().split("\n")[0].slice(0, 80)}`);
        }
      }
    }
    assert.ok(seen.size > 5, `followed ${seen.size} files from lib/index.ts`);
    assert.deepEqual(bad, [], "move these statements out of the file with `export * from`");
  });

  test("`import * as L from \"./lib/index\"` compiles from notebooks/ with tslab's converter", () => {
    const cwd = process.cwd();
    process.chdir(path.join(ROOT, "notebooks"));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { createConverter } = require("tslab/dist/converter") as {
      createConverter(): { convert(prev: string, src: string): { diagnostics: { messageText: string; fileName?: string; start: { line: number } }[] }; close(): void };
    };
    const conv = createConverter();
    try {
      const r = conv.convert("", 'import * as L from "./lib/index";\nconst exportedNames = Object.keys(L).length;\n');
      const diags = r.diagnostics.map((d) => `${d.fileName ?? "cell"}:${d.start.line + 1}: ${d.messageText}`);
      assert.deepEqual(diags, []);
    } finally {
      conv.close();
      process.chdir(cwd);
    }
  });
});
