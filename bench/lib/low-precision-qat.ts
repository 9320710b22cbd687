// The QAT section of bench/low-precision.ts: per seed, the zoo CNN trained in fp32 from that
// seed's initial weights and batches, then (same run, interleaved) an fp32 control trained
// `qatSteps` more steps, PTQ + AdaQuant at int4 / int2, and QAT variants (prepareQat ->
// `qatSteps` fake-quant steps -> convertQat), each evaluated as the converted (packed) model.
import * as tf from '@tensorflow/tfjs';
import { compress } from '../../src/compress/compress.js';
import { accuracyOf, predictAll } from '../../src/compress/metrics/output-quality.js';
import type { ClassificationData } from '../../src/data/dataset.js';
import {
  convertQat,
  finetuneQat,
  prepareQat,
  type QatActivationConfig,
} from '../../src/lowprec/index.js';
import { buildModel } from '../../src/models/zoo.js';
import { copyModel } from '../../src/rewrite/rewrite-model.js';
import { train } from '../../src/train/loop.js';

export interface QatVariant {
  variant: string;
  kind: 'control' | 'ptq' | 'qat';
  bits?: number;
  activations?: QatActivationConfig;
}

export interface QatSectionOptions {
  seeds: number[];
  qatSteps: number;
  adaquantSteps: number;
  learningRate: number;
  batch: number;
  variants: QatVariant[];
}

export interface QatRow {
  seed: number;
  variant: string;
  accuracy: number;
  /** Accuracy of the seed's control minus this one, in points. */
  dropPts: number;
  seconds: number;
}

export interface QatBase {
  seed: number;
  steps: number;
  fp32Accuracy: number;
  seconds: number;
}

async function runVariant(
  model: tf.LayersModel,
  data: ClassificationData,
  v: QatVariant,
  seed: number,
  o: QatSectionOptions,
): Promise<tf.LayersModel> {
  const ft = { steps: o.qatSteps, batchSize: o.batch, learningRate: o.learningRate, seed };
  if (v.kind === 'control') {
    const c = copyModel(model);
    finetuneQat(c, data, ft);
    return c;
  }
  const bits = v.bits as number;
  if (v.kind === 'ptq') {
    const r = await compress(
      model,
      { version: 1, steps: [{ method: 'adaquant', options: { bits, steps: o.adaquantSteps } }] },
      { data, measure: false, seed },
    );
    return r.model;
  }
  const p = await prepareQat(model, { bits, ...(v.activations && { activations: v.activations }) });
  try {
    finetuneQat(p.model, data, ft);
    return convertQat(p.model).model;
  } finally {
    p.model.dispose();
  }
}

/** Rows of every variant for every seed; the first variant must be the control. */
export async function qatRows(
  data: ClassificationData,
  o: QatSectionOptions,
): Promise<{ rows: QatRow[]; bases: QatBase[] }> {
  if (o.variants[0]?.kind !== 'control')
    throw new Error('qatRows: the first variant is the control');
  const testXs = tf.tensor(data.test.x, [data.test.count, ...data.sampleShape]);
  const acc = (m: tf.LayersModel) => accuracyOf(predictAll(m, testXs), data.test.y);
  const rows: QatRow[] = [];
  const bases: QatBase[] = [];
  for (const seed of o.seeds) {
    const t0 = performance.now();
    const model = buildModel('cnn', { inputShape: data.sampleShape, numClasses: 10, seed });
    const trained = await train(model, data, {
      epochs: 1,
      batchSize: o.batch,
      learningRate: 1e-3,
      seed,
      measureMemory: false,
    });
    const base = {
      seed,
      steps: trained.steps,
      fp32Accuracy: acc(model),
      seconds: (performance.now() - t0) / 1000,
    };
    bases.push(base);
    console.log(
      `seed ${seed}: zoo CNN trained ${base.steps} steps, ${(base.fp32Accuracy * 100).toFixed(2)}%`,
    );
    let control = Number.NaN;
    for (const v of o.variants) {
      const s0 = performance.now();
      const m = await runVariant(model, data, v, seed, o);
      const seconds = (performance.now() - s0) / 1000;
      const accuracy = acc(m);
      m.dispose();
      if (v.kind === 'control') control = accuracy;
      const row = {
        seed,
        variant: v.variant,
        accuracy,
        dropPts: (control - accuracy) * 100,
        seconds,
      };
      rows.push(row);
      console.log(
        `seed ${seed} ${v.variant}: ${(accuracy * 100).toFixed(2)}% (drop ${row.dropPts.toFixed(2)} pt) in ${seconds.toFixed(1)} s`,
      );
    }
    model.dispose();
  }
  testXs.dispose();
  return { rows, bases };
}

/** Mean over seeds of a variant's drop against its seed's control, in points. */
export function meanQatDrop(rows: QatRow[], variant: string): number {
  const rs = rows.filter((r) => r.variant === variant);
  return rs.reduce((s, r) => s + r.dropPts, 0) / rs.length;
}
