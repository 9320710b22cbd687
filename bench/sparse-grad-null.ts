// `npx tsx bench/sparse-grad-null.ts`: the noise floor of the sparse-grad bench's paired ResNet
// comparison (issue 13). The bench pairs dense and each mask by seed (same initial weights, same
// batch order), which removes the seed-to-seed spread only while the two runs stay close. Here the
// "method" is dense training itself with another batch order (shuffle seed + 100): a change that
// costs nothing on average, so its paired "drop" over the bench's seeds (0-2, the bench's own
// schedule, model and data: bench/lib/sparse-resnet.ts) is what a harmless perturbation of the
// trajectory gives. Dense and reshuffled interleaved seed by seed. The same for the bench's CNN
// (zoo CNN [8, 16], dense 32, 80 steps on 5,120 digits, seeds 0-2; bench/sparse-grad.ts part 4).
import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildCnn } from '../src/models/cnn.js';
import { buildResnet } from '../src/models/resnet.js';
import { train } from '../src/train/loop.js';
import { pairedSummary } from './lib/paired.js';
import { writeResults } from './lib/results.js';
import { SPARSE_CNN } from './lib/sparse-cnn.js';
import {
  pooled2x2,
  RESNET_BN_MOMENTUM,
  RESNET_WIDTHS,
  resnetSchedule,
} from './lib/sparse-resnet.js';

const engine = await initEngine({ backend: 'wasm', seed: 0 });
useFastKernels();
const s = resnetSchedule();
const resnetData = pooled2x2(
  loadMnist({ trainCount: s.train, testCount: s.test, seed: 1, layout: 'image' }),
);
const cnnData = loadMnist({ trainCount: 5120, testCount: s.test, seed: 1, layout: 'image' });
const models: {
  name: string;
  data: ClassificationData;
  epochs: number;
  learningRate?: number;
  build: (seed: number) => tf.LayersModel;
}[] = [
  {
    name: 'resnet',
    data: resnetData,
    epochs: s.epochs,
    learningRate: s.learningRate,
    build: (seed) =>
      buildResnet({
        inputShape: resnetData.sampleShape,
        numClasses: resnetData.numClasses,
        widths: RESNET_WIDTHS,
        batchNormMomentum: RESNET_BN_MOMENTUM,
        seed,
      }),
  },
  {
    name: 'cnn',
    data: cnnData,
    epochs: 1,
    build: (seed) =>
      buildCnn({
        inputShape: cnnData.sampleShape,
        numClasses: cnnData.numClasses,
        ...SPARSE_CNN,
        seed,
      }),
  },
];
const t0 = performance.now();
const headline: Record<string, number | string> = {};
const sections: Record<string, unknown> = {};
for (const m of models) {
  const runs: { seed: number; order: number; accuracy: number }[] = [];
  for (const seed of s.seeds)
    for (const order of [seed, seed + 100]) {
      const model = m.build(seed);
      const r = await train(model, m.data, {
        epochs: m.epochs,
        batchSize: s.batch,
        seed: order,
        ...(m.learningRate ? { learningRate: m.learningRate } : {}),
        measureMemory: false,
      });
      model.dispose();
      runs.push({ seed, order, accuracy: r.testAccuracy });
      console.log(`${m.name} seed ${seed} order ${order}: ${(100 * r.testAccuracy).toFixed(2)}%`);
    }
  const drops = s.seeds.map((seed) => {
    const [a, b] = runs.filter((r) => r.seed === seed);
    return 100 * (a.accuracy - b.accuracy);
  });
  const p = pairedSummary(drops);
  const rms = Math.sqrt(drops.reduce((q, d) => q + d * d, 0) / drops.length);
  console.log(
    `${m.name} null drops ${drops.map((d) => d.toFixed(2)).join(', ')}: mean ${p.mean.toFixed(2)}, se ${p.se.toFixed(2)}, rms ${rms.toFixed(2)}`,
  );
  headline[`${m.name}NullDropPts`] = p.mean;
  headline[`${m.name}NullDropSe`] = p.se;
  headline[`${m.name}NullDropRmsPts`] = rms;
  headline[`${m.name}DenseAcc`] =
    runs.filter((r) => r.order === r.seed).reduce((q, r) => q + r.accuracy, 0) / s.seeds.length;
  sections[m.name] = {
    steps: m.epochs * Math.floor(m.data.train.count / s.batch),
    drops,
    paired: p,
    runs,
  };
}
headline.method = `dense against dense with another batch order (shuffle seed + 100), same initial weights, seeds ${s.seeds.join(', ')}, ${s.test} test digits; resnet: the sparse-grad bench's ResNet schedule (${s.epochs} epochs of ${s.train}, batch ${s.batch}, Adam ${s.learningRate}); cnn: the bench's CNN (1 epoch of 5120, batch ${s.batch}, the loop's default learning rate); rms: root mean square of the paired drops (their spread about the true 0)`;
const path = writeResults('sparse-grad-null', {
  headline,
  backend: engine.backend,
  ...sections,
  seconds: (performance.now() - t0) / 1000,
});
console.log(`wrote ${path}`);
