// Training-step throughput of the zoo models at batch 64 (MNIST shapes) on stock tfjs cpu/wasm and
// with frugal's fast kernels, plus the same CNN in PyTorch when torch is importable. The variants
// of a model run in interleaved rounds (rotating order), PyTorch in the CNN's rounds.
// Run: npm run bench:train-step [-- --rounds 3 --models mlp,cnn]
//   (writes bench/results/train-step.json)
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../src/data/dataset.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels, useStockKernels } from '../src/kernels/index.js';
import { buildModel, ZOO_MODELS, type ZooModelName } from '../src/models/zoo.js';
import { fixed, ratio } from '../src/report/format.js';
import { type StepContext, trainStep } from '../src/train/step.js';
import {
  disposeBatch,
  median,
  numberArg,
  printTable,
  randomBatch,
  writeResults,
} from './lib/index.js';
import { profiledFlops } from './lib/step-flops.js';
import { type TorchResult, torchCnn } from './lib/torch-cnn.js';
import { mnistShape, zooModelsArg } from './lib/zoo.js';

const BATCH = 64;
const SHAPES = Object.fromEntries(ZOO_MODELS.map((m) => [m, mnistShape(m)])) as Record<
  ZooModelName,
  number[]
>;
/**
 * Stock cpu conv training takes minutes per batch-64 step: it is timed at batches 1 and 3 and
 * extrapolated linearly (step = fixed cost + per-sample cost); the table says so.
 */
const STOCK_CPU_CONV_BATCHES = [1, 3];
const CONV_MODELS: readonly ZooModelName[] = ['cnn', 'resnet', 'odenet', 'vit'];
/** Timed rounds: every backend x kernels variant of a model (and PyTorch for the CNN) in each. */
const ROUNDS = numberArg('rounds', 3);
const MODELS = zooModelsArg();

type Kernels = 'stock' | 'fast';
interface Measurement {
  model: ZooModelName;
  backend: string;
  kernels: Kernels;
  /** Batches the steps were timed at; msPerStep is for BATCH (extrapolated when they differ). */
  timedBatches: number[];
  timedSteps: number;
  /** Median over the rounds of the round's ms per step at BATCH. */
  msPerStep: number | null;
  /** Each round's ms per step at BATCH. */
  roundMs: number[];
  samplesPerSecond: number | null;
  gflopPerSecond: number | null;
  note: string;
}

/** PyTorch's CNN step: the median over the rounds and each round's ms. */
type TorchRow = TorchResult & { roundMs: number[] };

/** One backend x kernels variant of a model, built on its backend, timed a few steps per round. */
interface Arm {
  backend: string;
  kernels: Kernels;
  sizes: number[];
  ctx: StepContext;
  data: Batch[];
  stepsPerRound: number;
  roundMs: number[];
  steps: number;
  error?: string;
}

async function activate(backend: string, kernels: Kernels): Promise<void> {
  await initEngine({ backend });
  if (kernels === 'fast') useFastKernels();
  else useStockKernels();
}

/** ms per step at BATCH of one round: the steps at each timed batch, extrapolated if two. */
function timeRound(arm: Arm): number {
  const ms = arm.data.map((b) => {
    const start = performance.now();
    for (let i = 0; i < arm.stepsPerRound; i++) trainStep(arm.ctx, b);
    return (performance.now() - start) / arm.stepsPerRound;
  });
  arm.steps += arm.stepsPerRound * arm.data.length;
  if (ms.length === 1) return ms[0];
  const [b1, b2] = arm.sizes;
  return ms[0] + ((ms[1] - ms[0]) * (BATCH - b1)) / (b2 - b1);
}

/**
 * Builds the arm on its backend and runs one untimed warm-up step at each timed batch (kernel
 * compilation, the optimizer's slots); wasm arms then take enough steps for ~1 s a round.
 */
async function makeArm(model: ZooModelName, backend: string, kernels: Kernels): Promise<Arm> {
  await activate(backend, kernels);
  const sizes =
    backend === 'cpu' && kernels === 'stock' && CONV_MODELS.includes(model)
      ? STOCK_CPU_CONV_BATCHES
      : [BATCH];
  const net = buildModel(model, { inputShape: SHAPES[model], numClasses: 10, seed: 1 });
  const ctx = { model: net, optimizer: tf.train.adam(1e-3) };
  const data = sizes.map((size) => randomBatch(SHAPES[model], size, 7));
  const arm: Arm = { backend, kernels, sizes, ctx, data, stepsPerRound: 1, roundMs: [], steps: 0 };
  try {
    const start = performance.now();
    for (const b of data) trainStep(ctx, b);
    const warmMs = (performance.now() - start) / data.length;
    if (backend !== 'cpu') arm.stepsPerRound = Math.max(1, Math.min(10, Math.round(1000 / warmMs)));
  } catch (e) {
    arm.error = (e as Error).message.split('\n')[0].slice(0, 80);
  }
  return arm;
}

