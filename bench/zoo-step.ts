// Step time and memory of each zoo model on the stock cpu and wasm backends, one run.
// Usage: npm run bench:zoo-step [-- --batch 64 --steps 3 --slow-batch 4]
import { initEngine } from '../src/engine/backend.js';
import { buildModel, ZOO_LAYOUT, ZOO_MODELS, type ZooModelName } from '../src/models/zoo.js';
import { fixed, mb } from '../src/report/format.js';
import type { StepMemory } from '../src/report/memory-meter.js';
import { benchmarkStep } from '../src/train/benchmark-step.js';
import { numberArg, printTable, writeResults } from './lib/index.js';

const batchSize = numberArg('batch', 64);
const steps = numberArg('steps', 3);
// Stock cpu convolution gradients run at about 0.01 GFLOP/s: conv models are timed there at a
// small batch and the per-sample time is scaled to the full batch (marked 'est.').
const slowBatch = numberArg('slow-batch', 4);

interface Row {
  model: ZooModelName;
  backend: string;
  batch: number;
  stepMs?: number;
  estimated: boolean;
  memory?: StepMemory;
  error?: string;
}

const rows: Row[] = [];
for (const backend of ['cpu', 'wasm']) {
  await initEngine({ backend });
  for (const name of ZOO_MODELS) {
    const conv = name === 'cnn' || name === 'resnet';
    const b = backend === 'cpu' && conv ? slowBatch : batchSize;
    const shape = ZOO_LAYOUT[name] === 'image' ? [28, 28, 1] : [28, 28];
    const model = buildModel(name, { inputShape: shape, numClasses: 10, seed: 1 });
    const row: Row = { model: name, backend, batch: b, estimated: b !== batchSize };
    try {
      const r = await benchmarkStep(model, { batchSize: b, steps, numClasses: 10 });
      row.stepMs = (r.stepMs * batchSize) / b;
      row.memory = r.memory;
    } catch (e) {
      row.error = (e as Error).message;
    }
    rows.push(row);
    model.dispose();
    process.stderr.write(
      `${name} on ${backend}: ${row.error ?? `${fixed(row.stepMs ?? Number.NaN)} ms`}\n`,
    );
  }
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
// Step times of the models that ran (stock wasm has no conv gradient: those rows fail).
const headline: Record<string, number> = {};
for (const r of rows)
  if (r.stepMs !== undefined)
    headline[`${r.model}${r.backend === 'cpu' ? 'Cpu' : 'Wasm'}StepMs`] = r.stepMs;
headline.failedRuns = rows.filter((r) => r.error !== undefined).length;
writeResults('zoo-step', { headline, batchSize, steps, rows });
