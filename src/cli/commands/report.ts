import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { checkOutputFile } from '../../io/output-paths.js';
import { type ReportRun, renderReport } from '../../report/html/report.js';
import { reportSection } from '../../report/html/sections.js';
import { renderTable } from '../table.js';

export interface ReportCommandOptions {
  out: string;
  title?: string;
}

/** The JSON files named: files as given, directories as their *.json files (sorted). */
export function reportInputs(paths: string[]): Array<{ path: string; inDirectory: boolean }> {
  if (paths.length === 0) throw new Error('report: give one or more JSON reports or directories');
  return paths.flatMap((p): Array<{ path: string; inDirectory: boolean }> => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      throw new Error(`report: '${p}' does not exist`);
    }
    if (!st.isDirectory()) return [{ path: p, inDirectory: false }];
    const files = readdirSync(p)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => join(p, f));
    if (files.length === 0) throw new Error(`report: directory '${p}' holds no .json files`);
    return files.map((f) => ({ path: f, inDirectory: true }));
  });
}

function readRun(path: string): ReportRun {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`report: cannot read '${path}': ${(e as Error).message}`);
  }
  try {
    return { source: path, json: JSON.parse(text) };
  } catch (e) {
    throw new Error(`report: '${path}' is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * `frugal report`: one static HTML page with the tables and plots of the runs given. A file named
 * explicitly must be a run; a JSON file of another kind found in a directory is skipped with a
 * warning (bench/results holds a few).
 */
export function reportCommand(
  paths: string[],
  o: ReportCommandOptions,
  warn: (message: string) => void = (m) => console.warn(m),
): string {
  checkOutputFile(o.out, '--out');
  const inputs = reportInputs(paths);
  const out = resolve(o.out);
  const clash = inputs.find((f) => resolve(f.path) === out);
  if (clash) throw new Error(`--out '${o.out}' is one of the inputs; give another file`);
  const runs: ReportRun[] = [];
  const kinds: string[] = [];
  for (const input of inputs) {
    const run = readRun(input.path);
    try {
      kinds.push(reportSection(run).kind);
      runs.push(run);
    } catch (e) {
      if (!input.inDirectory) throw e;
      warn(`skipped ${(e as Error).message.replace(/^report: /, '')}`);
    }
  }
  if (runs.length === 0) throw new Error('report: none of the files given is a frugal run');
  const html = renderReport(runs, { title: o.title });
  writeFileAtomic(o.out, html);
  console.log(
    renderTable(
      ['run', 'kind'],
      runs.map((r, i) => [r.source, kinds[i]]),
    ),
  );
  console.log(`wrote ${o.out} (${runs.length} run${runs.length === 1 ? '' : 's'})`);
  return html;
}
