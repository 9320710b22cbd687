// Low-rank inference speed on wasm at 2x fewer parameters (vs the original layers, same run),
// accuracy of a trained zoo CNN after decomposition and a short fine-tune, and ADMM-quantised
// CP vs CP-then-quantise on the trained conv2 kernel at 2/3/4/8 bits.
// Run: npm run bench:lowrank   (writes bench/results/lowrank.json)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { renderTable } from '../src/cli/table.js';
import type { DecomposeConfig } from '../src/compress/decompose/config.js';
import { convCost, cpCost } from '../src/compress/decompose/cost.js';
import { cpAdmmQuantized, quantizeCp } from '../src/compress/decompose/cp-admm.js';
import { cpConvLayers } from '../src/compress/decompose/cp-layers.js';
import { stabilizedCp } from '../src/compress/decompose/cp-stabilize.js';
import { decomposeModel, rebuildModel } from '../src/compress/decompose/decompose-model.js';
import { readConv } from '../src/compress/decompose/layer-info.js';
import { roundRankForSpeed } from '../src/compress/decompose/rank-rounding.js';
import type { LayerReport } from '../src/compress/decompose/replacement.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { writeJsonAtomic } from '../src/io/atomic-write.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { fixed, pct, ratio } from '../src/report/format.js';
import { evaluate } from '../src/train/evaluate.js';
import { train } from '../src/train/loop.js';

const BATCH = 64;
const REPS = 15;
const here = dirname(fileURLToPath(import.meta.url));

