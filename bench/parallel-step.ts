// Data-parallel training on worker threads against one thread: the zoo CNN's training step
// (forward + backward + Adam) at batch 64, MNIST shapes, fast kernels on wasm. The variants run
// interleaved, in rounds, in one process: one thread (this one), ParallelTrainer with 2 workers
// (32 rows each), the same workers with 2 XNNPACK threads each, this thread with 2 XNNPACK
// threads, and PyTorch (2 threads) when torch is importable. Prints the load average of
// every round: on a shared machine, only ratios from the same rounds mean anything. The process
// CPU time per step (all threads) says how much extra work the workers do, whatever the load.
// With Linux autogroup scheduling (kernel.sched_autogroup_enabled = 1, as here), the threads of one
// session share one fair share of the CPU against every other busy session: the workers get two
// cores only while no other session is busy, so CPU ms / wall ms per step is printed per round.
// The headline cnnVsTorch is the median over the rounds of PyTorch's ms over the best frugal
// configuration's ms in the same round (the threaded step and PyTorch run back to back, in
// alternating order); cnnVsTorchOfMedians is the ratio of the two medians over all rounds.
// Run: npm run bench:parallel-step   (writes bench/results/parallel-step.json)
// Environment: WORKERS (2), ROUNDS (5), STEPS per round (5), BACKEND (wasm; cpu steps take seconds),
// MODEL (cnn; or mlp, resnet). Other settings than the defaults write parallel-step-<model>-<backend>-x<workers>.json.
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { resizeWasmThreads, threadedWasmActive } from '../src/parallel/threaded-wasm.js';
import { fixed, ratio } from '../src/report/format.js';
import { makeOptimizer } from '../src/train/optimizer.js';
import { ParallelTrainer, type ReplicaStepTimings } from '../src/train/parallel/index.js';
import { trainStep } from '../src/train/step.js';
import { withCpuLoad } from './lib/cpu-load.js';
import { median, printTable, randomBatch, writeResults } from './lib/index.js';
import { torchCnn } from './lib/torch-cnn.js';

