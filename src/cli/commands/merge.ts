// `frugal merge a b --out m`: FS-Merge of two models of one architecture (src/lowrank/fs-merge.ts)
// on unlabelled training samples of --dataset; writes the merged model (model.json, weights.bin,
// report.json) to --out, atomically, after checking --out like every model output.
import type * as tf from '@tensorflow/tfjs';
import { loadDataset } from '../../data/load.js';
import { initEngine } from '../../engine/backend.js';
import { loadModel, modelFiles, writeModelDir } from '../../io/model-files.js';
import { checkModelDir } from '../../io/output-paths.js';
import { useFastKernels } from '../../kernels/index.js';
import { checkFsMergeOptions, fsMerge } from '../../lowrank/fs-merge.js';

export interface MergeCommandOptions {
  out: string;
  overwrite?: boolean;
  dataset?: string;
  backend: string;
  seed: number;
  /** Unlabelled training samples to merge on (default 400). */
  samples?: number;
  init?: string;
  heads?: string;
  rank?: number;
  steps?: number;
}

export async function mergeCommand(
  first: string,
  second: string,
  o: MergeCommandOptions,
): Promise<unknown> {
  if (!o.out) throw new Error('frugal merge: give --out <dir> for the merged model');
  if (!o.dataset) throw new Error('frugal merge learns the merge: give --dataset (e.g. mnist)');
  const options = checkFsMergeOptions({
    init: o.init,
    heads: o.heads,
    rank: o.rank,
    steps: o.steps,
    seed: o.seed,
  });
  checkModelDir(o.out, {
    overwrite: o.overwrite,
    label: '--out',
    overwriteHint: 'pass --overwrite',
  });
  const engine = await initEngine({ backend: o.backend, seed: o.seed });
  useFastKernels();
  const load = async (p: string) => {
    try {
      return await loadModel(p);
    } catch (e) {
      throw new Error(`cannot load model ${p}: ${(e as Error).message}`);
    }
  };
  const a = await load(first);
  const b = await load(second);
  let merged: tf.LayersModel | undefined;
  try {
    const shape = a.inputs[0].shape.slice(1) as number[];
    const count = o.samples ?? 400;
    const data = loadDataset(o.dataset, {
      layout: shape.length === 3 ? 'image' : 'sequence',
      trainCount: count,
      testCount: 1,
      seed: o.seed,
    });
    if (data.sampleShape.join() !== shape.join())
      throw new Error(
        `dataset ${o.dataset} has samples [${data.sampleShape}] but the models expect [${shape}]`,
      );
    const tfjs = await import('@tensorflow/tfjs');
    const samples = tfjs.tensor(data.train.x, [data.train.count, ...shape]);
    let r: ReturnType<typeof fsMerge>;
    try {
      r = fsMerge(a, b, samples, options);
    } finally {
      samples.dispose();
    }
    merged = r.model;
    const report = {
      tool: 'frugal merge',
      inputs: [first, second],
      backend: engine.backend,
      dataset: data.name,
      samples: data.train.count,
      ...options,
      ranks: r.ranks,
      terms: r.terms,
      lossFirst: r.losses[0] ?? null,
      lossLast: r.losses[r.losses.length - 1] ?? null,
    };
    const files = await modelFiles(merged);
    writeModelDir(
      o.out,
      [...files, { name: 'report.json', data: `${JSON.stringify(report, null, 2)}\n` }],
      { overwrite: o.overwrite, label: '--out' },
    );
    console.log(
      `merged ${first} + ${second} -> ${o.out} (${options.init} init, ${options.steps} steps, reconstruction loss ${report.lossFirst?.toFixed(4) ?? '-'} -> ${report.lossLast?.toFixed(4) ?? '-'})`,
    );
    return report;
  } finally {
    merged?.dispose();
    a.dispose();
    b.dispose();
  }
}
