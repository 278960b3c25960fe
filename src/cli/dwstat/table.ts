/** Fixed-width text tables, Cray dwstat style: a header row, then one row per item. */

/** A column: its header and on which side its cells line up. */
export interface Column {
  header: string;
  /** `right` for numbers and sizes, `left` for names and states. */
  align: 'left' | 'right';
}

/** Space between two columns. */
const GAP = '  ';

/** Newlines, tabs and other control characters: they would break a table's layout. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]+/g;

/** One line of text: control characters (newlines, tabs) become spaces, runs are collapsed. */
export function singleLine(text: string): string {
  return text.replace(CONTROL_CHARACTERS, ' ').replace(/ {2,}/g, ' ').trim();
}

/**
 * Render a table: every column as wide as its widest cell, cells separated by two spaces, no
 * trailing spaces. Cells are made single-line so a stray newline cannot break the table.
 * Throws RangeError if a row has the wrong number of cells (a programming error).
 */
export function formatTable(columns: readonly Column[], rows: readonly string[][]): string {
  const cells = [columns.map((column) => column.header), ...rows.map((row) => row.map(singleLine))];
  for (const row of cells) {
    if (row.length !== columns.length) {
      throw new RangeError(`table row has ${row.length} cells, expected ${columns.length}`);
    }
  }
  const widths = columns.map((_, index) =>
    Math.max(...cells.map((row) => (row[index] ?? '').length)),
  );
  return cells
    .map((row) =>
      row
        .map((cell, index) => {
          const width = widths[index] ?? 0;
          return columns[index]?.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
        })
        .join(GAP)
        .trimEnd(),
    )
    .join('\n');
}
