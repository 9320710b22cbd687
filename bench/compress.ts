// Compression benchmark: trains the zoo CNN on MNIST (wasm + frugal's fast conv kernels), then
// compresses it with each method alone and with a combination, side by side against the
// uncompressed model in the same run. Every model is really saved to disk; sizes are the files.
// Run: npm run bench:compress  (BENCH_QUICK=1 for a smoke run)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { compress } from '../src/compress/compress.js';
import type { CompressConfig } from '../src/compress/config.js';
import { modelFlops } from '../src/compress/metrics/layer-cost.js';
import { accuracyOf, pairedLatencyMs, predictAll } from '../src/compress/metrics/output-quality.js';
import { methodNames } from '../src/compress/registry.js';
import { finetuneWithMasks } from '../src/compress/sparsity/masked-finetune.js';
import type { ClassificationData } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { saveModel } from '../src/io/model-files.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { renderSvgPlot } from '../src/report/svg-plot.js';
import { copyModel } from '../src/rewrite/rewrite-model.js';
import { train } from '../src/train/loop.js';
import { printTable, writeResultFile, writeResults } from './lib/index.js';

const quick = process.env.BENCH_QUICK === '1';
const TRAIN = quick ? 1024 : 6000;
const TEST = quick ? 500 : 2000;
const EPOCHS = quick ? 1 : 2;
const FINETUNE_STEPS = quick ? 10 : 100;
const ADAQUANT_STEPS = quick ? 20 : 100;
const MIXED_CANDIDATES = [8, 6, 4, 3, 2];

interface Row {
  variant: string;
  config: unknown;
  fileBytes: number;
  sizeRatio: number;
  accuracy: number;
  accuracyDrop: number;
  latencyMs: number;
  baselineLatencyMs: number;
  latencyRatio: number;
  flops: number;
  compressSeconds: number;
}

function filesBytes(dir: string): number {
  return statSync(join(dir, 'model.json')).size + statSync(join(dir, 'weights.bin')).size;
}

