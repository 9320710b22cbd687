/** A named line of (x, y) points. */
export interface PlotSeries {
  name: string;
  points: [number, number][];
}

export interface LinePlot {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Round "nice" tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * A self-contained SVG line plot (axes, ticks, legend, one polyline with markers per series).
 * Returns the SVG text; writing it is the caller's business (browser-safe).
 */
export function linePlotSvg(plot: LinePlot): string {
  const W = plot.width ?? 640;
  const H = plot.height ?? 400;
  const m = { left: 64, right: 170, top: 40, bottom: 52 };
  const all = plot.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x + y));
  if (all.length === 0) throw new Error(`plot '${plot.title}' has no finite points`);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const xt = ticks(Math.min(...xs), Math.max(...xs));
  const yt = ticks(Math.min(0, ...ys), Math.max(...ys));
  const [x0, x1] = [xt[0], xt[xt.length - 1]];
  const [y0, y1] = [yt[0], yt[yt.length - 1]];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - m.top - m.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(plot.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.right / 2 + m.left / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(plot.title)}</text>`,
  ];
  for (const t of xt) {
    parts.push(
      `<line x1="${px(t)}" y1="${m.top}" x2="${px(t)}" y2="${H - m.bottom}" stroke="#eee"/>`,
      `<text x="${px(t)}" y="${H - m.bottom + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of yt) {
    parts.push(
      `<line x1="${m.left}" y1="${py(t)}" x2="${W - m.right}" y2="${py(t)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${py(t) + 4}" text-anchor="end">${t}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#333"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(plot.xLabel)}</text>`,
    `<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(plot.yLabel)}</text>`,
  );
  plot.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points
      .filter(([x, y]) => Number.isFinite(x + y))
      .sort((a, b) => a[0] - b[0])
      .map(([x, y]) => [px(x), py(y)]);
    if (pts.length > 0)
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => p.join(',')).join(' ')}"/>`,
      );
    for (const [x, y] of pts) parts.push(`<circle cx="${x}" cy="${y}" r="3" fill="${color}"/>`);
    const ly = m.top + 10 + i * 18;
    parts.push(
      `<line x1="${W - m.right + 12}" y1="${ly}" x2="${W - m.right + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - m.right + 38}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
