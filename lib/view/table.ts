/**
 * `table(rows | DataFrame)`: result tables as HTML in a notebook, as aligned text elsewhere.
 *
 * Accepts an array of row objects or a danfo.js DataFrame (anything with `columns: string[]` and `values: unknown[][]`;
 * danfo itself is not loaded here). Numbers are shown with `digits` significant digits (default 4); integers as they are.
 */
import { emitDisplay, escapeHtml, inKernel } from "./kernel";

/** The part of a danfo.js DataFrame the table needs. */
export interface DataFrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
}

export interface TableOptions {
  caption?: string;
  /** Significant digits for non-integer numbers (default 4). */
  digits?: number;
  /** Rows shown as text outside a kernel before "… N more rows" (default 40). */
  maxTextRows?: number;
}

export interface TableData {
  columns: string[];
  rows: unknown[][];
}

function isDataFrame(x: unknown): x is DataFrameLike {
  return typeof x === "object" && x !== null && !Array.isArray(x) &&
    Array.isArray((x as DataFrameLike).columns) && Array.isArray((x as DataFrameLike).values);
}

/** Columns and cell values from rows or a DataFrame; columns in first-seen order over all rows. */
export function tableData(input: Record<string, unknown>[] | DataFrameLike): TableData {
  if (isDataFrame(input)) {
    const columns = input.columns.map(String);
    const values = input.values as unknown[];
    // A one-column frame may give a flat array.
    const rows = values.map((r) => (Array.isArray(r) ? r : [r]));
    return { columns, rows };
  }
  if (!Array.isArray(input)) {
    throw new Error(`table: expected an array of row objects or a danfo DataFrame, got ${input === null ? "null" : typeof input}`);
  }
  const columns: string[] = [];
  const seen = new Set<string>();
  input.forEach((row, i) => {
    if (typeof row !== "object" || row === null) throw new Error(`table: rows[${i}] is ${row === null ? "null" : typeof row}, expected an object`);
    for (const key of Object.keys(row)) if (!seen.has(key)) (seen.add(key), columns.push(key));
  });
  return { columns, rows: input.map((row) => columns.map((c) => row[c])) };
}

/** Formats one cell: integers exactly, other numbers with `digits` significant digits, the rest with String(). */
export function formatCell(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN";
    if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    return String(Number(v.toPrecision(digits)));
  }
  if (typeof v === "bigint" || typeof v === "boolean" || typeof v === "string") return String(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v) ?? String(v);
}

const isNumeric = (v: unknown): boolean => typeof v === "number" || typeof v === "bigint";

/** A self-contained HTML table (right-aligned numbers, optional caption). */
export function tableHtml(input: Record<string, unknown>[] | DataFrameLike, opts: TableOptions = {}): string {
  const { columns, rows } = tableData(input);
  const digits = opts.digits ?? 4;
  const style = "border-collapse:collapse;font-variant-numeric:tabular-nums;";
  const th = columns.map((c) => `<th style="text-align:left;border-bottom:1px solid #888;padding:2px 8px;">${escapeHtml(c)}</th>`).join("");
  const body = rows
    .map((r) => "<tr>" + r.map((v) => `<td style="text-align:${isNumeric(v) ? "right" : "left"};padding:2px 8px;">${escapeHtml(formatCell(v, digits))}</td>`).join("") + "</tr>")
    .join("\n");
  const caption = opts.caption ? `<caption style="caption-side:top;text-align:left;font-weight:bold;padding:4px 0;">${escapeHtml(opts.caption)}</caption>` : "";
  return `<table class="ifsq-table" style="${style}">${caption}<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** The table as aligned plain text (for terminals and logs). */
export function tableText(input: Record<string, unknown>[] | DataFrameLike, opts: TableOptions = {}): string {
  const { columns, rows } = tableData(input);
  const digits = opts.digits ?? 4;
  const max = opts.maxTextRows ?? 40;
  const shown = rows.slice(0, max).map((r) => r.map((v) => formatCell(v, digits)));
  const widths = columns.map((c, j) => Math.max(c.length, ...shown.map((r) => r[j].length)));
  const line = (cells: string[], numeric: boolean[]) =>
    cells.map((s, j) => (numeric[j] ? s.padStart(widths[j]) : s.padEnd(widths[j]))).join("  ").trimEnd();
  const out: string[] = [];
  if (opts.caption) out.push(opts.caption);
  out.push(line(columns, columns.map(() => false)));
  out.push(widths.map((w) => "-".repeat(w)).join("  "));
  rows.slice(0, max).forEach((r, i) => out.push(line(shown[i], r.map(isNumeric))));
  if (rows.length > max) out.push(`… ${rows.length - max} more rows`);
  return out.join("\n");
}

/** Shows a table: HTML in a kernel, aligned text on stdout elsewhere. */
export function table(input: Record<string, unknown>[] | DataFrameLike, opts: TableOptions = {}): void {
  if (inKernel()) {
    const { columns, rows } = tableData(input);
    emitDisplay({
      "text/html": tableHtml(input, opts),
      "text/plain": `${opts.caption ? opts.caption + ": " : ""}table ${rows.length}×${columns.length} (${columns.join(", ")})`,
    });
  } else {
    console.log(tableText(input, opts));
  }
}
