import { renderPage } from './page.js';
import { type ReportRun, reportSection } from './sections.js';

export type { ReportRun } from './sections.js';

export interface ReportOptions {
  title?: string;
  /** Shown under the title (default: now, ISO). */
  generatedAt?: string;
}

/**
 * One static HTML page (no scripts, no external files) with the tables and SVG plots of the given
 * runs: reports of `frugal train`, `compress`, `plan` and `bench`, and benchmark results
 * (bench/results/*.json). Refuses an empty list and JSON of any other kind, naming its source.
 */
export function renderReport(runs: ReportRun[], options: ReportOptions = {}): string {
  if (runs.length === 0) throw new Error('report: no runs given');
  const sections = runs.map(reportSection);
  return renderPage(
    options.title ?? 'frugal report',
    sections,
    options.generatedAt ?? new Date().toISOString(),
  );
}
