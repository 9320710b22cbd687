import { renderTable } from '../../src/cli/table.js';

/** Prints an optional title line, then the rows as a terminal table under `head`. */
export function printTable(
  title: string | undefined,
  head: string[],
  rows: (string | number)[][],
): void {
  if (title !== undefined) console.log(title);
  console.log(renderTable(head, rows));
}
