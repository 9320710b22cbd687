import type { RmmKind } from '../../activation/backward/rmm.js';
import type { ActivationBits } from '../../activation/codec/bits.js';
import type { FewbitBits } from '../../activation/codec/fewbit-table.js';
import type { ActLevel } from '../../activation/config.js';
import { activationReport, type LayerActivationReport } from '../../activation/report.js';
import { compressForTraining } from '../../activation/training.js';
import { gatherBatch } from '../../data/dataset.js';
import { loadDataset } from '../../data/load.js';
import { initEngine } from '../../engine/backend.js';
import { writeJsonAtomic } from '../../io/atomic-write.js';
import { buildModel, isZooModel, ZOO_LAYOUT, ZOO_MODELS } from '../../models/zoo.js';
import { fixed, ratio } from '../../report/format.js';
import { progressWanted, taskLines } from '../progress-bar.js';
import { renderTable } from '../table.js';
import { actConfigFromOptions } from './train.js';

export interface ActReportOptions {
  model: string;
  dataset: string;
  batch: number;
  seeds: number;
  backend: string;
  seed: number;
  out?: string;
  actLevel?: ActLevel;
  actBits?: ActivationBits;
  fewbit?: FewbitBits;
  rmm?: number;
  rmmKind?: RmmKind;
  perSampleBits?: boolean;
  /** A progress line on stderr when it is a terminal (default on). */
  progress?: boolean;
}

/** `frugal act-report`: per-layer saved bytes and gradient error of compressed activations. */
export async function actReportCommand(o: ActReportOptions): Promise<LayerActivationReport[]> {
  if (!isZooModel(o.model))
    throw new Error(`Unknown model '${o.model}': choose one of ${ZOO_MODELS.join(', ')}`);
  const engine = await initEngine({ backend: o.backend, seed: o.seed });
  const data = loadDataset(o.dataset, {
    layout: ZOO_LAYOUT[o.model],
    trainCount: Math.max(o.batch, 100),
    testCount: 10,
    seed: o.seed,
  });
  const base = buildModel(o.model, {
    inputShape: data.sampleShape,
    numClasses: data.numClasses,
    seed: o.seed,
  });
  const config = actConfigFromOptions({
    ...o,
    epochs: 1,
    lr: 1,
    optimizer: 'adam',
    maxSteps: 0,
    progress: false,
  }) ?? {
    level: 'L3' as const,
  };
  const act = await compressForTraining(base, { ...config, mixed: null }, data);
  base.dispose();
  const rows = Int32Array.from({ length: o.batch }, (_, i) => i);
  const batch = gatherBatch(data.train, data.sampleShape, data.numClasses, rows, 0, o.batch);
  const tasks = taskLines(progressWanted(o.progress));
  let report: LayerActivationReport[];
  try {
    report = activationReport(act.model, act.forward, batch, {
      seeds: o.seeds,
      onProgress: tasks.onProgress,
    });
  } finally {
    tasks.stop();
    batch.xs.dispose();
    batch.ys.dispose();
  }
  act.model.dispose();
  console.log(
    renderTable(
      [
        'layer',
        'class',
        'bits',
        'saved KB',
        'float32 KB',
        'x smaller',
        'grad rel err',
        'grad rel var',
      ],
      report.map((r) => [
        r.name,
        r.className.replace('Frugal', ''),
        r.actBits,
        fixed(r.savedBytes / 1024),
        fixed(r.exactBytes / 1024),
        r.savedBytes > 0 ? ratio(r.exactBytes / r.savedBytes) : 'n/a',
        r.gradRelError === null ? '-' : r.gradRelError.toExponential(2),
        r.gradRelVariance === null ? '-' : r.gradRelVariance.toExponential(2),
      ]),
    ),
  );
  for (const u of act.unconverted)
    console.log(`not converted: ${u.name} (${u.className}): ${u.reason}`);
  if (o.out) {
    writeJsonAtomic(o.out, {
      tool: 'frugal act-report',
      backend: engine.backend,
      model: o.model,
      batch: o.batch,
      config,
      layers: report,
      unconverted: act.unconverted,
    });
    console.log(`report written to ${o.out}`);
  }
  return report;
}
