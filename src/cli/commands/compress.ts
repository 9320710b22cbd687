import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { type CompressResult, compress } from '../../compress/compress.js';
import '../../lowprec/index.js';
import {
  COMPRESS_CONFIG_VERSION,
  type CompressConfig,
  validateCompressConfig,
} from '../../compress/config.js';
import type { CompressReport, ModelSummary } from '../../compress/report.js';
import type { ClassificationData } from '../../data/dataset.js';
import { loadDataset } from '../../data/load.js';
import { initEngine } from '../../engine/backend.js';
import { loadModel, modelFiles, writeModelDir } from '../../io/model-files.js';
import { checkModelDir } from '../../io/output-paths.js';
import { useFastKernels } from '../../kernels/index.js';
import { fixed, pct } from '../../report/format.js';
import { compressProgressBar } from '../compress-progress.js';
import { renderTable } from '../table.js';

/** The options of the commands that rewrite a saved model into --out (compress, compress-plrd). */
export interface ModelRewriteOptions {
  out: string;
  /** Write into a non-empty --out that holds no model, or into the input model's directory. */
  overwrite?: boolean;
  dataset?: string;
  backend: string;
  seed: number;
  trainCount?: number;
  testCount?: number;
}

export interface CompressCommandOptions extends ModelRewriteOptions {
  method?: string;
  /** The `bits` option of every --method step. */
  bits?: number;
  config?: string;
  calibrationCount: number;
  progress: boolean;
}

export interface CompressCommandReport extends CompressReport {
  tool: 'frugal compress';
  input: string;
  backend: string;
  dataset: string | null;
  /** Bytes of model.json + weights.bin on disk, input and output. */
  filesOnDisk: { before: number; after: number };
}

function readConfig(o: CompressCommandOptions): CompressConfig | unknown {
  if (o.config && o.method) throw new Error('give either --method or --config, not both');
  if (o.config) {
    if (!existsSync(o.config)) throw new Error(`config file not found: ${o.config}`);
    try {
      return JSON.parse(readFileSync(o.config, 'utf8'));
    } catch (e) {
      throw new Error(`config file ${o.config} is not valid JSON (${(e as Error).message})`);
    }
  }
  const methods = (o.method ?? 'int8').split(',').map((m) => m.trim());
  if (o.bits !== undefined && !o.method)
    throw new Error('--bits needs --method (e.g. --method qat --bits 4)');
  const options = o.bits !== undefined ? { options: { bits: o.bits } } : {};
  return {
    version: COMPRESS_CONFIG_VERSION,
    steps: methods.map((method) => ({ method, ...options })),
  };
}

/** The directory of a model given as `model.json` or a directory. */
function modelDirOf(input: string): string {
  return input.endsWith('.json') ? dirname(input) : input;
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}

/** Checks --out before any work: a usable directory, not the input model's unless --overwrite. */
export function checkCompressOut(input: string, o: CompressCommandOptions): void {
  if (o.out === undefined)
    throw new Error(
      '--out <dir> is required: the directory for the compressed model.json, weights.bin and report.json',
    );
  checkModelDir(o.out, {
    overwrite: o.overwrite,
    label: '--out',
    overwriteHint: 'pass --overwrite',
  });
  if (!o.overwrite && samePath(modelDirOf(input), o.out))
    throw new Error(
      `--out '${o.out}' is the input model's directory: writing there replaces the model being compressed; choose another --out, or pass --overwrite to replace it`,
    );
}

function modelFilesBytes(pathOrDir: string): number {
  const json = pathOrDir.endsWith('.json') ? pathOrDir : join(pathOrDir, 'model.json');
  const manifest = JSON.parse(readFileSync(json, 'utf8')) as {
    weightsManifest: { paths: string[] }[];
  };
  const dir = resolve(json, '..');
  return (
    statSync(json).size +
    manifest.weightsManifest
      .flatMap((g) => g.paths)
      .reduce((s, p) => s + statSync(join(dir, p)).size, 0)
  );
}

function loadData(
  o: CompressCommandOptions,
  model: tf.LayersModel,
): ClassificationData | undefined {
  if (!o.dataset) return undefined;
  const shape = model.inputs[0].shape.slice(1);
  const data = loadDataset(o.dataset, {
    layout: shape.length === 3 ? 'image' : 'sequence',
    trainCount: o.trainCount,
    testCount: o.testCount,
    seed: o.seed,
  });
  if (data.sampleShape.join() !== shape.join()) {
    throw new Error(
      `dataset ${o.dataset} has samples [${data.sampleShape}] but the model expects [${shape}]`,
    );
  }
  return data;
}

