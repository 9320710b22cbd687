// `frugal compress --method plrd`: the PLRD family of a trained model (src/lowrank/plrd.ts),
// each member fine-tuned by distillation from the input model and written to its own directory
// --out/plrd-<percent>/ (model.json, weights.bin, report.json), with --out/plrd.json listing all.
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../../data/dataset.js';
import { loadDataset } from '../../data/load.js';
import { initEngine } from '../../engine/backend.js';
import { writeFilesAtomic } from '../../io/atomic-write.js';
import { loadModel, modelFiles, writeModelDir } from '../../io/model-files.js';
import { checkModelDir } from '../../io/output-paths.js';
import { useFastKernels } from '../../kernels/index.js';
import { plrd } from '../../lowrank/plrd.js';
import { evaluate } from '../../train/evaluate.js';
import type { ModelRewriteOptions } from './compress.js';

export interface PlrdCommandOptions extends ModelRewriteOptions {
  /** Comma-separated parameter fractions, e.g. '0.75,0.5,0.25'. */
  fractions?: string;
}

export function parseFractions(s: string | undefined): number[] {
  if (s === undefined) return [0.75, 0.5, 0.25];
  const parts = s.split(',').map((p) => p.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((f) => !Number.isFinite(f)))
    throw new Error(`--fractions must be comma-separated numbers in (0, 1), got '${s}'`);
  return out;
}

/** Member directory name: plrd-75 for 0.75. */
export function memberDir(fraction: number): string {
  return `plrd-${Math.round(fraction * 1000) / 10}`;
}

export async function plrdCompressCommand(input: string, o: PlrdCommandOptions): Promise<unknown> {
  if (!o.dataset)
    throw new Error('--method plrd fine-tunes every member: give --dataset (e.g. mnist)');
  const fractions = parseFractions(o.fractions);
  const dirs = fractions.map((f) => join(o.out, memberDir(f)));
  for (const d of [o.out, ...dirs])
    checkModelDir(d, { overwrite: o.overwrite, label: '--out', overwriteHint: 'pass --overwrite' });
  const engine = await initEngine({ backend: o.backend, seed: o.seed });
  useFastKernels();
  let model: tf.LayersModel;
  try {
    model = await loadModel(input);
  } catch (e) {
    throw new Error(`cannot load model ${input}: ${(e as Error).message}`);
  }
  const shape = model.inputs[0].shape.slice(1);
  const data: ClassificationData = loadDataset(o.dataset, {
    layout: shape.length === 3 ? 'image' : 'sequence',
    trainCount: o.trainCount,
    testCount: o.testCount,
    seed: o.seed,
  });
  if (data.sampleShape.join() !== shape.join())
    throw new Error(
      `dataset ${o.dataset} has samples [${data.sampleShape}] but the model expects [${shape}]`,
    );
  const before = evaluate(model, data).accuracy;
  const family = plrd(model, data, { fractions, fineTune: { seed: o.seed, batchSize: 32 } });
  try {
    // build every member's files before writing any, so a failure leaves nothing half-written
    const outputs = [];
    for (const [i, m] of family.entries()) {
      const accuracy = evaluate(m.model, data).accuracy;
      const report = {
        tool: 'frugal compress --method plrd',
        input,
        backend: engine.backend,
        dataset: data.name,
        fraction: m.fraction,
        ranks: m.ranks,
        params: m.params,
        paramsFraction: m.paramsFraction,
        accuracyBefore: before,
        accuracy,
        fineTuneSteps: m.losses.length,
      };
      const files = await modelFiles(m.model);
      outputs.push({ dir: dirs[i], report, files });
    }
    for (const { dir, report, files } of outputs)
      writeModelDir(
        dir,
        [...files, { name: 'report.json', data: `${JSON.stringify(report, null, 2)}\n` }],
        {
          overwrite: o.overwrite,
          label: '--out',
        },
      );
    const summary = {
      tool: 'frugal compress --method plrd',
      input,
      params: model.countParams(),
      accuracy: before,
      members: outputs.map(({ dir, report }) => ({ dir, ...report })),
    };
    writeFilesAtomic(o.out, [{ name: 'plrd.json', data: `${JSON.stringify(summary, null, 2)}\n` }]);
    console.log(`original: ${model.countParams()} params, accuracy ${(before * 100).toFixed(2)}%`);
    for (const m of summary.members)
      console.log(
        `${m.dir}: ${m.params} params (${(m.paramsFraction * 100).toFixed(1)}%), accuracy ${(m.accuracy * 100).toFixed(2)}%`,
      );
    return summary;
  } finally {
    for (const m of family) m.model.dispose();
    model.dispose();
  }
}
