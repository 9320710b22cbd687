/** A tiny SVG scatter/line plot writer (no dependencies), for benchmark figures. */
export interface PlotPoint {
  x: number;
  y: number;
  label?: string;
}

export interface PlotSeries {
  name: string;
  points: PlotPoint[];
  /** Join the points with a line (in the given order). */
  line?: boolean;
  /** Draw a dot at each point (default true; a long line reads better without). */
  markers?: boolean;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  width?: number;
  height?: number;
  /** Dashed horizontal / vertical guides, e.g. a target. */
  hGuide?: { y: number; label: string };
  vGuide?: { x: number; label: string };
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];

function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Round-number ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

/** Renders the plot as an SVG document. */
export function renderSvgPlot(spec: PlotSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 480;
  const m = { left: 70, right: 30, top: 40, bottom: 60 };
  const all = spec.series.flatMap((s) => s.points);
  if (all.length === 0) throw new Error('plot: no points');
  for (const p of all) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y))
      throw new Error(`plot: non-finite point (${p.x}, ${p.y})`);
  }
  const xs = all.map((p) => p.x).concat(spec.vGuide ? [spec.vGuide.x] : []);
  const ys = all.map((p) => p.y).concat(spec.hGuide ? [spec.hGuide.y] : []);
  const pad = (lo: number, hi: number) => {
    const d = hi - lo || Math.abs(hi) || 1;
    return [lo - d * 0.05, hi + d * 0.05];
  };
  const [x0, x1] = pad(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const sy = (y: number) =>
    height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`,
  ];
  for (const t of niceTicks(x0, x1)) {
    out.push(
      `<line x1="${sx(t)}" y1="${m.top}" x2="${sx(t)}" y2="${height - m.bottom}" stroke="#eee"/>`,
      `<text x="${sx(t)}" y="${height - m.bottom + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of niceTicks(y0, y1)) {
    out.push(
      `<line x1="${m.left}" y1="${sy(t)}" x2="${width - m.right}" y2="${sy(t)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#444"/>`,
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 18}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    `<text transform="translate(18 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  if (spec.hGuide) {
    const y = sy(spec.hGuide.y);
    out.push(
      `<line x1="${m.left}" y1="${y}" x2="${width - m.right}" y2="${y}" stroke="#888" stroke-dasharray="5,4"/>`,
      `<text x="${width - m.right - 4}" y="${y - 4}" text-anchor="end" fill="#666">${escapeXml(spec.hGuide.label)}</text>`,
    );
  }
  if (spec.vGuide) {
    const x = sx(spec.vGuide.x);
    out.push(
      `<line x1="${x}" y1="${m.top}" x2="${x}" y2="${height - m.bottom}" stroke="#888" stroke-dasharray="5,4"/>`,
      `<text x="${x + 4}" y="${m.top + 14}" fill="#666">${escapeXml(spec.vGuide.label)}</text>`,
    );
  }
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    if (s.line && s.points.length > 1) {
      const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x)},${sy(p.y)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    for (const p of s.markers === false ? [] : s.points) {
      out.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="4" fill="${color}"/>`);
      if (p.label) {
        out.push(
          `<text x="${sx(p.x) + 6}" y="${sy(p.y) - 6}" font-size="10" fill="${color}">${escapeXml(p.label)}</text>`,
        );
      }
    }
    out.push(
      `<circle cx="${m.left + 14}" cy="${m.top + 14 + i * 16}" r="4" fill="${color}"/>`,
      `<text x="${m.left + 24}" y="${m.top + 18 + i * 16}">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
