// Activation-compressed training (ActNN) against the same model with float32 saves, in one run.
// Run: npm run bench:act-memory   (writes bench/results/act-memory.json)
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels, useStockKernels } from '../src/kernels/index.js';
import { buildModel, type ZooModelName } from '../src/models/zoo.js';
import { fixed, mb, pct, ratio } from '../src/report/format.js';
import { train } from '../src/train/loop.js';
import { trainStep } from '../src/train/step.js';
import {
  BATCH,
  batchRowsOf,
  compressed,
  forwardLabel,
  measureAt,
  memoryRowsOf,
  VARIANTS,
  type Variant,
} from './lib/act-batch.js';
import { onlyPart, resnetHeadline } from './lib/act-only.js';
import { compressedCnnAccuracy } from './lib/compressed-accuracy.js';
import {
  argValue,
  disposeBatch,
  firstRows,
  hasFlag,
  interleavedWallCpu,
  mean,
  printTable,
  upperMedian,
  writeResults,
} from './lib/index.js';

const BACKEND = 'wasm';
const started = performance.now();
const engine = await initEngine({ backend: BACKEND, seed: 0 });
const image = loadMnist({ trainCount: 1600, testCount: 3000, seed: 1, layout: 'image' });
const seq = loadMnist({ trainCount: 1600, testCount: 1000, seed: 1, layout: 'sequence' });

// `-- --only resnet`: the ResNet's rows of sections 1 and 2 alone (a few minutes instead of the
// full run's half hour), merged into the existing JSON (bench/lib/act-only.ts).
if (hasFlag('only')) {
  await onlyPart(argValue('only', ''), image, engine.backend, started);
  process.exit(0);
}

// 1. Activation memory of a training step (forward + backward), batch 32, CNN, ResNet, Transformer.
const memoryRows: Record<string, unknown>[] = [];
for (const name of ['cnn', 'resnet', 'transformer'] as const) {
  const data = name === 'transformer' ? seq : image;
  memoryRows.push(
    ...(await memoryRowsOf(
      name,
      data,
      name === 'transformer' ? [VARIANTS[0], VARIANTS[3]] : VARIANTS,
    )),
  );
}

// 2. Largest batch whose activation peak fits the fp32 model's peak at batch 32 (whole-batch
// forward). Each model in both forwards where it applies (the chunked forward needs layers that
// treat samples independently: not ResNet's batch norm), so the gain of compression is shown
// against fp32 run the same way as well as against the plain fp32 step.
const batchRows: Record<string, unknown>[] = [];
for (const name of ['cnn', 'resnet'] as const) batchRows.push(...(await batchRowsOf(name, image)));

// 3. MNIST accuracy after the same short schedule (CNN). Every variant runs on the same seeds (the
// run-to-run spread of a 50-step schedule is about a point, so a one-seed row against a three-seed
// mean would compare seeds, not saves): each delta is against fp32 on the same seed, then averaged.
const accRows: Record<string, unknown>[] = [];
const schedule = { epochs: 1, batchSize: 32, learningRate: 2e-3, measureMemory: false };
const ACC_SEEDS = [3, 5, 6];
const ACC_VARIANTS = [VARIANTS[0], VARIANTS[2], VARIANTS[3], VARIANTS[4]];
let refAccs: number[] = [];
for (const v of ACC_VARIANTS) {
  const accs: number[] = [];
  for (const seed of ACC_SEEDS) {
    accs.push(await compressedCnnAccuracy(image, { ...v.config, seed }, schedule, seed));
  }
  if (v === VARIANTS[0]) refAccs = accs; // fp32 runs first: the reference of every row
  const deltas = accs.map((a, i) => a - refAccs[i]);
  accRows.push({
    model: 'cnn',
    variant: v.label,
    seeds: ACC_SEEDS,
    testAccuracies: accs,
    testAccuracy: mean(accs),
    /** Per seed: this variant's accuracy minus fp32's on the same seed. */
    accuracyDeltas: deltas,
    /** Mean of the per-seed deltas (= difference of the means: the same seeds). */
    accuracyDelta: mean(deltas),
  });
}