async function main(): Promise<void> {
  const engine = await initEngine({ backend: 'wasm', seed: 1 });
  useFastKernels();
  const data: ClassificationData = loadMnist({ trainCount: TRAIN, testCount: TEST, seed: 1 });
  const model = buildModel('cnn', { inputShape: data.sampleShape, numClasses: 10, seed: 1 });
  const t0 = performance.now();
  const trained = await train(model, data, {
    epochs: EPOCHS,
    batchSize: 64,
    learningRate: 1e-3,
    seed: 1,
    measureMemory: false,
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  console.log(
    `trained zoo CNN on ${TRAIN} MNIST digits (${EPOCHS} epochs, ${trained.steps} steps, wasm + fast kernels) in ${trainSeconds.toFixed(0)} s: test accuracy ${(trained.testAccuracy * 100).toFixed(2)}%`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'frugal-bench-compress-'));
  const testXs = tf.tensor(data.test.x, [data.test.count, ...data.sampleShape]);
  const latencyBatch = testXs.slice(0, 32);
  const baseDir = join(dir, 'fp32');
  await saveModel(model, baseDir);
  const baseBytes = filesBytes(baseDir);
  const baseAcc = accuracyOf(predictAll(model, testXs), data.test.y);
  const baseFlops = modelFlops(model);
  // Control: the fine-tuned combination trains FINETUNE_STEPS more steps than the baseline;
  // the same extra steps on the dense fp32 model show how much of its accuracy is extra training.
  const control = copyModel(model);
  finetuneWithMasks(control, new Map(), data, {
    steps: FINETUNE_STEPS,
    batchSize: 64,
    learningRate: 3e-4,
    seed: 1,
  });
  const controlAcc = accuracyOf(predictAll(control, testXs), data.test.y);
  control.dispose();
  console.log(
    `control: fp32 + ${FINETUNE_STEPS} more steps (as the fine-tuned variant gets): ${(controlAcc * 100).toFixed(2)}%`,
  );

  const lowrank = methodNames().includes('lowrank');
  const combo: CompressConfig['steps'] = [
    ...(lowrank
      ? [
          {
            method: 'lowrank',
            options: { method: 'svd' },
            // rank 64 keeps dense1's factors in whole 2:4 groups; the tiny layers stay as they are
            layers: { dense1: { rank: 64 }, conv1: 'skip', conv2: 'skip', logits: 'skip' } as const,
          },
        ]
      : []),
    { method: 'nm', options: { n: 2, m: 4, finetuneSteps: FINETUNE_STEPS, learningRate: 3e-4 } },
    { method: 'adaquant', options: { bits: 4, steps: ADAQUANT_STEPS } },
  ];
  const variants: [string, CompressConfig][] = [
    ['int8 per-channel', { version: 1, steps: [{ method: 'int8' }] }],
    [
      'int4 per-tensor',
      { version: 1, steps: [{ method: 'int4', options: { granularity: 'tensor' } }] },
    ],
    ['int4 per-channel', { version: 1, steps: [{ method: 'int4' }] }],
    [
      'int4 + bias corr.',
      { version: 1, steps: [{ method: 'int4', options: { biasCorrection: true } }] },
    ],
    [
      'int4 + AdaQuant',
      { version: 1, steps: [{ method: 'adaquant', options: { bits: 4, steps: ADAQUANT_STEPS } }] },
    ],
    ['int2 per-channel', { version: 1, steps: [{ method: 'int2' }] }],
    [
      'int2 + AdaQuant',
      { version: 1, steps: [{ method: 'adaquant', options: { bits: 2, steps: ADAQUANT_STEPS } }] },
    ],
    ['2:4 (fp32 values)', { version: 1, steps: [{ method: 'nm' }] }],
    ['2:4 + int4', { version: 1, steps: [{ method: 'nm' }, { method: 'int4' }] }],
    [
      'mixed bits 15%',
      {
        version: 1,
        steps: [{ method: 'mixed', options: { budgetRatio: 0.15, candidates: MIXED_CANDIDATES } }],
      },
    ],
    [
      'mixed bits 10%',
      {
        version: 1,
        steps: [{ method: 'mixed', options: { budgetRatio: 0.1, candidates: MIXED_CANDIDATES } }],
      },
    ],
    [`${lowrank ? 'low-rank + ' : ''}2:4 fine-tuned + int4 AdaQuant`, { version: 1, steps: combo }],
  ];

  const rows: Row[] = [];
  for (const [name, config] of variants) {
    const c0 = performance.now();
    const { model: small } = await compress(model, config, {
      data,
      measure: false,
      seed: 1,
    });
    const compressSeconds = (performance.now() - c0) / 1000;
    const out = join(dir, name.replace(/[^a-z0-9]+/gi, '-'));
    await saveModel(small, out);
    const fileBytes = filesBytes(out);
    const accuracy = accuracyOf(predictAll(small, testXs), data.test.y);
    const [baseMs, ms] = await pairedLatencyMs(model, small, latencyBatch);
    rows.push({
      variant: name,
      config,
      fileBytes,
      sizeRatio: fileBytes / baseBytes,
      accuracy,
      accuracyDrop: baseAcc - accuracy,
      latencyMs: ms,
      baselineLatencyMs: baseMs,
      latencyRatio: ms / baseMs,
      flops: modelFlops(small),
      compressSeconds,
    });
    console.log(
      `${name}: ${(fileBytes / 1024).toFixed(1)} KiB (${((fileBytes / baseBytes) * 100).toFixed(1)}%), accuracy ${(accuracy * 100).toFixed(2)}% in ${compressSeconds.toFixed(1)} s`,
    );
    small.dispose();
  }

  printTable(
    undefined,
    [
      'variant',
      'file KiB',
      'size vs fp32',
      'test acc',
      'drop (pt)',
      'MFLOPs',
      'latency ms',
      'vs fp32',
      'compress s',
    ],
    [
      [
        `fp32 + ${FINETUNE_STEPS} steps (control)`,
        (baseBytes / 1024).toFixed(1),
        '100.0%',
        `${(controlAcc * 100).toFixed(2)}%`,
        ((baseAcc - controlAcc) * 100).toFixed(2),
        (baseFlops / 1e6).toFixed(2),
        '-',
        '-',
        '-',
      ],
      [
        'fp32 (baseline)',
        (baseBytes / 1024).toFixed(1),
        '100.0%',
        `${(baseAcc * 100).toFixed(2)}%`,
        '0.00',
        (baseFlops / 1e6).toFixed(2),
        '-',
        '1.00x',
        '-',
      ],
      ...rows.map((r) => [
        r.variant,
        (r.fileBytes / 1024).toFixed(1),
        `${(r.sizeRatio * 100).toFixed(1)}%`,
        `${(r.accuracy * 100).toFixed(2)}%`,
        (r.accuracyDrop * 100).toFixed(2),
        (r.flops / 1e6).toFixed(2),
        r.latencyMs.toFixed(2),
        `${r.latencyRatio.toFixed(2)}x`,
        r.compressSeconds.toFixed(1),
      ]),
    ],
  );
  const target = rows[rows.length - 1];
  const met = target.sizeRatio <= 0.1 && target.accuracyDrop <= 0.01;
  const dropVsControl = controlAcc - target.accuracy;
  console.log(
    `target (<= 10% of fp32 file size, <= 1 point accuracy drop): ${target.variant} at ${(target.sizeRatio * 100).toFixed(1)}% and ${(target.accuracyDrop * 100).toFixed(2)} pt -> ${met ? 'met' : 'NOT met'}; vs the fp32 control with the same extra steps: ${(dropVsControl * 100).toFixed(2)} pt${lowrank ? '' : ' (no low-rank method registered in this build)'}`,
  );

  const row = (variant: string) => rows.find((r) => r.variant === variant);
  const results = {
    headline: {
      baselineAccuracy: baseAcc,
      int8SizeRatio: row('int8 per-channel')?.sizeRatio ?? Number.NaN,
      int8AccuracyDrop: row('int8 per-channel')?.accuracyDrop ?? Number.NaN,
      int4SizeRatio: row('int4 per-channel')?.sizeRatio ?? Number.NaN,
      int4AccuracyDrop: row('int4 per-channel')?.accuracyDrop ?? Number.NaN,
      targetVariant: target.variant,
      targetSizeRatio: target.sizeRatio,
      targetAccuracyDrop: target.accuracyDrop,
      targetAccuracyDropVsControl: dropVsControl,
      targetMet: met,
    },
    backend: engine.backend,
    kernels: 'frugal fast kernels (useFastKernels) for conv training on wasm',
    quick,
    model: 'zoo cnn (conv32-conv64-pool-dense128-dense10)',
    data: { name: 'mnist', train: TRAIN, test: TEST },
    training: { epochs: EPOCHS, steps: trained.steps, batchSize: 64, seconds: trainSeconds },
    finetuneSteps: FINETUNE_STEPS,
    baseline: { fileBytes: baseBytes, accuracy: baseAcc, flops: baseFlops },
    control: { what: `fp32 fine-tuned ${FINETUNE_STEPS} more steps`, accuracy: controlAcc },
    lowrankAvailable: lowrank,
    rows,
    target: {
      variant: target.variant,
      sizeRatio: target.sizeRatio,
      accuracyDrop: target.accuracyDrop,
      accuracyDropVsControl: dropVsControl,
      met,
    },
  };
  const jsonPath = writeResults('compress', results);
  const svgPath = writeResultFile(
    'compress.svg',
    renderSvgPlot({
      title: `Zoo CNN on MNIST: file size vs accuracy (${engine.backend})`,
      xLabel: 'file size, % of fp32',
      yLabel: 'test accuracy, %',
      series: [
        { name: 'fp32', points: [{ x: 100, y: baseAcc * 100, label: 'fp32' }] },
        {
          name: 'compressed',
          points: rows.map((r) => ({
            x: r.sizeRatio * 100,
            y: r.accuracy * 100,
            label: r.variant,
          })),
        },
      ],
      hGuide: { y: (baseAcc - 0.01) * 100, label: '1 point below fp32' },
      vGuide: { x: 10, label: '10% of fp32' },
    }),
  );
  console.log(`wrote ${jsonPath} and ${svgPath}`);
  tf.dispose([testXs, latencyBatch]);
  rmSync(dir, { recursive: true, force: true });
}

await main();
