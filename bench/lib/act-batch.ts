// The memory sections of bench:act-memory that `-- --only resnet` can rerun alone: the activation
// memory of one step at batch 32 (section memory) and the largest batch within the fp32 budget
// (section largestBatch), for one model.
import type { ActConfig } from '../../src/activation/config.js';
import { activationMemory } from '../../src/activation/measure.js';
import { compressForTraining } from '../../src/activation/training.js';
import type { ClassificationData } from '../../src/data/dataset.js';
import { buildModel, type ZooModelName } from '../../src/models/zoo.js';
import { disposeBatch, firstRows } from './batches.js';

export interface Variant {
  label: string;
  config: Partial<ActConfig>;
}
export const VARIANTS: Variant[] = [
  { label: 'fp32 (L0)', config: { level: 'L0' } },
  { label: '8-bit', config: { level: 'L3', bits: 8 } },
  { label: '4-bit (L2)', config: { level: 'L2' } },
  { label: '2-bit (L3)', config: { level: 'L3' } },
  { label: '2-bit mixed', config: { level: 'L3.mixed', mixed: { avgBits: 2, everySteps: 25 } } },
];
/** The batch of the memory rows, and of the fp32 run that sets the largest-batch budget. */
export const BATCH = 32;

const quiet = { warn: () => {} };

/** How a variant's training forward runs: over the whole batch or in chunks of samples. */
export function forwardLabel(rows: number | null): string {
  return rows === null ? 'whole batch' : `chunks of ${rows}`;
}

export async function compressed(
  name: ZooModelName,
  data: ClassificationData,
  config: Partial<ActConfig>,
) {
  const base = buildModel(name, { inputShape: data.sampleShape, numClasses: 10, seed: 1 });
  const r = await compressForTraining(base, config, data, quiet);
  base.dispose();
  return r;
}
type Compressed = Awaited<ReturnType<typeof compressed>>;

export function measureAt(m: Compressed, data: ClassificationData, n: number) {
  const b = firstRows(data, n);
  const mem = activationMemory(m.model, m.forward, b.xs, b.ys);
  disposeBatch(b);
  return mem;
}

/** Section memory's rows of one model: each variant's saved bytes and peak at batch 32. */
export async function memoryRowsOf(
  name: ZooModelName,
  data: ClassificationData,
  variants: Variant[],
): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let ref = { savedBytes: 0, peakBytes: 0 };
  for (const v of variants) {
    const m = await compressed(name, data, v.config);
    const mem = measureAt(m, data, BATCH);
    if (v.config.level === 'L0') ref = mem;
    rows.push({
      model: name,
      variant: v.label,
      forward: forwardLabel(m.chunkRows),
      batch: BATCH,
      savedBytes: mem.savedBytes,
      peakBytes: mem.peakBytes,
      savedReduction: ref.savedBytes / mem.savedBytes,
      peakReduction: ref.peakBytes / mem.peakBytes,
      bits: m.auto ? { ...m.auto.lastBits } : undefined,
    });
    m.model.dispose();
    m.dispose();
  }
  return rows;
}

/**
 * Largest batch whose peak fits `budget`: a linear estimate from batches 32 and 96, 5% steps up
 * or down to a batch that fits and one that does not, then bisection between them (the peak
 * grows with the batch), so the answer is the largest fitting batch, not a 5% step below it.
 */
export function largestBatch(m: Compressed, data: ClassificationData, budget: number) {
  const a = measureAt(m, data, 32).peakBytes;
  const b = measureAt(m, data, 96).peakBytes;
  const fits = (n: number) => measureAt(m, data, n).peakBytes <= budget;
  let fit = Math.max(1, Math.floor(32 + ((budget - a) / Math.max(1, b - a)) * 64));
  let over: number;
  if (fits(fit)) {
    over = Math.ceil(fit * 1.05);
    while (over <= 4096 && fits(over)) {
      fit = over;
      over = Math.ceil(over * 1.05);
    }
  } else {
    over = fit;
    while (fit > 1 && !fits(fit)) {
      over = fit;
      fit = Math.floor(fit * 0.95);
    }
  }
  while (over - fit > 1 && over <= 4096) {
    const mid = Math.floor((fit + over) / 2);
    if (fits(mid)) fit = mid;
    else over = mid;
  }
  return { fit, peak: measureAt(m, data, fit).peakBytes };
}

/**
 * Section largestBatch's rows of one model: the largest batch of fp32 and 2-bit whose activation
 * peak fits the fp32 whole-batch peak at batch 32, in both forwards where they apply (the chunked
 * forward needs layers that treat samples independently: not ResNet's batch norm).
 */
export async function batchRowsOf(
  name: ZooModelName,
  data: ClassificationData,
): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  const ref = await compressed(name, data, { ...VARIANTS[0].config, forwardChunk: 'off' });
  const budget = measureAt(ref, data, BATCH).peakBytes;
  ref.model.dispose();
  ref.dispose();
  const fp32: Record<string, number> = {};
  for (const forwardChunk of ['off', 'auto'] as const) {
    for (const v of [VARIANTS[0], VARIANTS[3]]) {
      const m = await compressed(name, data, { ...v.config, forwardChunk });
      if (forwardChunk === 'auto' && m.chunkRows === null) {
        m.model.dispose();
        m.dispose();
        continue; // batch norm: 'auto' runs the whole batch, already measured
      }
      const { fit, peak } =
        v.config.level === 'L0' && forwardChunk === 'off'
          ? { fit: BATCH, peak: budget }
          : largestBatch(m, data, budget);
      if (v.config.level === 'L0') fp32[forwardChunk] = fit;
      rows.push({
        model: name,
        variant: v.label,
        forward: forwardLabel(m.chunkRows),
        budgetBytes: budget,
        largestBatch: fit,
        peakAtLargest: peak,
        batchGain: fit / fp32.off,
        batchGainSameForward: fit / fp32[forwardChunk],
      });
      m.model.dispose();
      m.dispose();
    }
  }
  return rows;
}
