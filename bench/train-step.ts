// Training-step throughput of the zoo models at batch 64 (MNIST shapes) on stock tfjs cpu/wasm and
// with frugal's fast kernels, plus the same CNN in PyTorch when torch is importable.
// Run: npm run bench:train-step   (writes bench/results/train-step.json)
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels, useStockKernels } from '../src/kernels/index.js';
import { buildModel, ZOO_MODELS, type ZooModelName } from '../src/models/zoo.js';
import { fixed, ratio } from '../src/report/format.js';
import { trainStep } from '../src/train/step.js';
import { disposeBatch, printTable, randomBatch, writeResults } from './lib/index.js';
import { profiledFlops } from './lib/step-flops.js';
import { torchCnn } from './lib/torch-cnn.js';

const BATCH = 64;
const SHAPES: Record<ZooModelName, number[]> = {
  mlp: [28, 28, 1],
  cnn: [28, 28, 1],
  resnet: [28, 28, 1],
  transformer: [28, 28],
  odenet: [28, 28, 1],
  vit: [28, 28, 1],
};
/**
 * Stock cpu conv training takes minutes per batch-64 step: it is timed at batches 1 and 3 (after
 * a warm-up step) and extrapolated linearly (step = fixed cost + per-sample cost); the table
 * says so.
 */
const STOCK_CPU_CONV_BATCHES = [1, 3];

type Kernels = 'stock' | 'fast';
interface Measurement {
  model: ZooModelName;
  backend: string;
  kernels: Kernels;
  /** Batches the steps were timed at; msPerStep is for BATCH (extrapolated when they differ). */
  timedBatches: number[];
  timedSteps: number;
  msPerStep: number | null;
  samplesPerSecond: number | null;
  gflopPerSecond: number | null;
  note: string;
}

/**
 * Mean ms of a training step at each batch size (after one warm-up step at the first when
 * `warmUp`), timing until `minSteps` and `budgetMs` are both met.
 */
function timeSteps(
  model: ZooModelName,
  sizes: number[],
  minSteps: number,
  budgetMs: number,
  warmUp: boolean,
): { ms: number[]; steps: number } {
  const net = buildModel(model, { inputShape: SHAPES[model], numClasses: 10, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const ctx = { model: net, optimizer };
  const data = sizes.map((size) => randomBatch(SHAPES[model], size, 7));
  try {
    if (warmUp) trainStep(ctx, data[0]);
    let total = 0;
    const ms = data.map((b) => {
      let steps = 0;
      const start = performance.now();
      while (steps < minSteps || (performance.now() - start < budgetMs && steps < 20)) {
        trainStep(ctx, b);
        steps++;
      }
      total += steps;
      return (performance.now() - start) / steps;
    });
    return { ms, steps: total };
  } finally {
    for (const b of data) disposeBatch(b);
    net.dispose();
    optimizer.dispose();
  }
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

async function measure(
  model: ZooModelName,
  backend: string,
  kernels: Kernels,
  flops: number,
): Promise<Measurement> {
  await initEngine({ backend });
  if (kernels === 'fast') useFastKernels();
  else useStockKernels();
  const conv = model === 'cnn' || model === 'resnet';
  const sizes = backend === 'cpu' && kernels === 'stock' && conv ? STOCK_CPU_CONV_BATCHES : [BATCH];
  const base = { model, backend, kernels, timedBatches: sizes };
  try {
    // cpu steps take seconds: one timed step, no warm-up at batch 64 (a cpu step has no compile
    // cost; the first only adds the optimizer's slots), but one before an extrapolation, whose
    // slope two single steps set. wasm: a warm-up step, then >= 3 s of steps.
    const cpu = backend === 'cpu';
    const warmUp = !cpu || sizes.length > 1;
    const { ms, steps } = timeSteps(model, sizes, cpu ? 1 : 3, cpu ? 1500 : 3000, warmUp);
    const [b1, b2] = sizes;
    const msPerStep =
      sizes.length === 1 ? ms[0] : ms[0] + ((ms[1] - ms[0]) * (BATCH - b1)) / (b2 - b1);
    return {
      ...base,
      timedSteps: steps,
      msPerStep,
      samplesPerSecond: (BATCH * 1000) / msPerStep,
      gflopPerSecond: flops / msPerStep / 1e6,
      note:
        sizes.length === 1
          ? ''
          : `estimate: timed at batches ${sizes.join(', ')} (${ms.map((m) => fixed(m, 0)).join(', ')} ms), extrapolated to ${BATCH}`,
    };
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0].slice(0, 80);
    return {
      ...base,
      timedSteps: 0,
      msPerStep: null,
      samplesPerSecond: null,
      gflopPerSecond: null,
      note: `fails: ${reason}`,
    };
  } finally {
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
  for (const model of ZOO_MODELS) {
    const flops = await stepFlops(model);
    for (const [backend, kernels] of [
      ['cpu', 'stock'],
      ['wasm', 'stock'],
      ['cpu', 'fast'],
      ['wasm', 'fast'],
    ] as const) {
      const m = await measure(model, backend, kernels, flops);
      rows.push(m);
      console.error(
        `${model} ${backend} ${kernels}: ${fixed(m.msPerStep ?? Number.NaN)} ms ${m.note}`,
      );
    }
  }
  const torch = [torchCnn(BATCH, 2), torchCnn(BATCH, 1)];
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
  const cpuFastCnn = find('cnn', 'cpu', 'fast');
  const torch2 = torch.find((t) => typeof t !== 'string' && t.threads === 2);
  const out = writeResults('train-step', {
    headline: {
      cnnWasmFastMsPerStep: fastWasmCnn?.msPerStep ?? Number.NaN,
      cnnWasmFastOverStockCpu: fastWasmCnn
        ? speedup(fastWasmCnn, find('cnn', 'cpu', 'stock'))
        : Number.NaN,
      cnnCpuFastOverStockCpu: cpuFastCnn
        ? speedup(cpuFastCnn, find('cnn', 'cpu', 'stock'))
        : Number.NaN,
      cnnPytorch2ThreadsMsPerStep:
        torch2 && typeof torch2 !== 'string' ? torch2.msPerStep : Number.NaN,
      wasmMatmulPeakGflops: peak,
    },
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
