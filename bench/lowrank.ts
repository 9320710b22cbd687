// Low-rank inference speed on wasm at 2x fewer parameters (vs the original layers, same run),
// accuracy of a trained zoo CNN after decomposition and a short fine-tune, and ADMM-quantised
// CP vs CP-then-quantise on the trained conv2 kernel at 2/3/4/8 bits.
// Run: npm run bench:lowrank   (writes bench/results/lowrank.json)
import * as tf from '@tensorflow/tfjs';
import { convCost, cpCost } from '../src/compress/decompose/cost.js';
import { cpAdmmQuantized, quantizeCp } from '../src/compress/decompose/cp-admm.js';
import { cpConvLayers } from '../src/compress/decompose/cp-layers.js';
import { stabilizedCp } from '../src/compress/decompose/cp-stabilize.js';
import { balanceCp } from '../src/compress/decompose/cp-tensor.js';
import { decomposeLayer } from '../src/compress/decompose/decompose-layer.js';
import { applyReplacements, decomposeModel } from '../src/compress/decompose/decompose-model.js';
import { readConv } from '../src/compress/decompose/layer-info.js';
import { resolveCpRank } from '../src/compress/decompose/rank-resolve.js';
import { roundRankForSpeed } from '../src/compress/decompose/rank-rounding.js';
import type { LayerReport } from '../src/compress/decompose/replacement.js';
import { loadMnist } from '../src/data/mnist.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { fixed, pct, ratio } from '../src/report/format.js';
import { evaluate } from '../src/train/evaluate.js';
import { train } from '../src/train/loop.js';
import { interleavedTimes, printTable, upperMedian, writeResults } from './lib/index.js';

const BATCH = 64;
const REPS = 15;

/**
 * Median ms of model.predict for two models on the same batch, runs interleaved (a, b, a, b...)
 * so that load from other processes on the machine hits both alike.
 */
