// Data-parallel training on worker threads against one thread: the zoo CNN's training step
// (forward + backward + Adam) at batch 64, MNIST shapes, fast kernels on wasm. The variants run
// interleaved, in rounds, in one process: one thread (this one), ParallelTrainer with 2 workers
// (32 rows each), and PyTorch (2 threads) when torch is importable. Prints the load average of
// every round: on a shared machine, only ratios from the same rounds mean anything. The process
// CPU time per step (all threads) says how much extra work the workers do, whatever the load.
// With Linux autogroup scheduling (kernel.sched_autogroup_enabled = 1, as here), the threads of one
// session share one fair share of the CPU against every other busy session: the workers get two
// cores only while no other session is busy, so CPU ms / wall ms per step is printed per round.
// Run: npm run bench:parallel-step   (writes bench/results/parallel-step.json)
// Environment: WORKERS (2), ROUNDS (5), STEPS per round (5), BACKEND (wasm; cpu steps take seconds),
// MODEL (cnn; or mlp, resnet). Other settings than the defaults write parallel-step-<model>-<backend>-x<workers>.json.
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { renderTable } from '../src/cli/table.js';
import type { Batch } from '../src/data/dataset.js';
import { initEngine } from '../src/engine/backend.js';
import { makeRng, normal } from '../src/engine/random.js';
import { writeJsonAtomic } from '../src/io/atomic-write.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { fixed, ratio } from '../src/report/format.js';
import { ParallelTrainer, type ReplicaStepTimings } from '../src/train/parallel/index.js';
import { trainStep } from '../src/train/step.js';
import { torchCnn } from './torch-cnn.js';

const here = dirname(fileURLToPath(import.meta.url));
const BATCH = 64;
const SHAPE = [28, 28, 1];
const BACKEND = process.env.BACKEND ?? 'wasm';
const MODEL = (process.env.MODEL ?? 'cnn') as 'mlp' | 'cnn' | 'resnet';
const WORKERS = Number(process.env.WORKERS ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const STEPS = Number(process.env.STEPS ?? 5);

function batchOf(size: number, seed: number): Batch {
  const rng = makeRng(seed);
  const xs = tf.tensor(
    Float32Array.from({ length: size * 784 }, () => normal(rng)),
    [size, ...SHAPE],
  );
  const labels = Int32Array.from({ length: size }, () => Math.floor(rng() * 10));
  const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() as tf.Tensor2D;
  return { xs, ys, labels, size };
}

/** Wall ms and process CPU ms (all threads) per step. */
async function timeSteps(step: () => unknown): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < STEPS; i++) await step();
  const ms = (performance.now() - start) / STEPS;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 / STEPS };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Round {
  loadAverage: number;
  oneThreadMs: number;
  workersMs: number;
  /** Process CPU time per step, all threads. */
  oneThreadCpuMs: number;
  workersCpuMs: number;
  torchMs: number | null;
  /** Worker timings of the round's last parallel step. */
  workerTimings: ReplicaStepTimings[];
}