// 3b. Time per step, fp32 and 2-bit, whole-batch and chunked forward, and the plain tfjs step
// (stock layers: what a user would run otherwise), interleaved on the same batch (medians of wall
// and process CPU time), against fp32 with the whole-batch forward and against the plain step.
// frugal's fast kernels are on for this section (as the CLI trains; stock tfjs-wasm cannot train
// the plain CNN's convolutions), off for the memory figures above.
const timeRows: Record<string, unknown>[] = [];
const STEP_ROUNDS = 6;
const STOCK = 'plain tfjs (stock layers)';
useFastKernels();
for (const batch of [32, 128]) {
  const setups = [VARIANTS[0], VARIANTS[3]].flatMap((v) =>
    (['off', 'auto'] as const).map((forwardChunk) => ({ v, forwardChunk })),
  );
  const models = await Promise.all(
    setups.map((s) => compressed('cnn', image, { ...s.v.config, forwardChunk: s.forwardChunk })),
  );
  const stock = buildModel('cnn', { inputShape: image.sampleShape, numClasses: 10, seed: 1 });
  const b = firstRows(image, batch);
  const opt = tf.train.sgd(1e-3);
  // One warm-up round, then STEP_ROUNDS timed rounds in a fixed order.
  const times = interleavedWallCpu(
    [
      ...models.map((m) => () => {
        trainStep({ model: m.model, optimizer: opt, forward: m.forward }, b);
      }),
      () => {
        trainStep({ model: stock, optimizer: opt }, b);
      },
    ],
    { rounds: STEP_ROUNDS, warmup: 1 },
  );
  const ref = upperMedian(times.wall[0]);
  const plain = models.length;
  const row = (i: number, variant: string, forward: string) => ({
    model: 'cnn',
    batch,
    variant,
    forward,
    medianStepMs: upperMedian(times.wall[i]),
    medianStepCpuMs: upperMedian(times.cpu[i]),
    timeOverhead: upperMedian(times.wall[i]) / ref - 1,
    /** Against the plain tfjs step: medians of the per-round ratios, wall and CPU time. */
    overheadVsStock: upperMedian(times.wall[i].map((t, r) => t / times.wall[plain][r])) - 1,
    overheadVsStockCpu: upperMedian(times.cpu[i].map((t, r) => t / times.cpu[plain][r])) - 1,
  });
  models.forEach((m, i) => {
    timeRows.push(row(i, setups[i].v.label, forwardLabel(m.chunkRows)));
    m.model.dispose();
    m.dispose();
  });
  timeRows.push(row(plain, STOCK, 'whole batch'));
  stock.dispose();
  disposeBatch(b);
  opt.dispose();
}
useStockKernels();

// 4. Transformer: exact GELU backward vs few-bit 2-bit GELU (everything else exact).
// 5. RMM on the MLP's Dense layers at 20% and 50% projection.
const extraRows: Record<string, unknown>[] = [];
const extraRuns: [string, ZooModelName, typeof image, Variant[]][] = [
  [
    'transformer',
    'transformer',
    seq,
    [
      { label: 'exact GELU (L0)', config: { level: 'L0' } },
      { label: 'few-bit 2-bit GELU', config: { level: 'L0', fewbit: 2 } },
      { label: 'RMM 30% gaussian', config: { level: 'L0', rmm: { ratio: 0.3, kind: 'gaussian' } } },
    ],
  ],
  [
    'mlp',
    'mlp',
    image,
    [
      { label: 'exact (L0)', config: { level: 'L0' } },
      { label: 'RMM 50% gaussian', config: { level: 'L0', rmm: { ratio: 0.5, kind: 'gaussian' } } },
      { label: 'RMM 20% gaussian', config: { level: 'L0', rmm: { ratio: 0.2, kind: 'gaussian' } } },
    ],
  ],
];
for (const [label, name, data, variants] of extraRuns) {
  let ref: Record<string, number> = {};
  for (const v of variants) {
    const m = await compressed(name, data, v.config);
    const mem = measureAt(m, data, BATCH);
    const res = await train(
      m.model,
      data,
      { ...schedule, epochs: 1, maxStepsPerEpoch: label === 'transformer' ? 25 : 0 },
      { forward: m.forward },
    );
    const row = {
      model: label,
      variant: v.label,
      savedBytes: mem.savedBytes,
      peakBytes: mem.peakBytes,
      finalLoss: res.history[0].meanLoss,
      testAccuracy: res.testAccuracy,
      stepMs: res.meanStepMs,
    };
    if (Object.keys(ref).length === 0) ref = row as unknown as Record<string, number>;
    extraRows.push({
      ...row,
      peakReduction: ref.peakBytes / mem.peakBytes,
      accuracyDelta: res.testAccuracy - ref.testAccuracy,
      unconverted: m.unconverted.map((u) => u.name),
    });
    m.model.dispose();
    m.dispose();
  }
}

