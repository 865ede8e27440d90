/**
 * Renders the gates table and the closing `N passed, N failed` line.
 *
 * @module
 */

/** One row: a gate's outcome, or a stage's total. */
export interface Row {
  stage: string;
  gate: string;
  result: "pass" | "FAIL" | "not built";
  cases?: { passed: number; failed: number; skipped: number };
  seconds?: number;
  /** For budget gates and stage totals: the measured value against its limit. */
  budget?: string;
}

function cell(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function casesText(row: Row): string {
  if (!row.cases) return "";
  const { passed, failed, skipped } = row.cases;
  return `${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : "");
}

/** A fixed-width table with a header line. */
export function renderTable(rows: Row[]): string {
  const header = ["stage", "gate", "result", "cases", "duration", "budget"];
  const lines = rows.map((r) => [
    r.stage,
    r.gate,
    r.result,
    casesText(r),
    r.seconds === undefined ? "" : `${r.seconds.toFixed(1)} s`,
    r.budget ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)) + 2);
  const fmt = (cols: string[]) => cols.map((c, i) => cell(c, widths[i])).join("").trimEnd();
  return [fmt(header), fmt(widths.map((w) => "-".repeat(w - 2))), ...lines.map(fmt)].join("\n");
}

/** The plain closing line CI reads. */
export function summaryLine(passed: number, failed: number, skipped: number): string {
  return `${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : "");
}