/** Median ms of model.predict on a fixed batch (after warm-up), on the active backend. */
function predictMs(model: tf.LayersModel, x: tf.Tensor): number {
  const run = () => {
    const y = model.predict(x) as tf.Tensor;
    y.dataSync();
    y.dispose();
  };
  for (let i = 0; i < 3; i++) run();
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** A one-layer model around a copy of `layer` (weights included) for timing it alone. */
function single(layer: tf.layers.Layer, inputShape: number[]): tf.LayersModel {
  const cfg = layer.getConfig();
  const ctor = layer.constructor as unknown as {
    fromConfig: (c: unknown, k: tf.serialization.ConfigDict) => tf.layers.Layer;
  };
  const clone = ctor.fromConfig(ctor, { ...cfg, batchInputShape: [null, ...inputShape] });
  const model = tf.sequential({ layers: [clone] });
  clone.setWeights(layer.getWeights());
  return model;
}

interface SpeedRow {
  case: string;
  method: string;
  rank: string;
  paramsBefore: number;
  paramsAfter: number;
  msBefore: number;
  msAfter: number;
  speedup: number;
}

function speedRow(
  name: string,
  original: tf.LayersModel,
  config: DecomposeConfig,
  inputShape: number[],
): SpeedRow {
  const { model, report } = decomposeModel(original, config);
  const x = tf.randomNormal([BATCH, ...inputShape], 0, 1, 'float32', 1);
  const msBefore = predictMs(original, x);
  const msAfter = predictMs(model, x);
  x.dispose();
  const l = report.layers[0];
  model.dispose();
  return {
    case: name,
    method: l.method,
    rank: JSON.stringify(l.rank),
    paramsBefore: l.paramsBefore,
    paramsAfter: l.paramsAfter,
    msBefore,
    msAfter,
    speedup: msBefore / msAfter,
  };
}

async function main(): Promise<void> {
  const engine = await initEngine({ backend: 'wasm' });
  useFastKernels();
  const started = Date.now();

  // 1. A zoo CNN trained on real MNIST digits (wasm with frugal's fast kernels).
  const data = loadMnist({ trainCount: 6000, testCount: 1000, seed: 0 });
  const cnn = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  await train(cnn, data, { epochs: 1, batchSize: BATCH, learningRate: 2e-3, measureMemory: false });
  const accOriginal = evaluate(cnn, data).accuracy;
  console.log(
    `trained CNN: test accuracy ${pct(accOriginal)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );

  // 2. Layer speed at <= 0.5x parameters, original vs decomposed, same run, batch 64.
  const conv2 = cnn.getLayer('conv2');
  const dense1 = cnn.getLayer('dense1');
  const big = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [1024], units: 1024, activation: 'relu', name: 'fc' })],
  });
  const speed: SpeedRow[] = [
    speedRow('dense 1024x1024 (random init)', big, { method: 'svd', ratio: 0.5 }, [1024]),
    speedRow('CNN dense1 9216x128', single(dense1, [9216]), { method: 'svd', ratio: 0.5 }, [9216]),
    speedRow(
      'CNN conv2 26x26x32->64 3x3',
      single(conv2, [26, 26, 32]),
      { method: 'tucker2', ratio: 0.5 },
      [26, 26, 32],
    ),
    speedRow(
      'CNN conv2 26x26x32->64 3x3',
      single(conv2, [26, 26, 32]),
      { method: 'cp', ratio: 0.5 },
      [26, 26, 32],
    ),
  ];
  const svdRank = Number(speed[1].rank);
  const rounding = await roundRankForSpeed(9216, 128, svdRank, { maxRank: svdRank, batch: BATCH });

  // 3. Whole-model accuracy and latency: conv2 + dense1 decomposed at ratio 0.5, then fine-tuned.
  const variants: { name: string; config: DecomposeConfig }[] = [
    {
      name: 'tucker2 conv2 + svd dense1',
      config: {
        layers: { conv2: { method: 'tucker2', ratio: 0.5 }, dense1: { method: 'svd', ratio: 0.5 } },
      },
    },
    {
      name: 'cp conv2 + svd dense1',
      config: {
        layers: { conv2: { method: 'cp', ratio: 0.5 }, dense1: { method: 'svd', ratio: 0.5 } },
      },
    },
  ];
  const xBatch = tf.randomNormal([BATCH, 28, 28, 1], 0, 1, 'float32', 2);
  const msCnn = predictMs(cnn, xBatch);
  const models = [];
  for (const v of variants) {
    const { model, report } = decomposeModel(cnn, v.config);
    const accAfter = evaluate(model, data).accuracy;
    const msAfter = predictMs(model, xBatch);
    await train(model, data, {
      epochs: 1,
      batchSize: BATCH,
      learningRate: 5e-4,
      maxStepsPerEpoch: 40,
      measureMemory: false,
    });
    const accTuned = evaluate(model, data).accuracy;
    models.push({
      variant: v.name,
      paramsBefore: report.paramsBefore,
      paramsAfter: report.paramsAfter,
      layers: report.layers.map((l: LayerReport) => ({
        layer: l.layer,
        method: l.method,
        rank: l.rank,
        relativeError: l.relativeError,
      })),
      accuracyOriginal: accOriginal,
      accuracyDecomposed: accAfter,
      accuracyFineTuned: accTuned,
      msOriginal: msCnn,
      msDecomposed: msAfter,
      speedup: msCnn / msAfter,
    });
    model.dispose();
  }
  xBatch.dispose();

  // 4. ADMM-quantised CP vs CP-then-quantise, trained conv2 kernel, rank at 0.5x parameters.
  const info = readConv(conv2);
  const rank = Math.floor(
    (0.5 * convCost(info).params - cpCost(info, 0).params) /
      (info.cin + info.kh + info.kw + info.cout),
  );
  const t0 = Date.now();
  const stable = stabilizedCp(info.kernel, rank);
  const cpSeconds = (Date.now() - t0) / 1000;
  const admm = [];
  for (const bits of [2, 3, 4, 8]) {
    const t1 = Date.now();
    const baseline = quantizeCp(info.kernel, stable.cp, bits);
    const q = cpAdmmQuantized(info.kernel, rank, { bits, init: stable.cp });
    const admmSeconds = (Date.now() - t1) / 1000;
    const accuracyOf = (cp: typeof q.cp) => {
      const { layers, initialWeights } = cpConvLayers(info, cp);
      const m = rebuildModel(
        cnn,
        new Map([['conv2', { layers, initialWeights, report: {} as LayerReport }]]),
      );
      const acc = evaluate(m, data).accuracy;
      m.dispose();
      return acc;
    };
    admm.push({
      bits,
      rank,
      cpRelativeError: stable.relativeError,
      quantizeAfterCpError: baseline.relativeError,
      admmError: q.relativeError,
      errorRatio: q.relativeError / baseline.relativeError,
      accuracyQuantizeAfterCp: accuracyOf(baseline.cp),
      accuracyAdmm: accuracyOf(q.cp),
      admmSeconds,
    });
  }

  console.log(
    '\nLow-rank layers on wasm, batch 64, at <= 0.5x parameters (same run, median of 15):',
  );
  console.log(
    renderTable(
      [
        'layer',
        'method',
        'rank',
        'params before',
        'params after',
        'ms before',
        'ms after',
        'speed-up',
      ],
      speed.map((r) => [
        r.case,
        r.method,
        r.rank,
        r.paramsBefore,
        r.paramsAfter,
        fixed(r.msBefore, 2),
        fixed(r.msAfter, 2),
        ratio(r.speedup),
      ]),
    ),
  );
  console.log(
    `\nRank rounding for dense1 (rank <= ${svdRank}): chose ${rounding.rank}; timings ${rounding.timings.map((t) => `${t.rank}: ${fixed(t.ms, 2)} ms`).join(', ')}`,
  );
  console.log(
    '\nTrained zoo CNN (MNIST, 6000 train / 1000 test), conv2 and dense1 at 0.5x parameters:',
  );
  console.log(
    renderTable(
      [
        'variant',
        'params',
        'acc original',
        'acc decomposed',
        'acc fine-tuned (40 steps)',
        'ms original',
        'ms decomposed',
        'speed-up',
      ],
      models.map((m) => [
        m.variant,
        `${m.paramsBefore} -> ${m.paramsAfter}`,
        pct(m.accuracyOriginal),
        pct(m.accuracyDecomposed),
        pct(m.accuracyFineTuned),
        fixed(m.msOriginal, 2),
        fixed(m.msDecomposed, 2),
        ratio(m.speedup),
      ]),
    ),
  );
  console.log(
    `\nQuantised CP of the trained conv2 kernel [3,3,32,64], rank ${rank} (stabilised CP error ${fixed(stable.relativeError, 4)}, ${fixed(cpSeconds, 1)} s):`,
  );
  console.log(
    renderTable(
      [
        'bits',
        'CP then quantise: error',
        'ADMM: error',
        'ADMM / baseline',
        'acc CP then quantise',
        'acc ADMM',
      ],
      admm.map((a) => [
        a.bits,
        fixed(a.quantizeAfterCpError, 4),
        fixed(a.admmError, 4),
        ratio(a.errorRatio),
        pct(a.accuracyQuantizeAfterCp),
        pct(a.accuracyAdmm),
      ]),
    ),
  );
  const out = {
    bench: 'lowrank',
    date: new Date().toISOString(),
    backend: engine.backend,
    batch: BATCH,
    repsPerTiming: REPS,
    note: 'speed-up = original ms / decomposed ms, measured in the same run; relative errors are ||K - K_hat||_F / ||K||_F of the kernel',
    layerSpeed: speed,
    rankRounding: {
      layer: 'dense1',
      maxRank: svdRank,
      chosen: rounding.rank,
      timings: rounding.timings,
    },
    trainedCnn: models,
    quantizedCp: { kernel: 'conv2 [3,3,32,64]', rank, stabilizedCpSeconds: cpSeconds, rows: admm },
    totalSeconds: (Date.now() - started) / 1000,
  };
  writeJsonAtomic(join(here, 'results', 'lowrank.json'), out);
  console.log(`\nwrote bench/results/lowrank.json (${fixed(out.totalSeconds, 0)} s)`);
}

await main();