function comparePredictMs(a: tf.LayersModel, b: tf.LayersModel, x: tf.Tensor): [number, number] {
  const predict = (m: tf.LayersModel) => () => {
    const y = m.predict(x) as tf.Tensor;
    y.dataSync();
    y.dispose();
  };
  const [ta, tb] = interleavedTimes([predict(a), predict(b)], { rounds: REPS, warmup: 3 });
  return [upperMedian(ta), upperMedian(tb)];
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
  decomposed: { model: tf.LayersModel; report: { layers: LayerReport[] } },
  inputShape: number[],
): SpeedRow {
  const { model, report } = decomposed;
  const x = tf.randomNormal([BATCH, ...inputShape], 0, 1, 'float32', 1);
  const [msBefore, msAfter] = comparePredictMs(original, model, x);
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
  const data = loadMnist({ trainCount: 4000, testCount: 1000, seed: 0 });
  const cnn = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  await train(cnn, data, { epochs: 1, batchSize: BATCH, learningRate: 2e-3, measureMemory: false });
  const accOriginal = evaluate(cnn, data).accuracy;
  console.log(
    `trained CNN: test accuracy ${pct(accOriginal)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );

  // 2. One stabilised CP of the trained conv2 kernel at 0.5x parameters, reused below.
  const conv2 = cnn.getLayer('conv2');
  const dense1 = cnn.getLayer('dense1');
  const info = readConv(conv2);
  const rank = resolveCpRank(info, { method: 'cp', ratio: 0.5 });
  const t0 = Date.now();
  const stable = stabilizedCp(info.kernel, rank);
  const cpSeconds = (Date.now() - t0) / 1000;
  const cpReport: LayerReport = {
    layer: 'conv2',
    method: 'cp',
    rank,
    paramsBefore: convCost(info).params,
    paramsAfter: cpCost(info, rank).params,
    flopsBefore: null,
    flopsAfter: null,
    relativeError: stable.relativeError,
    replacedBy: [],
  };
  const cpConv2 = () => cpConvLayers(info, balanceCp(stable.cp));

  // 3. Layer speed at <= 0.5x parameters, original vs decomposed, same run, batch 64.
  const big = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [1024], units: 1024, activation: 'relu', name: 'fc' })],
  });
  const conv2Alone = single(conv2, [26, 26, 32]);
  const dense1Alone = single(dense1, [9216]);
  const speed: SpeedRow[] = [
    speedRow(
      'dense 1024x1024 (random init)',
      big,
      decomposeModel(big, { method: 'svd', ratio: 0.5 }),
      [1024],
    ),
    speedRow(
      'CNN dense1 9216x128',
      dense1Alone,
      decomposeModel(dense1Alone, { method: 'svd', ratio: 0.5 }),
      [9216],
    ),
    speedRow(
      'CNN conv2 26x26x32->64 3x3',
      conv2Alone,
      decomposeModel(conv2Alone, { method: 'tucker2', ratio: 0.5 }),
      [26, 26, 32],
    ),
    speedRow(
      'CNN conv2 26x26x32->64 3x3',
      conv2Alone,
      {
        model: applyReplacements(conv2Alone, new Map([['conv2', cpConv2()]])),
        report: { layers: [cpReport] },
      },
      [26, 26, 32],
    ),
  ];
  // Rank rounding on the active backend (never above the budget rank), then the rounded layer.
  const svdRank = Number(speed[1].rank);
  const rounding = await roundRankForSpeed(9216, 128, svdRank, { maxRank: svdRank, batch: BATCH });
  speed.push(
    speedRow(
      'CNN dense1 9216x128, rank rounded',
      dense1Alone,
      decomposeModel(dense1Alone, { method: 'svd', rank: rounding.rank }),
      [9216],
    ),
  );

  // 4. Whole-model accuracy and latency: conv2 + dense1 at 0.5x parameters, then fine-tuned
  // for 40 steps; the original gets the same 40 steps as a control.
  const dense1Svd = () => decomposeLayer(dense1, { method: 'svd', ratio: 0.5 });
  const variants: { name: string; build: () => ReturnType<typeof decomposeModel> }[] = [
    {
      name: 'tucker2 conv2 + svd dense1',
      build: () =>
        decomposeModel(cnn, {
          layers: {
            conv2: { method: 'tucker2', ratio: 0.5 },
            dense1: { method: 'svd', ratio: 0.5 },
          },
        }),
    },
    {
      name: 'cp conv2 + svd dense1',
      build: () => {
        const svd = dense1Svd();
        const model = applyReplacements(
          cnn,
          new Map([
            ['conv2', cpConv2()],
            ['dense1', svd],
          ]),
        );
        return {
          model,
          report: {
            layers: [cpReport, svd.report],
            paramsBefore: cnn.countParams(),
            paramsAfter: model.countParams(),
          },
        };
      },
    },
  ];
  const fineTune = {
    epochs: 1,
    batchSize: BATCH,
    learningRate: 5e-4,
    maxStepsPerEpoch: 40,
    measureMemory: false,
  };
  const xBatch = tf.randomNormal([BATCH, 28, 28, 1], 0, 1, 'float32', 2);
  const models = [];
  for (const v of variants) {
    const { model, report } = v.build();
    const accAfter = evaluate(model, data).accuracy;
    const [msOriginal, msAfter] = comparePredictMs(cnn, model, xBatch);
    await train(model, data, fineTune);
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
      msOriginal,
      msDecomposed: msAfter,
      speedup: msOriginal / msAfter,
    });
    model.dispose();
  }
  xBatch.dispose();
  // A copy of the original (rebuilt with no replacements) gets the same 40 steps.
  const control = applyReplacements(cnn, new Map());
  await train(control, data, fineTune);
  const accControl = evaluate(control, data).accuracy;

  // 5. ADMM-quantised CP vs CP-then-quantise on the trained conv2 kernel, same rank and start.
  const admm = [];
  for (const bits of [2, 3, 4, 8]) {
    const t1 = Date.now();
    const baseline = quantizeCp(info.kernel, stable.cp, bits);
    const q = cpAdmmQuantized(info.kernel, rank, { bits, init: stable.cp });
    const admmSeconds = (Date.now() - t1) / 1000;
    const accuracyOf = (cp: typeof q.cp) => {
      const { layers, initialWeights } = cpConvLayers(info, cp);
      const m = applyReplacements(
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

  printTable(
    `\nLow-rank layers on wasm, batch 64, at <= 0.5x parameters (same run, interleaved, median of ${REPS}):`,
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
  );
  console.log(
    `\nRank rounding for dense1 (rank <= ${svdRank}): chose ${rounding.rank}; timings ${rounding.timings.map((t) => `${t.rank}: ${fixed(t.ms, 2)} ms`).join(', ')}`,
  );
  printTable(
    `\nTrained zoo CNN (MNIST, 4000 train / 1000 test, 1 epoch), conv2 and dense1 at 0.5x parameters; control: original + the same 40 steps = ${pct(accControl)}`,
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
  );
  printTable(
    `\nQuantised CP of the trained conv2 kernel [3,3,32,64], rank ${rank} (stabilised CP error ${fixed(stable.relativeError, 4)}, ${fixed(cpSeconds, 1)} s):`,
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
  );
  const caseSpeedup = (i: number) => speed[i]?.speedup ?? Number.NaN;
  const out = {
    headline: {
      // Ratios: original ms / decomposed ms (same run, interleaved); the drop is in points
      // against the original fine-tuned for the same 40 steps.
      cnnDense1SvdSpeedup: caseSpeedup(1),
      cnnConv2Tucker2Speedup: caseSpeedup(2),
      cnnTucker2SvdSpeedup: models[0]?.speedup ?? Number.NaN,
      cnnTucker2SvdAccuracyDropPts:
        100 * (accControl - (models[0]?.accuracyFineTuned ?? Number.NaN)),
      admmErrorRatio2bit: admm.find((a) => a.bits === 2)?.errorRatio ?? Number.NaN,
    },
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
    trainedCnn: { variants: models, accuracyOriginalPlus40Steps: accControl },
    quantizedCp: { kernel: 'conv2 [3,3,32,64]', rank, stabilizedCpSeconds: cpSeconds, rows: admm },
    totalSeconds: (Date.now() - started) / 1000,
  };
  const path = writeResults('lowrank', out);
  console.log(`\nwrote ${path} (${fixed(out.totalSeconds, 0)} s)`);
}

await main();
