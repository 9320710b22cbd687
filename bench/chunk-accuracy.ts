// Does the forward chunk change what 2-bit activations cost in accuracy? The zoo CNN trained for
// one epoch of 1600 MNIST digits (50 steps of 32, adam 0.002, as bench:act-memory's accuracy
// rows) at fp32 (L0) and 2-bit (L3), each with the forward in chunks of 14 samples (the old auto
// chunk) and of 4 (today's), over paired seeds. Headline: mean paired differences in points with
// their standard errors.
// Options: --seeds 3,5,6,7,8,9,10,11 --old-chunk 14 --new-chunk 4
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { compressedCnnAccuracy } from './lib/compressed-accuracy.js';
import { argValue, mean, numberArg, printTable, writeResults } from './lib/index.js';
import { pairedSummary } from './lib/paired.js';

await initEngine({ backend: 'wasm', seed: 0 });
const seeds = argValue('seeds', '3,5,6,7,8,9,10,11').split(',').map(Number);
if (seeds.length < 2 || seeds.some((s) => !Number.isInteger(s)))
  throw new Error(`--seeds must be two or more integers, got '${seeds.join(',')}'`);
const oldChunk = numberArg('old-chunk', 14);
const newChunk = numberArg('new-chunk', 4);
const data = loadMnist({ trainCount: 1600, testCount: 3000, seed: 1, layout: 'image' });
const schedule = { epochs: 1, batchSize: 32, learningRate: 0.002, measureMemory: false };
const arms = [
  { name: `fp32 chunks of ${oldChunk}`, level: 'L0', forwardChunk: oldChunk },
  { name: `fp32 chunks of ${newChunk}`, level: 'L0', forwardChunk: newChunk },
  { name: `2-bit chunks of ${oldChunk}`, level: 'L3', forwardChunk: oldChunk },
  { name: `2-bit chunks of ${newChunk}`, level: 'L3', forwardChunk: newChunk },
] as const;
const acc: number[][] = arms.map(() => []);
for (const seed of seeds)
  for (const [i, arm] of arms.entries()) {
    const config = { level: arm.level, forwardChunk: arm.forwardChunk, seed };
    const accuracy = await compressedCnnAccuracy(data, config, schedule, seed);
    acc[i].push(accuracy);
    console.log(`seed ${seed} ${arm.name}: ${(100 * accuracy).toFixed(2)}%`);
  }
/** Summary (mean, SE, ...) of the paired difference arm a - arm b over the seeds, in points. */
const paired = (a: number, b: number) => pairedSummary(acc[a].map((v, k) => 100 * (v - acc[b][k])));
const oldDrop = paired(2, 0);
const newDrop = paired(3, 1);
const twoBitShift = paired(3, 2);
printTable(
  'MNIST test accuracy after 50 steps',
  ['arm', 'mean test accuracy'],
  arms.map((a, i) => [a.name, `${(100 * mean(acc[i])).toFixed(2)}%`]),
);
const headline = {
  twoBitMinusFp32PtsOldChunk: oldDrop.mean,
  twoBitMinusFp32SePtsOldChunk: oldDrop.se,
  twoBitMinusFp32PtsNewChunk: newDrop.mean,
  twoBitMinusFp32SePtsNewChunk: newDrop.se,
  twoBitNewMinusOldChunkPts: twoBitShift.mean,
  twoBitNewMinusOldChunkSePts: twoBitShift.se,
  seeds: seeds.length,
};
console.log(headline);
const path = writeResults('chunk-accuracy', {
  headline,
  note: `zoo CNN, 1600 MNIST digits, 1 epoch of batch 32 (50 steps), adam 0.002, test on 3000; arms paired by seed (${seeds.join(', ')}); differences are 2-bit minus fp32 (or new chunk minus old) in points, mean and standard error over the seeds.`,
  arms: arms.map((a, i) => ({ ...a, testAccuracies: acc[i] })),
});
console.log(`wrote ${path}`);
