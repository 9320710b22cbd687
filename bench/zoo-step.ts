// Step time and memory of each zoo model on the stock cpu and wasm backends, one run: for each
// model the two backends take turns in interleaved rounds (rotating order), medians over rounds.
// Usage: npm run bench:zoo-step [-- --batch 64 --steps 2 --rounds 2 --slow-batch 4 --models mlp,cnn]
import { initEngine } from '../src/engine/backend.js';
import { buildModel, ZOO_MODELS, type ZooModelName } from '../src/models/zoo.js';
import { fixed, mb } from '../src/report/format.js';
import type { StepMemory } from '../src/report/memory-meter.js';
import { benchmarkStep } from '../src/train/benchmark-step.js';
import { median, numberArg, printTable, writeResults } from './lib/index.js';
import { mnistShape, zooModelsArg } from './lib/zoo.js';

const batchSize = numberArg('batch', 64);
/** Timed steps per round (after benchmarkStep's warm-up and memory-measured steps). */
const steps = numberArg('steps', 2);
const rounds = numberArg('rounds', 2);
// Stock cpu convolution gradients run at about 0.01 GFLOP/s: conv models are timed there at a
// small batch and the per-sample time is scaled to the full batch (marked 'est.').
const slowBatch = numberArg('slow-batch', 4);
const CONV_MODELS: readonly ZooModelName[] = ['cnn', 'resnet', 'odenet', 'vit'];
const BACKENDS = ['cpu', 'wasm'] as const;
const models = zooModelsArg();

interface Row {
  model: ZooModelName;
  backend: string;
  batch: number;
  /** Median over the rounds of the round's mean step ms, scaled to `batchSize`. */
  stepMs?: number;
  roundStepMs: number[];
  estimated: boolean;
  memory?: StepMemory;
  error?: string;
}

const rows: Row[] = [];
for (const name of models) {
  const shape = mnistShape(name);
  const mine: Row[] = BACKENDS.map((backend) => {
    const b = backend === 'cpu' && CONV_MODELS.includes(name) ? slowBatch : batchSize;
    return { model: name, backend, batch: b, estimated: b !== batchSize, roundStepMs: [] };
  });
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < mine.length; k++) {
      const row = mine[(k + r) % mine.length];
      if (row.error !== undefined) continue;
      await initEngine({ backend: row.backend });
      const model = buildModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
      try {
        const res = await benchmarkStep(model, { batchSize: row.batch, steps, numClasses: 10 });
        row.roundStepMs.push((res.stepMs * batchSize) / row.batch);
        row.memory ??= res.memory;
      } catch (e) {
        row.error = (e as Error).message;
      } finally {
        model.dispose();
      }
      process.stderr.write(
        `${name} on ${row.backend}, round ${r + 1}/${rounds}: ${row.error ?? `${fixed(row.roundStepMs[r])} ms`}\n`,
      );
    }
  for (const row of mine) if (row.roundStepMs.length > 0) row.stepMs = median(row.roundStepMs);
  rows.push(...mine);
}

printTable(
  `Training step (Adam) at batch ${batchSize}, stock tfjs kernels, MNIST-shaped inputs`,
  ['model', 'backend', 'step ms', 'samples/s', 'measured at batch', 'saved act MB', 'peak MB'],
  rows.map((r) => [
    r.model,
    r.backend,
    r.error
      ? `fails: ${r.error.slice(0, 60)}`
      : `${fixed(r.stepMs ?? Number.NaN)}${r.estimated ? ' (est.)' : ''}`,
    r.stepMs ? fixed((batchSize / r.stepMs) * 1000, r.stepMs > 1000 ? 2 : 0) : 'n/a',
    r.batch,
    r.memory ? mb(r.memory.savedActivationBytes) : 'n/a',
    r.memory ? mb(r.memory.peakBytes) : 'n/a',
  ]),
);
console.log('Memory columns are at the measured batch.');
const row = (model: ZooModelName, backend: string) =>
  rows.find((r) => r.model === model && r.backend === backend);
/** cpu ms / wasm ms of a model (stock kernels, same rounds): 2 = wasm trains it 2x faster. */
const wasmOverCpu = (model: ZooModelName) => {
  const cpu = row(model, 'cpu')?.stepMs;
  const wasm = row(model, 'wasm')?.stepMs;
  return cpu !== undefined && wasm !== undefined ? cpu / wasm : Number.NaN;
};
writeResults('zoo-step', {
  headline: {
    mlpWasmOverCpu: wasmOverCpu('mlp'),
    transformerWasmOverCpu: wasmOverCpu('transformer'),
    cnnCpuStepMs: row('cnn', 'cpu')?.stepMs ?? Number.NaN,
    // Models stock wasm cannot train (no Conv2DBackpropFilter kernel): frugal's fast kernels can.
    stockWasmFailures: rows.filter((r) => r.backend === 'wasm' && r.error !== undefined).length,
  },
  command: `npm run bench:zoo-step -- --batch ${batchSize} --steps ${steps} --rounds ${rounds} --slow-batch ${slowBatch}${models.length === ZOO_MODELS.length ? '' : ` --models ${models.join(',')}`}`,
  batchSize,
  steps,
  rounds,
  rows,
});