const num = (r: Record<string, unknown>, k: string) => r[k] as number;
printTable(
  `\nActivation memory of one training step (forward + backward), ${BACKEND}, batch ${BATCH}`,
  ['model', 'saves', 'forward', 'saved MB', 'saved x smaller', 'act peak MB', 'peak x smaller'],
  memoryRows.map((r) => [
    r.model as string,
    r.variant as string,
    r.forward as string,
    mb(num(r, 'savedBytes')),
    ratio(num(r, 'savedReduction')),
    mb(num(r, 'peakBytes')),
    ratio(num(r, 'peakReduction')),
  ]),
);
printTable(
  `\nLargest batch whose activation peak fits the fp32 whole-batch peak at batch ${BATCH}`,
  [
    'model',
    'saves',
    'forward',
    'budget MB',
    'largest batch',
    'peak MB there',
    'x fp32 whole',
    'x fp32 same forward',
  ],
  batchRows.map((r) => [
    r.model as string,
    r.variant as string,
    r.forward as string,
    mb(num(r, 'budgetBytes')),
    num(r, 'largestBatch'),
    mb(num(r, 'peakAtLargest')),
    ratio(num(r, 'batchGain')),
    ratio(num(r, 'batchGainSameForward')),
  ]),
);
printTable(
  `\nCNN on MNIST (${image.train.count} train / ${image.test.count} test), 1 epoch, batch 32, ` +
    `every row on seeds ${ACC_SEEDS.join(', ')}; deltas against fp32 on the same seed`,
  ['saves', 'test acc per seed', 'mean', 'delta per seed (points)', 'mean delta (points)'],
  accRows.map((r) => [
    r.variant as string,
    (r.testAccuracies as number[]).map((a) => pct(a)).join(', '),
    pct(num(r, 'testAccuracy')),
    (r.accuracyDeltas as number[]).map((d) => fixed(d * 100, 2)).join(', '),
    fixed(num(r, 'accuracyDelta') * 100, 2),
  ]),
);
printTable(
  `\nTime per CNN training step, fast kernels, interleaved (median of ${STEP_ROUNDS}), vs fp32 whole-batch and vs the plain tfjs step`,
  [
    'batch',
    'saves',
    'forward',
    'median step ms',
    'cpu ms',
    'vs fp32 whole',
    'vs plain tfjs',
    'vs plain (cpu)',
  ],
  timeRows.map((r) => [
    num(r, 'batch'),
    r.variant as string,
    r.forward as string,
    fixed(num(r, 'medianStepMs')),
    fixed(num(r, 'medianStepCpuMs')),
    pct(num(r, 'timeOverhead'), 1),
    pct(num(r, 'overheadVsStock'), 1),
    pct(num(r, 'overheadVsStockCpu'), 1),
  ]),
);
printTable(
  '\nFew-bit GELU and randomized matmul (Transformer, 25 steps) and randomized matmul (MLP, 1 epoch)',
  [
    'model',
    'backward',
    'saved MB',
    'act peak MB',
    'peak x smaller',
    'mean loss',
    'test acc',
    'acc delta',
    'step ms',
  ],
  extraRows.map((r) => [
    r.model as string,
    r.variant as string,
    mb(num(r, 'savedBytes')),
    mb(num(r, 'peakBytes')),
    ratio(num(r, 'peakReduction')),
    fixed(num(r, 'finalLoss'), 3),
    pct(num(r, 'testAccuracy')),
    fixed(num(r, 'accuracyDelta') * 100, 2),
    fixed(num(r, 'stepMs')),
  ]),
);
const seconds = (performance.now() - started) / 1000;
console.log(`\ntotal ${seconds.toFixed(0)} s`);
/** A figure of the first row matching `where` (NaN when no row matches: written as null). */
function pick(rows: Record<string, unknown>[], where: Record<string, unknown>, key: string) {
  const row = rows.find((r) => Object.entries(where).every(([k, v]) => r[k] === v));
  return row === undefined ? Number.NaN : num(row, key);
}
const twoBit = VARIANTS[3].label;
const chunked = (r: Record<string, unknown>) => r.forward !== 'whole batch';
writeResults('act-memory', {
  headline: {
    cnnSavedReduction2bit: pick(memoryRows, { model: 'cnn', variant: twoBit }, 'savedReduction'),
    cnnPeakReduction2bit: pick(memoryRows, { model: 'cnn', variant: twoBit }, 'peakReduction'),
    transformerPeakReduction2bit: pick(
      memoryRows,
      { model: 'transformer', variant: twoBit },
      'peakReduction',
    ),
    cnnLargestBatch2bit: Math.max(
      ...batchRows
        .filter((r) => r.model === 'cnn' && r.variant === twoBit)
        .map((r) => num(r, 'largestBatch')),
    ),
    cnnBatchGain2bit: Math.max(
      ...batchRows
        .filter((r) => r.model === 'cnn' && r.variant === twoBit)
        .map((r) => num(r, 'batchGain')),
    ),
    ...resnetHeadline(memoryRows, batchRows),
    cnnAccuracySeeds: ACC_SEEDS.join(', '),
    cnnAccuracyDeltaPoints2bit: 100 * pick(accRows, { variant: twoBit }, 'accuracyDelta'),
    cnnAccuracyDeltaPoints4bit:
      100 * pick(accRows, { variant: VARIANTS[2].label }, 'accuracyDelta'),
    cnnAccuracyDeltaPoints2bitMixed:
      100 * pick(accRows, { variant: VARIANTS[4].label }, 'accuracyDelta'),
    cnnStepOverhead2bitChunkedBatch32:
      timeRows
        .filter((r) => r.batch === 32 && r.variant === twoBit && chunked(r))
        .map((r) => num(r, 'timeOverhead'))[0] ?? Number.NaN,
    cnnStepOverhead2bitChunkedBatch128:
      timeRows
        .filter((r) => r.batch === 128 && r.variant === twoBit && chunked(r))
        .map((r) => num(r, 'timeOverhead'))[0] ?? Number.NaN,
    ...Object.fromEntries(
      [32, 128].flatMap((batch) => {
        const r = timeRows.find((x) => x.batch === batch && x.variant === twoBit && chunked(x));
        return [
          [`cnnStepOverheadVsStock2bitChunkedBatch${batch}`, r ? num(r, 'overheadVsStock') : NaN],
          [
            `cnnStepOverheadVsStock2bitChunkedBatch${batch}Cpu`,
            r ? num(r, 'overheadVsStockCpu') : NaN,
          ],
        ];
      }),
    ),
  },
  backend: engine.backend,
  note: 'Baseline is the same model converted at L0 (float32 saves, same kernels): stock tfjs-wasm cannot train convolutions (no Conv2DBackpropFilter). Peaks are forward+backward minus weight gradients (no optimizer update). forward: whole batch, or chunks of N samples on one tape (chunkedForward; default for models without batch norm; fp32 rows use it too). Headline: 2-bit (L3) against fp32 (L0) unless named; accuracy deltas (points) are means over the same seeds of per-seed deltas against fp32; reductions and gains are x fp32, step overheads are fractions of the fp32 whole-batch step (VsStock: of the plain tfjs step with stock layers, medians of per-round ratios, wall and CPU time). Step times run with frugal fast kernels (as the CLI), the memory figures without.',
  memory: memoryRows,
  largestBatch: batchRows,
  accuracy: accRows,
  stepTime: timeRows,
  fewbitAndRmm: extraRows,
  seconds,
});
