// One section of `frugal report` per run: what the train, compress, plan and bench commands
// write, and the benchmarks' bench/results/*.json. Each reader checks the fields it shows and
// names the file and field when one is missing or of the wrong type.
import { renderSvgPlot } from '../svg-plot.js';
import { type Cell, htmlTable, type ReportSection } from './page.js';

type Json = Record<string, unknown>;

/** A run to render: its source (a file path) and its parsed JSON. */
export interface ReportRun {
  source: string;
  json: unknown;
}

class Reader {
  constructor(
    readonly source: string,
    readonly value: Json,
    private readonly at = '',
  ) {}
  private fail(field: string, want: string): never {
    throw new Error(`report: '${this.source}': ${this.at}${field} ${want}`);
  }
  has(field: string): boolean {
    return this.value[field] !== undefined && this.value[field] !== null;
  }
  obj(field: string): Reader {
    const v = this.value[field];
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      this.fail(field, 'is not an object');
    return new Reader(this.source, v as Json, `${this.at}${field}.`);
  }
  list(field: string): Reader[] {
    const v = this.value[field];
    if (!Array.isArray(v)) this.fail(field, 'is not a list');
    return v.map((x, i) => {
      if (typeof x !== 'object' || x === null) this.fail(`${field}[${i}]`, 'is not an object');
      return new Reader(this.source, x as Json, `${this.at}${field}[${i}].`);
    });
  }
  /** A number, or null when absent/null (shown as n/a). */
  num(field: string): number | null {
    const v = this.value[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number') this.fail(field, `is not a number (${JSON.stringify(v)})`);
    return v;
  }
  str(field: string): string | null {
    const v = this.value[field];
    if (v === undefined || v === null) return null;
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
}

const MB = (b: number | null) => (b === null ? null : b / 1e6);

function trainRow(label: string, r: Reader): Cell[] {
  const res = r.obj('result');
  const mem = res.has('memory') ? res.obj('memory') : null;
  return [
    label,
    res.num('testAccuracy'),
    res.num('meanStepMs'),
    res.num('samplesPerSecond'),
    mem ? MB(mem.num('peakBytes')) : null,
    mem ? MB(mem.num('savedActivationBytes')) : null,
  ];
}

function historyPlot(runs: Array<[string, Reader]>, field: string, yLabel: string): string | null {
  const series = runs
    .map(([name, r]) => ({
      name,
      line: true,
      points: r
        .obj('result')
        .list('history')
        .map((h) => ({ x: h.num('epoch') ?? 0, y: h.num(field) ?? Number.NaN }))
        .filter((p) => Number.isFinite(p.y)),
    }))
    .filter((s) => s.points.length > 0);
  if (series.length === 0) return null;
  return renderSvgPlot({
    title: `${yLabel} by epoch`,
    xLabel: 'epoch',
    yLabel,
    series,
    width: 520,
    height: 320,
  });
}

function trainSection(r: Reader): ReportSection {
  const runs: Array<[string, Reader]> = [['run', r]];
  if (r.has('baseline')) runs.push(['baseline (plain)', r.obj('baseline')]);
  const head = ['run', 'test accuracy', 'step ms', 'samples/s', 'peak MB', 'saved activations MB'];
  const parts = [
    htmlTable(
      ['model', 'dataset', 'backend', 'parameters'],
      [[r.str('model'), r.str('dataset'), r.str('backend'), r.num('parameters')]],
    ),
    htmlTable(
      head,
      runs.map(([name, x]) => trainRow(name, x)),
      'result',
    ),
  ];
  if (r.has('activations')) {
    const act = r.obj('activations');
    const rows = act
      .list('converted')
      .map((c) => [c.str('name'), c.str('from'), c.str('to'), c.num('actBits')]);
    if (rows.length > 0)
      parts.push(
        htmlTable(['layer', 'from', 'to', 'activation bits'], rows, 'compressed activations'),
      );
  }
  for (const [field, label] of [
    ['meanLoss', 'mean loss'],
    ['testAccuracy', 'test accuracy'],
  ] as const) {
    const svg = historyPlot(runs, field, label);
    if (svg) parts.push(svg);
  }
  return {
    kind: 'train',
    source: r.source,
    title: `train: ${r.str('model') ?? 'model'} on ${r.str('dataset') ?? 'data'}`,
    parts,
  };
}

function compressSection(r: Reader): ReportSection {
  const before = r.obj('before');
  const after = r.obj('after');
  const metrics: Array<[string, string]> = [
    ['parameters', 'parameters'],
    ['fileBytes', 'file bytes'],
    ['weightBytes', 'weight bytes'],
    ['flops', 'FLOPs'],
    ['latencyMs', 'latency ms'],
    ['accuracy', 'accuracy'],
    ['outputSqnrDb', 'output SQNR dB'],
  ];
  const rows = metrics.map(([f, label]) => {
    const b = before.num(f);
    const a = after.num(f);
    return [label, b, a, b !== null && a !== null && a !== 0 ? b / a : null] as Cell[];
  });
  const steps = r
    .list('steps')
    .map((s) => [
      s.str('method'),
      s.num('seconds'),
      s.has('layers') ? Object.keys(s.obj('layers').value).length : 0,
    ]);
  const afterLayers = new Map(after.list('layers').map((l) => [l.str('name'), l]));
  const layers = before.list('layers').map((l) => {
    const a = afterLayers.get(l.str('name'));
    return [
      l.str('name'),
      l.str('className'),
      l.num('bytes'),
      a ? a.num('bytes') : null,
      a ? a.num('kernelSqnrDb') : null,
    ];
  });
  return {
    kind: 'compress',
    source: r.source,
    title: `compress: ${steps.map((s) => s[0]).join(', ') || 'no steps'}`,
    parts: [
      htmlTable(['metric', 'before', 'after', 'before / after'], rows, 'model'),
      htmlTable(['method', 'seconds', 'layers changed'], steps, 'steps'),
      htmlTable(
        ['layer', 'class', 'bytes before', 'bytes after', 'kernel SQNR dB'],
        layers,
        'layers',
      ),
    ],
  };
}

function planSection(r: Reader): ReportSection {
  const plan = r.obj('plan');
  const stages = r
    .list('stages')
    .map((s) => [
      s.str('name'),
      s.num('fwdMs'),
      s.num('bwdMs'),
      s.num('inputBytes'),
      s.num('tapeBytes'),
    ]);
  const pred = plan.obj('predicted');
  const keep = plan.obj('keepAll');
  return {
    kind: 'plan',
    source: r.source,
    title: `plan: ${r.str('model') ?? 'model'}, budget ${plan.num('budgetBytes')} bytes`,
    parts: [
      htmlTable(
        ['schedule', 'time ms', 'peak MB', 'peak at'],
        [
          ['planned', pred.num('timeMs'), MB(pred.num('peakBytes')), pred.str('peakAt')],
          ['keep all', keep.num('timeMs'), MB(keep.num('peakBytes')), keep.str('peakAt')],
        ],
        `schedule ${plan.str('schedule') ?? ''}`,
      ),
      htmlTable(
        ['stage', 'forward ms', 'backward ms', 'input bytes', 'tape bytes'],
        stages,
        'stages',
      ),
    ],
  };
}

function benchSection(r: Reader): ReportSection {
  const rows = r.list('rows').map((row) => {
    const res = row.obj('result');
    const mem = res.has('memory') ? res.obj('memory') : null;
    return [
      row.str('model'),
      row.str('backend'),
      res.num('batchSize'),
      res.num('stepMs'),
      res.num('samplesPerSecond'),
      mem ? MB(mem.num('peakBytes')) : null,
    ];
  });
  return {
    kind: 'bench',
    source: r.source,
    title: 'bench: training step',
    parts: [htmlTable(['model', 'backend', 'batch', 'step ms', 'samples/s', 'peak MB'], rows)],
  };
}

/** A benchmark's result: its headline, or (older benchmarks write none) its top-level figures. */
function benchmarkSection(r: Reader): ReportSection {
  const name = r.str('bench') ?? r.source.replace(/^.*\//, '').replace(/\.json$/, '');
  const scalar = (v: unknown): v is number | string | boolean =>
    typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
  const parts: string[] = [];
  if (r.has('headline')) {
    const rows = Object.entries(r.obj('headline').value).map(
      ([k, v]) => [k, scalar(v) ? v : JSON.stringify(v)] as Cell[],
    );
    parts.push(htmlTable(['figure', 'value'], rows, 'headline'));
  }
  const top = Object.entries(r.value).filter(([k, v]) => k !== 'bench' && scalar(v));
  if (top.length > 0)
    parts.push(
      htmlTable(
        ['field', 'value'],
        top.map(([k, v]) => [k, v as Cell]),
        r.has('headline') ? 'run' : 'run (this benchmark writes no headline)',
      ),
    );
  return { kind: 'benchmark', source: r.source, title: `benchmark: ${name}`, parts };
}

const BY_TOOL: Record<string, (r: Reader) => ReportSection> = {
  'frugal train': trainSection,
  'frugal compress': compressSection,
  'frugal plan': planSection,
  'frugal bench': benchSection,
};

/** The section of one run; refuses JSON that is none of the kinds above, naming the file. */
export function reportSection(run: ReportRun): ReportSection {
  const j = run.json;
  if (typeof j !== 'object' || j === null || Array.isArray(j))
    throw new Error(`report: '${run.source}' does not hold a JSON object`);
  const r = new Reader(run.source, j as Json);
  const tool = r.str('tool');
  if (tool !== null && BY_TOOL[tool]) return BY_TOOL[tool](r);
  if (r.has('headline') || r.has('bench')) return benchmarkSection(r);
  throw new Error(
    `report: '${run.source}' is not a frugal run: no 'tool' of ${Object.keys(BY_TOOL).join(', ')}${tool ? ` (it says '${tool}')` : ''}, nor a benchmark result ('bench' or 'headline')`,
  );
}
