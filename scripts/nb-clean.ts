/**
 * `npm run nb:clean`: clears outputs, execution counts and execution timing metadata from notebooks, so they are
 * committed as forms (executed copies live in build/notebooks/). Writes atomically and only when something changed.
 *
 * Usage: tsx scripts/nb-clean.ts [--check] [notebook.ipynb…]   (default: notebooks/*.ipynb)
 *   --check  changes nothing; lists notebooks that still carry outputs and exits 1 if there are any.
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

interface Cell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  outputs?: unknown[];
  execution_count?: number | null;
  [key: string]: unknown;
}
interface Notebook {
  cells: Cell[];
  metadata?: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** What makes a notebook "not clean": one entry per problem, e.g. `cell 3: 2 outputs`. */
export function dirtyParts(nb: Notebook): string[] {
  const out: string[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    if (cell.outputs && cell.outputs.length > 0) out.push(`cell ${i + 1}: ${cell.outputs.length} output${cell.outputs.length === 1 ? "" : "s"}`);
    if (cell.execution_count !== null && cell.execution_count !== undefined) out.push(`cell ${i + 1}: execution count ${cell.execution_count}`);
    if (cell.metadata && "execution" in cell.metadata) out.push(`cell ${i + 1}: execution timing metadata`);
  });
  return out;
}

/** A copy with every code cell's outputs, execution count and timing metadata cleared. */
export function cleanNotebook(nb: Notebook): Notebook {
  const copy = JSON.parse(JSON.stringify(nb)) as Notebook;
  for (const cell of copy.cells) {
    if (cell.cell_type !== "code") continue;
    cell.outputs = [];
    cell.execution_count = null;
    if (cell.metadata) delete cell.metadata.execution;
  }
  return copy;
}

/** The notebook JSON layout Jupyter writes: 1-space indent, non-ASCII kept, a final newline. */
export function notebookText(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + "\n";
}

export function defaultNotebooks(): string[] {
  const dir = path.join(ROOT, "notebooks");
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(dir, f));
}

function main(argv: string[]): number {
  const check = argv.includes("--check");
  const files = argv.filter((a) => a !== "--check");
  const targets = files.length ? files.map((f) => path.resolve(f)) : defaultNotebooks();
  let dirty = 0;
  for (const file of targets) {
    const rel = path.relative(ROOT, file);
    const nb = JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
    const parts = dirtyParts(nb);
    if (parts.length === 0) continue;
    dirty++;
    if (check) {
      console.log(`${rel}: not clean (${parts.slice(0, 3).join("; ")}${parts.length > 3 ? `; … ${parts.length - 3} more` : ""})`);
    } else {
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, notebookText(cleanNotebook(nb)));
      fs.renameSync(tmp, file);
      console.log(`${rel}: cleared (${parts.length} item${parts.length === 1 ? "" : "s"})`);
    }
  }
  if (check && dirty > 0) {
    console.log(`${dirty} notebook(s) carry outputs; run: npm run nb:clean`);
    return 1;
  }
  if (!check) console.log(`nb:clean: ${targets.length} notebook(s) checked, ${dirty} cleared`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
