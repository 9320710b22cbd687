// Complement objective training and OPT against plain training (issue 14), same run, same data,
// schedule and seeds: a zoo MLP (784-128-10) on 2,000 real MNIST digits, tested on 1,000.
// cotDeltaPts: COT (a complement-entropy step after every cross-entropy step, own Adam) minus
// plain, in accuracy points; optDeltaPts: OPT (stochastic variant on the 784-wide layer, block 64,
// fold every 50 steps; here both Dense layers are stochastic) minus plain. Mean over the seeds;
// the methods run in turn within each seed. Wall times are noisy (shared 2-core machine).
// Run: npm run bench:recipes-objectives   (writes bench/results/recipes-objectives.json)
import type * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { buildModel } from '../src/models/zoo.js';
import { cotHooks, optHooks, useOpt } from '../src/recipes/index.js';
import { train } from '../src/train/loop.js';
import { makeOptimizer } from '../src/train/optimizer.js';
import { writeResults } from './lib/index.js';

const SEEDS = [1, 2];
const CONFIG = { epochs: 3, batchSize: 64, learningRate: 1e-3, optimizer: 'adam' as const };

async function main() {
  await initEngine({ backend: 'cpu' });
  const data = loadMnist({ trainCount: 2000, testCount: 1000, seed: 1 });
  const mlp = (seed: number) =>
    buildModel('mlp', { inputShape: data.sampleShape, numClasses: 10, hidden: [128], seed });
  const rows: { seed: number; method: string; accuracy: number; seconds: number }[] = [];
  for (const seed of SEEDS) {
    for (const method of ['plain', 'cot', 'opt'] as const) {
      let model: tf.LayersModel = mlp(seed);
      let hooks: ReturnType<typeof cotHooks> | undefined;
      const cotOpt = method === 'cot' ? makeOptimizer('adam', CONFIG.learningRate) : undefined;
      if (method === 'cot') hooks = cotHooks({ optimizer: cotOpt });
      if (method === 'opt') {
        const r = useOpt(model, { variant: 'stochastic', block: 64, seed });
        model.dispose();
        model = r.model;
        hooks = optHooks(model, 50);
      }
      const t0 = performance.now();
      const r = await train(model, data, { ...CONFIG, seed }, { hooks });
      const seconds = (performance.now() - t0) / 1000;
      rows.push({ seed, method, accuracy: r.testAccuracy, seconds });
      console.log(
        `seed ${seed} ${method}: ${(r.testAccuracy * 100).toFixed(2)}% (${seconds.toFixed(1)} s)`,
      );
      cotOpt?.dispose();
      model.dispose();
    }
  }
  const mean = (m: string) =>
    rows.filter((r) => r.method === m).reduce((s, r) => s + r.accuracy, 0) / SEEDS.length;
  const pts = (m: string) => Math.round((mean(m) - mean('plain')) * 10000) / 100;
  const path = writeResults('recipes-objectives', {
    headline: {
      cotDeltaPts: pts('cot'),
      optDeltaPts: pts('opt'),
      plainAccuracy: mean('plain'),
      seeds: SEEDS.length,
    },
    setup: { data: 'MNIST 2000 train / 1000 test', model: 'mlp 784-128-10', ...CONFIG },
    rows,
  });
  console.log(`written ${path}`);
}

await main();