function summaryRow(what: string, s: ModelSummary, fileBytes: number): (string | number)[] {
  return [
    what,
    s.parameters,
    fileBytes,
    s.flops,
    fixed(s.latencyMs, 2),
    s.accuracy === null ? 'n/a' : pct(s.accuracy),
    s.outputSqnrDb === null ? '-' : fixed(s.outputSqnrDb, 1),
  ];
}

export function renderCompressTables(r: CompressCommandReport): string {
  const before = r.before!;
  const after = r.after!;
  const total = renderTable(
    [
      'model',
      'params',
      'file bytes',
      'FLOPs/sample',
      `latency ms (${r.backend})`,
      'accuracy',
      'output SQNR dB',
    ],
    [
      summaryRow('before', before, r.filesOnDisk.before),
      summaryRow('after', after, r.filesOnDisk.after),
      [
        'after/before',
        fixed(after.parameters / before.parameters, 3),
        fixed(r.filesOnDisk.after / r.filesOnDisk.before, 3),
        fixed(after.flops / before.flops, 3),
        fixed(after.latencyMs / before.latencyMs, 2),
        after.accuracy !== null && before.accuracy !== null
          ? `${((after.accuracy - before.accuracy) * 100).toFixed(2)} pt`
          : 'n/a',
        '',
      ],
    ],
  );
  const notes = new Map<string, string[]>();
  for (const s of r.steps) {
    for (const [layer, note] of Object.entries(s.layers))
      notes.set(layer, [...(notes.get(layer) ?? []), `${s.method}: ${note}`]);
  }
  const layers = renderTable(
    ['layer', 'class', 'params', 'bytes', 'FLOPs', 'kernel SQNR dB', 'what was done'],
    after.layers.map((l) => {
      const b = before.layers.find((x) => x.name === l.name);
      return [
        l.name,
        l.className.replace('Frugal', ''),
        b ? `${b.parameters} -> ${l.parameters}` : l.parameters,
        b ? `${b.bytes} -> ${l.bytes}` : l.bytes,
        l.flops,
        l.kernelSqnrDb === null ? '-' : fixed(l.kernelSqnrDb, 1),
        (notes.get(l.name) ?? []).join('; '),
      ];
    }),
  );
  return `${total}\n${layers}`;
}

/**
 * `frugal compress`: loads a model, compresses it by methods or a config file, evaluates before
 * and after, prints the tables, and writes the compressed model and report.json to --out
 * (`writeModelDir`: all three files or none; no other file in --out is touched). --out is checked
 * before any work starts.
 */
export async function compressCommand(
  input: string,
  o: CompressCommandOptions,
): Promise<CompressCommandReport> {
  checkCompressOut(input, o);
  const config = validateCompressConfig(readConfig(o));
  const engine = await initEngine({ backend: o.backend, seed: o.seed });
  useFastKernels(); // conv gradients for fine-tuning (stock wasm has none)
  let model: tf.LayersModel;
  try {
    model = await loadModel(input);
  } catch (e) {
    throw new Error(`cannot load model ${input}: ${(e as Error).message}`);
  }
  const data = loadData(o, model);
  if (data && o.calibrationCount > data.train.count)
    throw new Error(
      `--calibration-count ${o.calibrationCount} is larger than the ${data.train.count} training samples of ${data.name}: use ${data.train.count} or less`,
    );
  const bar = compressProgressBar(o.progress && process.stderr.isTTY === true);
  let result: CompressResult;
  try {
    result = await compress(model, config, {
      data,
      calibrationCount: o.calibrationCount,
      seed: o.seed,
      onProgress: bar.onProgress,
    });
  } finally {
    bar.stop();
  }
  try {
    const files = await modelFiles(result.model);
    const report: CompressCommandReport = {
      tool: 'frugal compress',
      input,
      backend: engine.backend,
      dataset: data?.name ?? null,
      ...result.report,
      filesOnDisk: {
        before: modelFilesBytes(input),
        after: files.reduce(
          (s, f) =>
            s + (typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.byteLength),
          0,
        ),
      },
    };
    writeModelDir(
      o.out,
      [...files, { name: 'report.json', data: `${JSON.stringify(report, null, 2)}\n` }],
      { overwrite: o.overwrite, label: '--out', overwriteHint: 'pass --overwrite' },
    );
    console.log(renderCompressTables(report));
    if (report.restoredLayers.length > 0)
      console.log(
        `restored ${report.restoredLayers.length} compressed-activation training layers to plain layers first`,
      );
    for (const w of report.warnings) console.warn(`warning: ${w}`);
    console.log(`compressed model and report.json written to ${o.out}`);
    return report;
  } finally {
    result.model.dispose();
    model.dispose();
  }
}
