// `npx tsx bench/sparse-grad-resnet-schedule.ts EPOCHS:LR[:decay] ...`: choosing the converged
// ResNet schedule of the sparse-grad bench (`--only resnetConverged`, bench/lib/sparse-resnet.ts)
// on seeds that are not bench seeds (SPARSE_PROBE_SEEDS, default 10,11), dense only. For each
// candidate (epochs of SPARSE_BENCH_RESNET_TRAIN digits, Adam base rate, 'decay' for a linear
// decay to 0 over the run) and seed: dense with the seed's batch order and dense with another
// (shuffle seed + 100), same initial weights; their difference is the null "drop" a harmless
// perturbation of the trajectory gives, which the paired comparison has to beat. Writes
// bench/results/sparse-grad-resnet-schedule.json (the candidates, accuracies, null differences;
// the candidates already there stay, so two processes can probe two candidates at once).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildResnet } from '../src/models/resnet.js';
import { budgetSchedule } from '../src/recipes/lr-schedule.js';
import { train } from '../src/train/loop.js';
import { RESULTS_DIR, writeResults } from './lib/results.js';
import { parseSeedList } from './lib/sparse-merge.js';
import {
  convergedSchedule,
  pooled2x2,
  RESNET_BN_MOMENTUM,
  RESNET_WIDTHS,
} from './lib/sparse-resnet.js';

const engine = await initEngine({ backend: 'wasm', seed: 0 });
useFastKernels();
const seeds = parseSeedList(process.env.SPARSE_PROBE_SEEDS ?? '10,11');
const base = convergedSchedule(seeds);
const candidates = process.argv.slice(2).map((a) => {
  const [e, lr, decay] = a.split(':');
  if (!(Number(e) >= 1 && Number(lr) > 0) || (decay !== undefined && decay !== 'decay'))
    throw new Error(`candidate: expected EPOCHS:LR[:decay], got '${a}'`);
  return { epochs: Number(e), learningRate: Number(lr), decay: decay === 'decay' };
});
if (candidates.length === 0) throw new Error('give one or more candidates EPOCHS:LR[:decay]');
const data = pooled2x2(
  loadMnist({ trainCount: base.train, testCount: base.test, seed: 1, layout: 'image' }),
);
const t0 = performance.now();
const rows: Record<string, unknown>[] = [];
for (const c of candidates) {
  const steps = c.epochs * Math.ceil(base.train / base.batch);
  const runs: { seed: number; order: number; accuracy: number; meanStepMs: number }[] = [];
  for (const seed of seeds)
    for (const order of [seed, seed + 100]) {
      const model = buildResnet({
        inputShape: data.sampleShape,
        numClasses: data.numClasses,
        widths: RESNET_WIDTHS,
        batchNormMomentum: RESNET_BN_MOMENTUM,
        seed,
      });
      const hooks = c.decay
        ? budgetSchedule(c.learningRate, { warmup: 0, final: 0, peak: 1 }, { totalSteps: steps })
        : undefined;
      const r = await train(
        model,
        data,
        {
          epochs: c.epochs,
          batchSize: base.batch,
          seed: order,
          learningRate: c.learningRate,
          measureMemory: false,
        },
        { hooks },
      );
      model.dispose();
      runs.push({ seed, order, accuracy: r.testAccuracy, meanStepMs: r.meanStepMs });
      console.log(
        `${c.epochs}:${c.learningRate}${c.decay ? ':decay' : ''} seed ${seed} order ${order}: ${(100 * r.testAccuracy).toFixed(2)}% (${r.meanStepMs.toFixed(0)} ms/step, ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
  const nullDiffs = seeds.map((seed) => {
    const [a, b] = runs.filter((r) => r.seed === seed);
    return 100 * (a.accuracy - b.accuracy);
  });
  const denseAcc = runs.reduce((q, r) => q + r.accuracy, 0) / runs.length;
  rows.push({ ...c, steps, denseAcc, nullDiffsPts: nullDiffs, runs });
  console.log(
    `  dense ${(100 * denseAcc).toFixed(2)}%, null ${nullDiffs.map((d) => d.toFixed(2))}`,
  );
}
// The candidates of earlier runs (another process's, say) stay, unless rerun here.
const file = join(RESULTS_DIR, 'sparse-grad-resnet-schedule.json');
const label = (r: Record<string, unknown>) => `${r.epochs}:${r.learningRate}:${r.decay}`;
if (existsSync(file)) {
  const prev = JSON.parse(readFileSync(file, 'utf8')) as { candidates: Record<string, unknown>[] };
  const mine = new Set(rows.map(label));
  rows.unshift(...prev.candidates.filter((r) => !mine.has(label(r))));
}
const path = writeResults('sparse-grad-resnet-schedule', {
  headline: Object.fromEntries(
    rows.flatMap((r) => {
      const key = `e${r.epochs}Lr${r.learningRate}${r.decay ? 'Decay' : ''}`;
      const d = r.nullDiffsPts as number[];
      const rms = Math.sqrt(d.reduce((q, x) => q + x * x, 0) / d.length);
      return [
        [`${key}DenseAcc`, r.denseAcc as number],
        [`${key}NullRmsPts`, rms],
      ];
    }),
  ),
  method: `dense ResNet (the sparse-grad bench's, bench/lib/sparse-resnet.ts) on ${base.train} training and ${base.test} test digits (14x14), batch ${base.batch}, seeds ${seeds.join(', ')} (not bench seeds), each with its own batch order and with shuffle seed + 100 (null difference in points); candidates EPOCHS:LR[:decay]`,
  backend: engine.backend,
  candidates: rows,
  seconds: (performance.now() - t0) / 1000,
});
console.log(`wrote ${path}`);