function disposeArm(arm: Arm): void {
  for (const b of arm.data) disposeBatch(b);
  arm.ctx.model.dispose();
  arm.ctx.optimizer.dispose();
}

/**
 * Times the four backend x kernels variants of a model in interleaved rounds (the order rotates
 * each round), and PyTorch's CNN (2 and 1 threads) in the same rounds when the model is the CNN.
 */
async function measureModel(
  model: ZooModelName,
  flops: number,
): Promise<{ rows: Measurement[]; torch: (TorchRow | string)[] }> {
  const arms: Arm[] = [];
  for (const [backend, kernels] of [
    ['cpu', 'stock'],
    ['wasm', 'stock'],
    ['cpu', 'fast'],
    ['wasm', 'fast'],
  ] as const)
    arms.push(await makeArm(model, backend, kernels));
  const torchRuns: Record<number, number[]> = { 2: [], 1: [] };
  let torchSkipped = '';
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const live = arms.filter((a) => a.error === undefined);
      for (let k = 0; k < live.length; k++) {
        const arm = live[(k + r) % live.length];
        await activate(arm.backend, arm.kernels);
        try {
          arm.roundMs.push(timeRound(arm));
        } catch (e) {
          arm.error = (e as Error).message.split('\n')[0].slice(0, 80);
        }
      }
      if (model === 'cnn' && !torchSkipped)
        for (const threads of [2, 1]) {
          const t = torchCnn(BATCH, threads);
          if (typeof t === 'string') torchSkipped = t;
          else torchRuns[threads].push(t.msPerStep);
        }
      console.error(
        `${model} round ${r + 1}/${ROUNDS}: ${arms.map((a) => `${a.backend} ${a.kernels} ${a.error ? 'fails' : `${fixed(a.roundMs[r] ?? Number.NaN)} ms`}`).join(', ')}`,
      );
    }
  } finally {
    arms.forEach(disposeArm);
    useStockKernels();
  }
  const rows = arms.map((arm): Measurement => {
    const base = { model, backend: arm.backend, kernels: arm.kernels, timedBatches: arm.sizes };
    if (arm.error !== undefined || arm.roundMs.length === 0)
      return {
        ...base,
        timedSteps: 0,
        msPerStep: null,
        roundMs: arm.roundMs,
        samplesPerSecond: null,
        gflopPerSecond: null,
        note: `fails: ${arm.error ?? 'no round timed'}`,
      };
    const msPerStep = median(arm.roundMs);
    return {
      ...base,
      timedSteps: arm.steps,
      msPerStep,
      roundMs: arm.roundMs,
      samplesPerSecond: (BATCH * 1000) / msPerStep,
      gflopPerSecond: flops / msPerStep / 1e6,
      note:
        arm.sizes.length === 1
          ? ''
          : `estimate: timed at batches ${arm.sizes.join(', ')}, extrapolated to ${BATCH}`,
    };
  });
  const torch =
    model !== 'cnn'
      ? []
      : [2, 1].map((threads): TorchRow | string => {
          const ms = torchRuns[threads];
          if (ms.length === 0) return torchSkipped || 'skipped: no round timed';
          const msPerStep = median(ms);
          return { threads, msPerStep, samplesPerSecond: (BATCH * 1000) / msPerStep, roundMs: ms };
        });
  return { rows, torch };
}

