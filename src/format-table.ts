// Aligned text tables for every command and the `dev` summary (below the CLI, so ops/dev share it).

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** Default: right for numbers, left otherwise. */
  align?: "left" | "right";
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return "-";
  if (v instanceof Date) return v.toISOString().replace(/\.\d{3}Z$/, "Z");
  return String(v);
}

/**
 * Rows as aligned columns, header first, two spaces between columns, no trailing spaces
 * (so output diffs and greps cleanly). `empty` is printed instead when there are no rows.
 */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[], opts: { empty?: string } = {}): string {
  if (rows.length === 0 && opts.empty !== undefined) return opts.empty + "\n";
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const aligns = columns.map((c, i) => c.align ?? (cells.length > 0 && cells.every((row) => typeof row[i] === "number") ? "right" : "left"));
  const text = [columns.map((c) => c.header), ...cells.map((row) => row.map(cell))];
  const widths = columns.map((_, i) => Math.max(...text.map((line) => displayWidth(line[i] ?? ""))));
  return (
    text
      .map((line) =>
        line
          .map((t, i) => {
            const pad = " ".repeat((widths[i] ?? 0) - displayWidth(t));
            return aligns[i] === "right" ? pad + t : t + pad;
          })
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

// Colour codes take no columns on screen.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
export function displayWidth(s: string): number {
  return [...s.replace(ANSI, "")].length;
}
