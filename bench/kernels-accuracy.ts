// MNIST test accuracy of a CNN trained with frugal's fast kernels vs tfjs's stock kernels, same
// seed, data and schedule. Stock cpu convolution gradients are so slow (~0.01 GFLOP/s for the
// filter gradient) that the comparison uses a narrower zoo CNN (conv 4-8, dense 32) and a short
// schedule (20 steps); the full zoo CNN is trained with fast kernels on wasm for reference.
// Run: npm run bench:kernels-accuracy   (writes bench/results/kernels-accuracy.json)
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels, useStockKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { fixed, pct } from '../src/report/format.js';
import { train } from '../src/train/loop.js';
import { printTable, writeResults } from './lib/index.js';

const SCHEDULE = { epochs: 1, batchSize: 32, learningRate: 2e-3, seed: 1 };
const SMALL = { filters: [4, 8] as [number, number], dense: 32 };

interface Run {
  model: string;
  backend: string;
  kernels: 'fast' | 'stock';
  trainCount: number;
  testAccuracy: number;
  seconds: number;
}

async function run(
  backend: string,
  kernels: 'fast' | 'stock',
  trainCount: number,
  small: boolean,
): Promise<Run> {
  await initEngine({ backend });
  if (kernels === 'fast') useFastKernels();
  else useStockKernels();
  const data = loadMnist({ trainCount, testCount: 1000, seed: 1 });
  const model = buildModel('cnn', {
    inputShape: data.sampleShape,
    numClasses: 10,
    seed: 1,
    ...(small ? SMALL : {}),
  });
  const start = performance.now();
  try {
    const r = await train(model, data, SCHEDULE);
    return {
      model: small ? 'cnn (conv 4-8, dense 32)' : 'cnn (zoo)',
      backend,
      kernels,
      trainCount,
      testAccuracy: r.testAccuracy,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    model.dispose();
    useStockKernels();
  }
}

async function main(): Promise<void> {
  const runs = [
    await run('cpu', 'stock', 640, true),
    await run('cpu', 'fast', 640, true),
    await run('wasm', 'fast', 640, true),
    await run('wasm', 'fast', 4000, false),
  ];
  const delta = (a: Run, b: Run) => `${fixed(100 * (a.testAccuracy - b.testAccuracy), 2)} pts`;
  printTable(
    `Same seed, data and schedule (1 epoch, batch ${SCHEDULE.batchSize}, Adam ${SCHEDULE.learningRate}), 1000 MNIST test digits`,
    ['model', 'train samples', 'backend', 'kernels', 'test acc', 'vs first row of its model', 's'],
    runs.map((r) => {
      const ref = runs.find((q) => q.model === r.model && q.trainCount === r.trainCount)!;
      return [
        r.model,
        r.trainCount,
        r.backend,
        r.kernels,
        pct(r.testAccuracy),
        r === ref ? '' : delta(r, ref),
        fixed(r.seconds, 0),
      ];
    }),
  );
  const [cpuStock, cpuFast, wasmFast, zoo] = runs;
  const out = writeResults('kernels-accuracy', {
    headline: {
      // Accuracies as fractions; drops in points (stock minus fast: positive = fast is worse).
      smallCnnStockCpuAccuracy: cpuStock.testAccuracy,
      smallCnnFastCpuAccuracy: cpuFast.testAccuracy,
      fastCpuAccuracyDropPts: 100 * (cpuStock.testAccuracy - cpuFast.testAccuracy),
      fastWasmAccuracyDropPts: 100 * (cpuStock.testAccuracy - wasmFast.testAccuracy),
      zooCnnFastWasmAccuracy: zoo.testAccuracy,
    },
    schedule: SCHEDULE,
    runs,
  });
  console.log(`written to ${out}`);
}

main();