/** Conv and matmul FLOPs of one batch-64 training step (the same math on every backend). */
async function stepFlops(model: ZooModelName): Promise<number> {
  await initEngine({ backend: 'wasm' });
  useFastKernels();
  const net = buildModel(model, { inputShape: SHAPES[model], numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const b = randomBatch(SHAPES[model], BATCH, 7);
  try {
    const { flops } = await profiledFlops(tf, () => {
      trainStep({ model: net, optimizer }, b);
    });
    return flops;
  } finally {
    disposeBatch(b);
    net.dispose();
    optimizer.dispose();
    useStockKernels();
  }
}

/** Plain (untransposed) 512^3 matmul on wasm: the machine's practical peak for tfjs here. */
async function wasmMatmulPeak(): Promise<number> {
  await initEngine({ backend: 'wasm' });
  const m = tf.randomNormal([512, 512], 0, 1, 'float32', 1);
  tf.matMul(m, m).dispose();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 8; i++) {
    const t = performance.now();
    const r = tf.matMul(m, m);
    r.dataSync();
    best = Math.min(best, performance.now() - t);
    r.dispose();
  }
  m.dispose();
  return (2 * 512 ** 3) / best / 1e6;
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg()[0];
  const peak = await wasmMatmulPeak();
  const rows: Measurement[] = [];
  let torch: (TorchRow | string)[] = [];
  for (const model of MODELS) {
    const flops = await stepFlops(model);
    const m = await measureModel(model, flops);
    rows.push(...m.rows);
    if (model === 'cnn') torch = m.torch;
  }
  const find = (model: string, backend: string, kernels: Kernels) =>
    rows.find((r) => r.model === model && r.backend === backend && r.kernels === kernels);
  const speedup = (r: Measurement, base: Measurement | undefined) =>
    r.samplesPerSecond && base?.samplesPerSecond
      ? r.samplesPerSecond / base.samplesPerSecond
      : Number.NaN;
  const table = rows.map((r) => [
    r.model,
    r.backend,
    r.kernels,
    r.msPerStep === null ? 'n/a' : fixed(r.msPerStep),
    r.samplesPerSecond === null
      ? 'n/a'
      : fixed(r.samplesPerSecond, r.samplesPerSecond < 10 ? 2 : 0),
    r.kernels === 'fast' ? ratio(speedup(r, find(r.model, r.backend, 'stock'))) : '',
    ratio(speedup(r, find(r.model, 'cpu', 'stock'))),
    r.gflopPerSecond === null
      ? 'n/a'
      : `${fixed(r.gflopPerSecond, 2)} (${fixed((100 * r.gflopPerSecond) / peak, 0)}%)`,
    r.note,
  ]);
  const fastWasmCnn = find('cnn', 'wasm', 'fast');
  for (const t of torch) {
    if (typeof t === 'string') {
      table.push(['cnn', 'pytorch', '', 'n/a', 'n/a', '', '', '', t]);
      continue;
    }
    table.push([
      'cnn',
      `pytorch (${t.threads} thr)`,
      '',
      fixed(t.msPerStep),
      fixed(t.samplesPerSecond, 0),
      '',
      ratio(
        speedup(
          { samplesPerSecond: t.samplesPerSecond } as Measurement,
          find('cnn', 'cpu', 'stock'),
        ),
      ),
      '',
      `frugal fast wasm = ${ratio(speedup(fastWasmCnn as Measurement, { samplesPerSecond: t.samplesPerSecond } as Measurement))} of this`,
    ]);
  }
  const load = [loadAtStart, loadavg()[0]];
  printTable(
    `Training step (forward + backward + Adam), batch ${BATCH}, MNIST shapes. GFLOP/s counts conv and matmul multiply-adds; peak = wasm matmul 512^3 measured now: ${fixed(peak)} GFLOP/s. Load average ${fixed(load[0])} at start, ${fixed(load[1])} at end (${availableParallelism()} cores).`,
    [
      'model',
      'backend',
      'kernels',
      'ms/step',
      'samples/s',
      'x stock (same backend)',
      'x stock cpu',
      'GFLOP/s (% of peak)',
      'note',
    ],
    table,
  );
  // PyTorch's faster thread count in this run: on a loaded 2-core machine 2 threads can lose to 1.
  const torchBest = torch
    .filter((t): t is TorchRow => typeof t !== 'string')
    .reduce<TorchRow | undefined>((a, t) => (a && a.msPerStep <= t.msPerStep ? a : t), undefined);
  const transformerFast = find('transformer', 'wasm', 'fast');
  const out = writeResults('train-step', {
    headline: {
      // Ratios of throughput (samples/s), every variant timed in the same interleaved rounds.
      cnnFastWasmMsPerStep: fastWasmCnn?.msPerStep ?? Number.NaN,
      cnnFastWasmOverStockCpu: fastWasmCnn
        ? speedup(fastWasmCnn, find('cnn', 'cpu', 'stock'))
        : Number.NaN,
      cnnFastWasmOverPytorchBest:
        fastWasmCnn?.msPerStep && torchBest
          ? torchBest.msPerStep / fastWasmCnn.msPerStep
          : Number.NaN,
      pytorchBestThreads: torchBest?.threads ?? null,
      transformerFastWasmOverStockWasm: transformerFast
        ? speedup(transformerFast, find('transformer', 'wasm', 'stock'))
        : Number.NaN,
    },
    command: `npm run bench:train-step -- --rounds ${ROUNDS}${MODELS.length === ZOO_MODELS.length ? '' : ` --models ${MODELS.join(',')}`}`,
    rounds: ROUNDS,
    batch: BATCH,
    shapes: SHAPES,
    optimizer: 'adam',
    wasmMatmulPeakGflops: peak,
    cores: availableParallelism(),
    loadAverage: { start: load[0], end: load[1] },
    flopsCounted: 'conv and matmul multiply-adds (2 per MAC) from a tf.profile trace of one step',
    rows,
    pytorchCnn: torch,
    seconds: (performance.now() - started) / 1000,
  });
  console.log(`written to ${out} (${fixed((performance.now() - started) / 1000, 0)} s)`);
}

main();