const BATCH = 64;
const SHAPE = [28, 28, 1];
const BACKEND = process.env.BACKEND ?? 'wasm';
const MODEL = (process.env.MODEL ?? 'cnn') as 'mlp' | 'cnn' | 'resnet';
const WORKERS = Number(process.env.WORKERS ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const STEPS = Number(process.env.STEPS ?? 5);

interface Timing {
  ms: number;
  /** This process's CPU ms per step, all threads. */
  cpuMs: number;
  /** Cores other processes kept busy meanwhile (machine busy time minus ours), NaN off Linux. */
  othersCores: number;
}

async function timeSteps(step: () => unknown): Promise<Timing> {
  const t = await withCpuLoad(async () => {
    for (let i = 0; i < STEPS; i++) await step();
  });
  return { ms: t.ms / STEPS, cpuMs: t.cpuMs / STEPS, othersCores: t.othersCores };
}

/** Other processes used less than this many cores during both variants of a round. */
const QUIET_CORES = 0.25;

interface Round {
  loadAverage: number;
  oneThreadMs: number;
  workersMs: number;
  /** This thread with 2 XNNPACK threads (wasm only; null elsewhere or where it cannot start). */
  threadedMs: number | null;
  /** The workers with 2 XNNPACK threads each (wasm only; null where the pools do not start). */
  workersThreadedMs: number | null;
  /** Process CPU time per step, all threads. */
  oneThreadCpuMs: number;
  workersCpuMs: number;
  /** Cores other processes kept busy during the round's one-thread and worker steps. */
  othersCores: number;
  torchMs: number | null;
  /** Worker timings of the round's last parallel step. */
  workerTimings: ReplicaStepTimings[];
}

async function main(): Promise<void> {
  const started = performance.now();
  await initEngine({ backend: BACKEND, ...(BACKEND === 'wasm' ? { threads: 2 } : {}) });
  const threaded = BACKEND === 'wasm' && threadedWasmActive();
  if (threaded) await resizeWasmThreads(1);
  useFastKernels();
  const config = { inputShape: SHAPE, numClasses: 10, seed: 1 };
  if (!['mlp', 'cnn', 'resnet'].includes(MODEL))
    throw new Error(`MODEL must be mlp, cnn or resnet`);
  const single = buildModel(MODEL, config);
  // frugal's Adam (FrugalAdam: tf.train.adam's arithmetic, one kernel per variable), as the workers use.
  const optimizer = makeOptimizer('adam', 1e-3);
  const parallelModel = buildModel(MODEL, config);
  const t0 = performance.now();
  const trainer = await ParallelTrainer.create(parallelModel, {
    workers: WORKERS,
    optimizer: { name: 'adam', learningRate: 1e-3 },
  });
  const startupMs = performance.now() - t0;
  // The same workers with a 2-thread XNNPACK pool each (--workers 2 --threads 2): one worker's
  // pool can use the core the other leaves idle in its serial kernels.
  const workersThreadedModel = buildModel(MODEL, config);
  const workersThreaded = threaded
    ? await ParallelTrainer.create(workersThreadedModel, {
        workers: WORKERS,
        threadsPerWorker: 2,
        optimizer: { name: 'adam', learningRate: 1e-3 },
      }).catch(async (e: unknown) => {
        // Close the first trainer's workers, or they would keep the process alive.
        await trainer.close();
        throw e;
      })
    : null;
  const workersThreadedOk = workersThreaded?.workerThreads.every((t) => t === 2) ?? false;
  const batch = randomBatch(SHAPE, BATCH, 7);
  const oneStep = () => trainStep({ model: single, optimizer }, batch);
  const threadedModel = buildModel(MODEL, config);
  const threadedOptimizer = makeOptimizer('adam', 1e-3);
  const threadedStep = () =>
    trainStep({ model: threadedModel, optimizer: threadedOptimizer }, batch);
  const parallelStep = () => trainer.step(batch);
  const workersThreadedStep = () => workersThreaded?.step(batch);
  const rounds: Round[] = [];
  let torchSkipped = '';
  try {
    for (let i = 0; i < 2; i++) {
      oneStep();
      await parallelStep();
      if (workersThreadedOk) await workersThreadedStep();
      if (threaded) {
        await resizeWasmThreads(2);
        threadedStep();
        await resizeWasmThreads(1);
      }
    }
    for (let r = 0; r < ROUNDS; r++) {
      const loadAverage = loadavg()[0];
      const one = await timeSteps(oneStep);
      const workers = await timeSteps(parallelStep);
      const workersThreadedMs = workersThreadedOk
        ? (await timeSteps(workersThreadedStep)).ms
        : null;
      let threadedMs: number | null = null;
      const timeThreaded = async () => {
        if (!threaded) return;
        await resizeWasmThreads(2);
        threadedMs = (await timeSteps(threadedStep)).ms;
        await resizeWasmThreads(1);
      };
      const timeTorch = () =>
        MODEL !== 'cnn'
          ? 'not run: pytorch times the CNN only'
          : torchSkipped || torchCnn(BATCH, 2, Math.max(STEPS, 10));
      // The threaded step and PyTorch run back to back, in alternating order, so that the ratio
      // of the two within a round sees the same load.
      let torch: ReturnType<typeof timeTorch>;
      if (r % 2 === 0) {
        await timeThreaded();
        torch = timeTorch();
      } else {
        torch = timeTorch();
        await timeThreaded();
      }
      if (typeof torch === 'string') torchSkipped = torch;
      const round: Round = {
        loadAverage,
        oneThreadMs: one.ms,
        workersMs: workers.ms,
        threadedMs,
        workersThreadedMs,
        oneThreadCpuMs: one.cpuMs,
        workersCpuMs: workers.cpuMs,
        othersCores: Math.max(one.othersCores, workers.othersCores),
        torchMs: typeof torch === 'string' ? null : torch.msPerStep,
        workerTimings: [...trainer.lastStepTimings],
      };
      rounds.push(round);
      console.error(
        `round ${r + 1}/${ROUNDS}: load ${fixed(loadAverage, 2)}; 1 thread ${fixed(one.ms)} ms (cpu ${fixed(one.cpuMs)}), ${WORKERS} workers ${fixed(workers.ms)} ms (cpu ${fixed(workers.cpuMs)}, ${fixed(workers.cpuMs / workers.ms, 2)} cores); other processes ${fixed(round.othersCores, 2)} cores; 2 XNNPACK threads ${round.threadedMs === null ? 'n/a' : fixed(round.threadedMs)} ms; ${WORKERS} workers x 2 threads ${round.workersThreadedMs === null ? 'n/a' : fixed(round.workersThreadedMs)} ms; pytorch ${round.torchMs === null ? 'n/a' : fixed(round.torchMs)} ms`,
      );
    }
  } finally {
    await trainer.close();
    await workersThreaded?.close();
    workersThreadedModel.dispose();
    tf.dispose([batch.xs, batch.ys]);
    single.dispose();
    parallelModel.dispose();
    optimizer.dispose();
    threadedModel.dispose();
    threadedOptimizer.dispose();
  }
  const summary = (rs: Round[]) => {
    const thr = rs.filter((r) => r.threadedMs !== null).map((r) => r.threadedMs as number);
    const wthr = rs
      .filter((r) => r.workersThreadedMs !== null)
      .map((r) => r.workersThreadedMs as number);
    const torchMs = rs.filter((r) => r.torchMs !== null).map((r) => r.torchMs as number);
    return {
      rounds: rs.length,
      oneThreadMs: rs.length ? median(rs.map((r) => r.oneThreadMs)) : Number.NaN,
      workersMs: rs.length ? median(rs.map((r) => r.workersMs)) : Number.NaN,
      oneThreadCpuMs: rs.length ? median(rs.map((r) => r.oneThreadCpuMs)) : Number.NaN,
      workersCpuMs: rs.length ? median(rs.map((r) => r.workersCpuMs)) : Number.NaN,
      torchMs: torchMs.length ? median(torchMs) : Number.NaN,
      threadedMs: thr.length ? median(thr) : Number.NaN,
      workersThreadedMs: wthr.length ? median(wthr) : Number.NaN,
    };
  };
  const all = summary(rounds);
  const quiet = summary(rounds.filter((r) => r.othersCores < QUIET_CORES));
  const speedups = rounds.map((r) => r.oneThreadMs / r.workersMs);
  const loads = rounds.map((r) => r.loadAverage);
  const last = rounds[rounds.length - 1].workerTimings;
  const sps = (ms: number) => (BATCH * 1000) / ms;
  console.log(
    `zoo ${MODEL} training step (Adam), batch ${BATCH}, 28x28x1, fast kernels on ${BACKEND}; ${ROUNDS} interleaved rounds of ${STEPS} steps; ${availableParallelism()} cores; load average ${fixed(Math.min(...loads), 2)}-${fixed(Math.max(...loads), 2)} over the rounds. Medians over all rounds, and over the quiet rounds (other processes busy < ${QUIET_CORES} cores while frugal ran).`,
  );
  const rowsOf = (name: string, s: ReturnType<typeof summary>) => [
    [
      `${name}: frugal, 1 thread`,
      fixed(s.oneThreadMs),
      fixed(s.oneThreadCpuMs),
      fixed(sps(s.oneThreadMs), 0),
      '1.00x',
      ratio(s.torchMs / s.oneThreadMs),
    ],
    [
      `${name}: frugal, ${WORKERS} workers (${BATCH / WORKERS} rows each)`,
      fixed(s.workersMs),
      fixed(s.workersCpuMs),
      fixed(sps(s.workersMs), 0),
      ratio(s.oneThreadMs / s.workersMs),
      ratio(s.torchMs / s.workersMs),
    ],
    [
      `${name}: pytorch, 2 threads`,
      torchSkipped ? torchSkipped : fixed(s.torchMs),
      'n/a',
      fixed(sps(s.torchMs), 0),
      ratio(s.oneThreadMs / s.torchMs),
      '1.00x',
    ],
  ];
  printTable(
    undefined,
    ['rounds: variant', 'ms/step', 'cpu ms/step', 'samples/s', 'x one thread', 'x pytorch (2 thr)'],
    [...rowsOf(`all ${all.rounds}`, all), ...rowsOf(`quiet ${quiet.rounds}`, quiet)],
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
  const configs: [string, number][] = [
    ['1 thread', all.oneThreadMs],
    [`${WORKERS} data-parallel workers`, all.workersMs],
    ['2 XNNPACK threads', all.threadedMs],
    [`${WORKERS} workers x 2 XNNPACK threads`, all.workersThreadedMs],
  ];
  const best = configs
    .filter(([, ms]) => Number.isFinite(ms))
    .reduce((a, b) => (b[1] < a[1] ? b : a));
  const bestMsOf = (r: Round): number | null =>
    best[0] === '1 thread'
      ? r.oneThreadMs
      : best[0] === '2 XNNPACK threads'
        ? r.threadedMs
        : best[0] === `${WORKERS} workers x 2 XNNPACK threads`
          ? r.workersThreadedMs
          : r.workersMs;
  // Each round's PyTorch ms over the best configuration's ms in the same round: the rounds pair
  // the two under the same load, so the median of these ratios is the headline, with its spread.
  const perRound = rounds
    .map((r) =>
      r.torchMs === null || bestMsOf(r) === null ? Number.NaN : r.torchMs / (bestMsOf(r) as number),
    )
    .filter(Number.isFinite);
  const cnnVsTorch = MODEL === 'cnn' && perRound.length ? median(perRound) : null;
  const cnnVsTorchOfMedians =
    MODEL === 'cnn' && Number.isFinite(all.torchMs) ? all.torchMs / best[1] : null;
  const threadedSpeedup = Number.isFinite(all.threadedMs) ? all.oneThreadMs / all.threadedMs : null;
  console.log(
    `headline: cnnVsTorch ${cnnVsTorch === null ? 'n/a' : ratio(cnnVsTorch)} (median of the rounds' ${perRound.map((x) => ratio(x)).join(', ')}; best frugal: ${best[0]}, median ${fixed(best[1])} ms vs pytorch ${fixed(all.torchMs)} ms, ratio of medians ${cnnVsTorchOfMedians === null ? 'n/a' : ratio(cnnVsTorchOfMedians)}); threadedSpeedup ${threadedSpeedup === null ? 'n/a' : ratio(threadedSpeedup)} (2 threads ${fixed(all.threadedMs)} ms vs 1 thread ${fixed(all.oneThreadMs)} ms)`,
  );
  const settings = ['MODEL', 'BACKEND', 'WORKERS', 'ROUNDS', 'STEPS']
    .filter((k) => process.env[k] !== undefined)
    .map((k) => `${k}=${process.env[k]}`);
  const out = writeResults(
    'parallel-step',
    {
      headline: {
        // PyTorch times the CNN only: the other models' files carry no PyTorch figure.
        ...(MODEL === 'cnn'
          ? {
              cnnVsTorch,
              ...(cnnVsTorch === null ? { cnnVsTorchReason: torchSkipped } : {}),
              cnnVsTorchBestFrugal: best[0],
              cnnVsTorchMin: perRound.length ? Math.min(...perRound) : null,
              cnnVsTorchMax: perRound.length ? Math.max(...perRound) : null,
              cnnVsTorchOfMedians,
              pytorchMsAllRounds: all.torchMs,
            }
          : {}),
        threadedSpeedup,
        ...(threadedSpeedup === null
          ? {
              threadedSpeedupReason:
                'the threaded wasm build did not start (or backend is not wasm)',
            }
          : {}),
        threadedMsAllRounds: all.threadedMs,
        workersThreadedMsAllRounds: all.workersThreadedMs,
        loadAverageMin: Math.min(...loads),
        loadAverageMax: Math.max(...loads),
        speedupAllRounds: all.oneThreadMs / all.workersMs,
        speedupQuietRounds: quiet.oneThreadMs / quiet.workersMs,
        quietRounds: quiet.rounds,
        oneThreadMsAllRounds: all.oneThreadMs,
        workersMsAllRounds: all.workersMs,
      },
      cnnVsTorchPerRound: perRound,
      command: `${settings.length ? `${settings.join(' ')} ` : ''}npm run bench:parallel-step`,
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
      quietBelowOtherCores: QUIET_CORES,
      medianAllRounds: all,
      medianQuietRounds: quiet,
      speedup: {
        allRounds: all.oneThreadMs / all.workersMs,
        quietRounds: quiet.oneThreadMs / quiet.workersMs,
      },
      torch: torchSkipped || 'python3 bench/lib/torch_cnn.py --threads 2',
      rounds,
      seconds: (performance.now() - started) / 1000,
    },
    { file: `parallel-step${variant}` },
  );
  console.log(`written to ${out} (${fixed((performance.now() - started) / 1000, 0)} s)`);
}

main();
