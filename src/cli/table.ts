import Table from 'cli-table3';

/** Renders rows as a terminal table with a header. */
export function renderTable(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}
