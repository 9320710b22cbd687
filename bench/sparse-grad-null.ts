// `npx tsx bench/sparse-grad-null.ts`: the noise floor of the sparse-grad bench's paired ResNet
// comparison (issue 13). The bench pairs dense and each mask by seed (same initial weights, same
// batch order), which removes the seed-to-seed spread only while the two runs stay close. Here the
// "method" is dense training itself with another batch order (shuffle seed + 100): a change that
// costs nothing on average, so its paired "drop" over the bench's seeds (0-2, the bench's own
// schedule, model and data: bench/lib/sparse-resnet.ts) is what a harmless perturbation of the
// trajectory gives. Dense and reshuffled interleaved seed by seed.
import type * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildResnet } from '../src/models/resnet.js';
import { train } from '../src/train/loop.js';
import { pairedSummary } from './lib/paired.js';
import { writeResults } from './lib/results.js';
import {
  pooled2x2,
  RESNET_BN_MOMENTUM,
  RESNET_WIDTHS,
  resnetSchedule,
} from './lib/sparse-resnet.js';

const engine = await initEngine({ backend: 'wasm', seed: 0 });
useFastKernels();
const s = resnetSchedule();
const data = pooled2x2(
  loadMnist({ trainCount: s.train, testCount: s.test, seed: 1, layout: 'image' }),
);
const t0 = performance.now();
const runs: { seed: number; order: number; accuracy: number }[] = [];
for (const seed of s.seeds)
  for (const order of [seed, seed + 100]) {
    const model: tf.LayersModel = buildResnet({
      inputShape: data.sampleShape,
      numClasses: data.numClasses,
      widths: RESNET_WIDTHS,
      batchNormMomentum: RESNET_BN_MOMENTUM,
      seed,
    });
    const r = await train(model, data, {
      epochs: s.epochs,
      batchSize: s.batch,
      seed: order,
      learningRate: s.learningRate,
      measureMemory: false,
    });
    model.dispose();
    runs.push({ seed, order, accuracy: r.testAccuracy });
    console.log(`seed ${seed} order ${order}: ${(100 * r.testAccuracy).toFixed(2)}%`);
  }
const drops = s.seeds.map((seed) => {
  const [a, b] = runs.filter((r) => r.seed === seed);
  return 100 * (a.accuracy - b.accuracy);
});
const p = pairedSummary(drops);
const sdPts = Math.sqrt(drops.reduce((q, d) => q + d * d, 0) / drops.length);
console.log(
  `null drops ${drops.map((d) => d.toFixed(2)).join(', ')}: mean ${p.mean.toFixed(2)}, se ${p.se.toFixed(2)}, rms ${sdPts.toFixed(2)}`,
);
const path = writeResults('sparse-grad-null', {
  headline: {
    resnetNullDropPts: p.mean,
    resnetNullDropSe: p.se,
    resnetNullDropRmsPts: sdPts,
    resnetDenseAcc:
      runs.filter((r) => r.order === r.seed).reduce((q, r) => q + r.accuracy, 0) / s.seeds.length,
    method: `dense against dense with another batch order (shuffle seed + 100), same initial weights, the sparse-grad bench's ResNet schedule (${s.epochs} epochs of ${s.train}, batch ${s.batch}, Adam ${s.learningRate}), seeds ${s.seeds.join(', ')}; rms: root mean square of the paired drops (their spread about the true 0)`,
  },
  backend: engine.backend,
  drops,
  paired: p,
  runs,
  seconds: (performance.now() - t0) / 1000,
});
console.log(`wrote ${path}`);
