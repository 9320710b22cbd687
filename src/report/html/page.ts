// The HTML building blocks of `frugal report`: escaping, tables, sections and the page itself.
// Browser-safe (no file access): the CLI reads the runs, this renders them.

/** Text for HTML (element content and attribute values). */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A table cell: numbers are formatted (null/undefined/non-finite: 'n/a'), strings escaped. */
export type Cell = string | number | boolean | null | undefined;

function cellText(v: Cell): string {
  if (v === null || v === undefined) return 'n/a';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return 'n/a';
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 100 ? v.toFixed(1) : Number(v.toPrecision(4)).toString();
  }
  return String(v);
}

/** An HTML table; numeric cells are right-aligned. */
export function htmlTable(head: string[], rows: Cell[][], caption?: string): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c) => `<td${typeof c === 'number' ? ' class="num"' : ''}>${escapeHtml(cellText(c))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const cap = caption ? `<caption>${escapeHtml(caption)}</caption>` : '';
  return `<table>${cap}<thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** One run's section: a heading naming the file and kind, then the given HTML parts. */
export interface ReportSection {
  /** The run's kind, e.g. 'train' or 'benchmark'. */
  kind: string;
  /** Where it came from (a file path). */
  source: string;
  title: string;
  /** Trusted HTML (tables and SVG built by this module). */
  parts: string[];
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #ccc}
.source{color:#666;font-size:.85rem;font-family:monospace}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f4f4}svg{max-width:100%;height:auto}nav li{margin:.2rem 0}`;

/** The whole page: a table of contents, then one section per run. */
export function renderPage(title: string, sections: ReportSection[], generatedAt: string): string {
  const toc = sections
    .map(
      (s, i) =>
        `<li><a href="#run-${i}">${escapeHtml(s.title)}</a> <span class="source">${escapeHtml(s.source)}</span></li>`,
    )
    .join('\n');
  const body = sections
    .map(
      (s, i) =>
        `<section id="run-${i}" data-kind="${escapeHtml(s.kind)}"><h2>${escapeHtml(s.title)}</h2>` +
        `<p class="source">${escapeHtml(s.source)}</p>\n${s.parts.join('\n')}</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1><p class="source">generated ${escapeHtml(generatedAt)} from ${sections.length} run(s)</p>
<nav><ol>
${toc}
</ol></nav>
${body}
</body></html>
`;
}
