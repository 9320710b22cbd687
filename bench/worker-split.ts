// Would splitting a batch across worker threads speed up training here? Measures the zoo CNN's
// training throughput on wasm (fast kernels) with one thread at batch 64 against two worker
// threads at batch 32 each, running at the same time. That is the ceiling of data-parallel
// training before any gradient exchange, so a split is only worth building if it wins clearly.
// Run: npm run bench:worker-split   (writes bench/results/worker-split.json)
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { renderTable } from '../src/cli/table.js';
import { initEngine } from '../src/engine/backend.js';
import { writeJsonAtomic } from '../src/io/atomic-write.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { fixed, ratio } from '../src/report/format.js';
import { trainStep } from '../src/train/step.js';

const here = dirname(fileURLToPath(import.meta.url));
const STEPS = 8;

/** Trains the CNN for STEPS steps at `batch`; returns the wall ms of the timed steps. */
async function steps(batch: number): Promise<number> {
  await initEngine({ backend: 'wasm' });
  useFastKernels();
  const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const xs = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const ys = tf.oneHot(tf.range(0, batch, 1, 'int32').mod(10).toInt(), 10).toFloat() as tf.Tensor2D;
  const b = { xs, ys, labels: new Int32Array(batch), size: batch };
  trainStep({ model, optimizer }, b);
  const start = performance.now();
  for (let i = 0; i < STEPS; i++) trainStep({ model, optimizer }, b);
  return performance.now() - start;
}

function inWorker(batch: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // tsx's loader hooks do not reach worker threads: register them first, then import this file.
    const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const w = new Worker(boot, { eval: true, workerData: { batch } });
    w.once('message', (ms: number) => {
      resolve(ms);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

async function main(): Promise<void> {
  const load = loadavg()[0];
  const single = await inWorker(64);
  const pair = await Promise.all([inWorker(32), inWorker(32)]);
  const one = (64 * STEPS * 1000) / single;
  const two = (2 * 32 * STEPS * 1000) / Math.max(...pair);
  console.log(
    `zoo CNN training throughput on wasm, ${STEPS} steps; ${availableParallelism()} cores, load average ${fixed(load, 1)} at start`,
  );
  console.log(
    renderTable(
      ['layout', 'samples/s', 'vs one thread'],
      [
        ['1 thread, batch 64', fixed(one, 0), '1.00x'],
        ['2 worker threads, batch 32 each (no gradient exchange)', fixed(two, 0), ratio(two / one)],
      ],
    ),
  );
  writeJsonAtomic(join(here, 'results', 'worker-split.json'), {
    bench: 'worker-split',
    date: new Date().toISOString(),
    cores: availableParallelism(),
    loadAverage: load,
    oneThreadSamplesPerSecond: one,
    twoWorkersSamplesPerSecond: two,
  });
}

if (isMainThread) main();
else {
  steps((workerData as { batch: number }).batch).then((ms) => parentPort?.postMessage(ms));
}
