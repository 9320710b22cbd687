// `npm run bench:act-memory -- --only resnet`: reruns the ResNet's rows of the memory sections
// (memory at batch 32, largest batch within the fp32 budget) and merges them into
// bench/results/act-memory.json, keeping every other figure of the last full run; partRuns
// records which figures a later --only run measured, and when.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClassificationData } from '../../src/data/dataset.js';
import { batchRowsOf, memoryRowsOf, VARIANTS } from './act-batch.js';
import { type Headline, RESULTS_DIR, writeResults } from './results.js';
import { printTable } from './table.js';

type Row = Record<string, unknown>;
const TWO_BIT = VARIANTS[3].label;

function pick(rows: Row[], where: Row, key: string): number {
  const row = rows.find((r) => Object.entries(where).every(([k, v]) => r[k] === v));
  return row === undefined ? Number.NaN : (row[key] as number);
}

/** The ResNet's headline figures from the rows of sections memory and largestBatch. */
export function resnetHeadline(memory: Row[], batches: Row[]): Headline {
  const gain = pick(batches, { model: 'resnet', variant: TWO_BIT }, 'batchGain');
  return {
    resnetPeakReduction2bit: pick(memory, { model: 'resnet', variant: TWO_BIT }, 'peakReduction'),
    resnetLargestBatch2bit: pick(batches, { model: 'resnet', variant: TWO_BIT }, 'largestBatch'),
    resnetBatchGain2bit: gain,
    /** Issue 19's name: the same figure (largest 2-bit batch / fp32's, fp32's budget). */
    resnetBatchGain: gain,
  };
}

const PARTS = ['resnet'] as const;

/** A figure for the table ('-' where the part has none, e.g. no largest batch for 8-bit). */
const shown = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** Reruns part `name` and merges its rows and headline figures into the JSON of the last run. */
export async function onlyPart(
  name: string,
  image: ClassificationData,
  backend: string,
  started: number,
): Promise<void> {
  if (!(PARTS as readonly string[]).includes(name))
    throw new Error(`--only takes one of ${PARTS.join(', ')}, got '${name}'`);
  const file = join(RESULTS_DIR, 'act-memory.json');
  const prev = JSON.parse(readFileSync(file, 'utf8'));
  const memory = await memoryRowsOf('resnet', image, VARIANTS);
  const batches = await batchRowsOf('resnet', image);
  const seconds = (performance.now() - started) / 1000;
  printTable(
    '\nResNet: activation peak at batch 32, and largest batch within the fp32 peak at batch 32',
    ['saves', 'peak MB at 32', 'x fp32', 'largest batch', 'x fp32 batch'],
    VARIANTS.map((v) => [
      v.label,
      (pick(memory, { variant: v.label }, 'peakBytes') / 1e6).toFixed(2),
      pick(memory, { variant: v.label }, 'peakReduction').toFixed(2),
      shown(pick(batches, { variant: v.label }, 'largestBatch'), 0),
      shown(pick(batches, { variant: v.label }, 'batchGain'), 2),
    ]),
  );
  const notResnet = (rows: Row[]) => rows.filter((r) => r.model !== 'resnet');
  const { bench: _b, date, headline, ...rest } = prev;
  const figures = resnetHeadline(memory, batches);
  const path = writeResults('act-memory', {
    ...rest,
    headline: { ...headline, ...figures },
    memory: [...notResnet(prev.memory), ...memory],
    largestBatch: [...notResnet(prev.largestBatch), ...batches],
    fullRunDate: prev.fullRunDate ?? date,
    partRuns: {
      ...(prev.partRuns ?? {}),
      [name]: { date: new Date().toISOString(), backend, seconds },
    },
    partRunsNote: `the figures of the parts in partRuns (their rows of sections memory and largestBatch, and their headline figures) were measured by later --only runs (dates there); the others come from the full run of ${prev.fullRunDate ?? date}`,
  });
  console.log(JSON.stringify(figures, null, 2));
  console.log(`wrote ${path} (${seconds.toFixed(0)} s)`);
}