async function main(): Promise<void> {
  const started = performance.now();
  await initEngine({ backend: BACKEND });
  useFastKernels();
  const config = { inputShape: SHAPE, numClasses: 10, seed: 1 };
  if (!['mlp', 'cnn', 'resnet'].includes(MODEL))
    throw new Error(`MODEL must be mlp, cnn or resnet`);
  const single = buildModel(MODEL, config);
  const optimizer = tf.train.adam(1e-3);
  const parallelModel = buildModel(MODEL, config);
  const t0 = performance.now();
  const trainer = await ParallelTrainer.create(parallelModel, {
    workers: WORKERS,
    optimizer: { name: 'adam', learningRate: 1e-3 },
  });
  const startupMs = performance.now() - t0;
  const batch = batchOf(BATCH, 7);
  const oneStep = () => trainStep({ model: single, optimizer }, batch);
  const parallelStep = () => trainer.step(batch);
  const rounds: Round[] = [];
  let torchSkipped = '';
  try {
    for (let i = 0; i < 2; i++) {
      oneStep();
      await parallelStep();
    }
    for (let r = 0; r < ROUNDS; r++) {
      const loadAverage = loadavg()[0];
      const one = await timeSteps(oneStep);
      const workers = await timeSteps(parallelStep);
      const torch =
        MODEL !== 'cnn'
          ? 'not run: pytorch times the CNN only'
          : torchSkipped || torchCnn(BATCH, 2, STEPS);
      if (typeof torch === 'string') torchSkipped = torch;
      const round: Round = {
        loadAverage,
        oneThreadMs: one.ms,
        workersMs: workers.ms,
        oneThreadCpuMs: one.cpuMs,
        workersCpuMs: workers.cpuMs,
        torchMs: typeof torch === 'string' ? null : torch.msPerStep,
        workerTimings: [...trainer.lastStepTimings],
      };
      rounds.push(round);
      console.error(
        `round ${r + 1}/${ROUNDS}: load ${fixed(loadAverage, 2)}; 1 thread ${fixed(one.ms)} ms (cpu ${fixed(one.cpuMs)}), ${WORKERS} workers ${fixed(workers.ms)} ms (cpu ${fixed(workers.cpuMs)}, ${fixed(workers.cpuMs / workers.ms, 2)} cores busy), pytorch ${round.torchMs === null ? 'n/a' : fixed(round.torchMs)} ms`,
      );
    }
  } finally {
    await trainer.close();
    tf.dispose([batch.xs, batch.ys]);
    single.dispose();
    parallelModel.dispose();
    optimizer.dispose();
  }
  const one = median(rounds.map((r) => r.oneThreadMs));
  const par = median(rounds.map((r) => r.workersMs));
  const oneCpu = median(rounds.map((r) => r.oneThreadCpuMs));
  const parCpu = median(rounds.map((r) => r.workersCpuMs));
  const torchRounds = rounds.filter((r) => r.torchMs !== null).map((r) => r.torchMs as number);
  const torch = torchRounds.length > 0 ? median(torchRounds) : Number.NaN;
  const speedups = rounds.map((r) => r.oneThreadMs / r.workersMs);
  const loads = rounds.map((r) => r.loadAverage);
  const last = rounds[rounds.length - 1].workerTimings;
  const sps = (ms: number) => (BATCH * 1000) / ms;
  console.log(
    `zoo ${MODEL} training step (Adam), batch ${BATCH}, 28x28x1, fast kernels on ${BACKEND}; ${ROUNDS} interleaved rounds of ${STEPS} steps; ${availableParallelism()} cores; load average ${fixed(Math.min(...loads), 2)}-${fixed(Math.max(...loads), 2)} over the rounds. Medians over rounds.`,
  );
  console.log(
    renderTable(
      ['variant', 'ms/step', 'cpu ms/step', 'samples/s', 'x one thread', 'x pytorch (2 thr)'],
      [
        [
          'frugal, 1 thread',
          fixed(one),
          fixed(oneCpu),
          fixed(sps(one), 0),
          '1.00x',
          ratio(torch / one),
        ],
        [
          `frugal, ${WORKERS} worker threads (${BATCH / WORKERS} rows each)`,
          fixed(par),
          fixed(parCpu),
          fixed(sps(par), 0),
          ratio(one / par),
          ratio(torch / par),
        ],
        [
          'pytorch, 2 threads',
          torchSkipped ? 'n/a' : fixed(torch),
          'n/a',
          torchSkipped ? 'n/a' : fixed(sps(torch), 0),
          ratio(one / torch),
          torchSkipped ? torchSkipped : '1.00x',
        ],
      ],
    ),
  );
  console.log(
    `per-round speed-up of ${WORKERS} workers over 1 thread: ${speedups.map((s) => ratio(s)).join(', ')}; worker start-up ${fixed(startupMs, 0)} ms`,
  );
  console.log(
    `last step in the workers (gradient / wait / update ms): ${last.map((t) => `${fixed(t.gradientMs)} / ${fixed(t.waitMs)} / ${fixed(t.updateMs)}`).join('; ')}`,
  );
  const variant =
    MODEL === 'cnn' && BACKEND === 'wasm' && WORKERS === 2
      ? ''
      : `-${MODEL}-${BACKEND}-x${WORKERS}`;
  const out = join(here, 'results', `parallel-step${variant}.json`);
  writeJsonAtomic(out, {
    bench: 'parallel-step',
    date: new Date().toISOString(),
    model: MODEL,
    batch: BATCH,
    backend: BACKEND,
    kernels: 'fast',
    optimizer: 'adam',
    workers: WORKERS,
    cores: availableParallelism(),
    roundsCount: ROUNDS,
    stepsPerRound: STEPS,
    workerStartupMs: startupMs,
    median: {
      oneThreadMs: one,
      workersMs: par,
      oneThreadCpuMs: oneCpu,
      workersCpuMs: parCpu,
      torchMs: torchSkipped ? null : torch,
    },
    speedup: one / par,
    workersVsTorch: torch / par,
    torch: torchSkipped || 'python3 bench/torch_cnn.py --threads 2',
    rounds,
    seconds: (performance.now() - started) / 1000,
  });
  console.log(`written to ${out} (${fixed((performance.now() - started) / 1000, 0)} s)`);
}

main();
