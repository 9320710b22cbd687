// PipeDream-2BW on worker threads against data parallelism and one thread: the zoo Transformer
// (2 pre-norm blocks, dModel 64, sequences of 28 x 28 features, 10 classes) trained with Adam at
// batch 64, fast kernels on wasm. In every round, in rotated order, one process times: one thread
// (trainStep), 2 data-parallel workers (ParallelTrainer, 32 rows each), 2BW on 2 pipeline stages
// (PipelineTrainer, worker threads, STEPS batches streamed through one run of the schedule), and a
// profile: the same two stages in this thread (runner 'in-process', the same cut, the same code),
// whose per-op forward / backward / update times feed the discrete-event simulator
// (simulatePipeline), scaled by how much of the CPU one and two busy threads get (core probes
// around the profile and the 2BW run). simulatorErrorPct compares the simulator's prediction with
// the measured 2BW throughput of the same round. The worker stages' own op times of the 2BW run
// are fed to the simulator too, which splits the error into compute contention (the profile's op
// times against the workers') and everything the simulator does not model (messages, waits, the
// main thread). After the rounds, costs measured in this thread (an 8-block Transformer's layers,
// the data-parallel shards) feed the simulator's predicted scaling over 1-8 machines and four
// links (`scaling`). The machine is shared: the load average and other processes' cores are
// recorded per round.
// Run: npm run bench:pipeline   (writes bench/results/pipeline.json)
// Environment: ROUNDS (7), STEPS batches per round (6), MICROBATCHES (4), BATCH (64),
// BACKEND (wasm). Other settings than the defaults write pipeline-<backend>-b<batch>-m<micro>.json.
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { costsFromProfile } from '../src/pipeline/planner.js';
import type { StageRunStats } from '../src/pipeline/protocol.js';
import { errorPct, type SimStage, simulatePipeline } from '../src/pipeline/simulator.js';
import { PipelineTrainer } from '../src/pipeline/trainer.js';
import { buildChain } from '../src/remat/chain.js';
import { profileChain } from '../src/remat/profile.js';
import { fixed, ratio } from '../src/report/format.js';
import { computeGradients, defaultForward, trainableVariables } from '../src/train/gradients.js';
import { resolveLoss } from '../src/train/loss.js';
import { ParallelTrainer } from '../src/train/parallel/index.js';
import { trainStep } from '../src/train/step.js';
import { CoreProbe } from './lib/core-probe.js';
import { type CpuTiming, withCpuLoad } from './lib/cpu-load.js';
import { median, printTable, randomBatch, writeResults } from './lib/index.js';
import { predictScaling, type ScalingLayer } from './lib/pipeline-scaling.js';

const SHAPE = [28, 28];
const BACKEND = process.env.BACKEND ?? 'wasm';
const BATCH = Number(process.env.BATCH ?? 64);
const MICRO = Number(process.env.MICROBATCHES ?? 4);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const STEPS = Number(process.env.STEPS ?? 6);
const STAGES = 2;
const WORKERS = 2;
const LR = 1e-3;
/** Inter-thread messages (MessagePort, transferred buffers): no bandwidth limit or latency. */
const LINK = { bandwidthBytesPerSec: Number.POSITIVE_INFINITY, latencyMs: 0 };
/** The several-machine prediction: an 8-block Transformer, 8 microbatches, 1 to 8 workers. */
const SCALING_BLOCKS = 8;
const SCALING_MICRO = 8;
const SCALING_WORKERS = [1, 2, 4, 8];
const SCALING_LINKS = [
  { name: 'threads (no transfer cost)', link: LINK },
  { name: '10 Gb/s, 50 us', link: { bandwidthBytesPerSec: 1.25e9, latencyMs: 0.05 } },
  { name: '1 Gb/s, 200 us', link: { bandwidthBytesPerSec: 1.25e8, latencyMs: 0.2 } },
  { name: '100 Mb/s, 1 ms', link: { bandwidthBytesPerSec: 1.25e7, latencyMs: 1 } },
];
/** Milliseconds each core probe spins. */
const PROBE_MS = 400;

type Variant = 'single' | 'dataParallel' | 'pipe2bw' | 'profile';
const VARIANTS: Variant[] = ['single', 'dataParallel', 'pipe2bw', 'profile'];

interface StageCosts {
  /** Per microbatch, ms. */
  fwdMs: number;
  bwdMs: number;
  /** Per batch, ms. */
  updateMs: number;
}

interface Round {
  loadAverage: number;
  /** Wall ms per batch of each variant. */
  msPerBatch: Record<Variant, number>;
  /** This process's CPU ms per batch (all threads). */
  cpuMsPerBatch: Record<Variant, number>;
  /** Cores other processes kept busy during each variant. */
  othersCores: Record<Variant, number>;
  /** Per-stage costs measured by the in-process profile, and by the 2BW run's worker stages. */
  profileCosts: StageCosts[];
  workerCosts: StageCosts[];
  /** The 2BW run's wall ms minus each worker stage's busy (forward + backward + update) ms. */
  workerIdleMs: number[];
  /** Cores this process got with 1 spinning thread (around the profile), 2 (around the 2BW run). */
  cores1: number;
  cores2: number;
  /** STAGES x cores1 / cores2: how much slower each op runs with every stage busy than alone. */
  computeScale: number;
  /**
   * Simulated ms per batch: from the profile with `computeScale` (the prediction), from the
   * profile assuming a free core per stage, and from the 2BW run's own worker op times.
   */
  predictedMsPerBatch: number;
  predictedDedicatedCoresMsPerBatch: number;
  predictedFromWorkerCostsMsPerBatch: number;
  simulatorErrorPct: number;
  simulatorErrorPctDedicatedCores: number;
  simulatorErrorPctWorkerCosts: number;
  /** Live tensors in each worker stage after the run. */
  stageTensors: number[];
}

function costsOf(stats: StageRunStats[]): StageCosts[] {
  return stats.map((s) => ({
    fwdMs: s.fwdMs / (STEPS * MICRO),
    bwdMs: s.bwdMs / (STEPS * MICRO),
    updateMs: s.updateMs / STEPS,
  }));
}

function simulate(costs: StageCosts[], outputBytes: number[], computeScale = 1): number {
  const stages: SimStage[] = costs.map((c, i) => ({ ...c, outputBytes: outputBytes[i] }));
  return simulatePipeline({
    mode: '2bw',
    stages,
    microbatches: MICRO,
    batches: STEPS,
    link: LINK,
    computeScale,
  }).msPerBatch;
}

/**
 * The costs the several-machine prediction needs, measured in this thread: the per-layer profile
 * of a SCALING_BLOCKS-block Transformer at the microbatch size, and the forward + backward of one
 * data-parallel worker's shard (SCALING_MICRO microbatches / d) for each worker count.
 */
function scalingCosts(
  config: { inputShape: number[]; numClasses: number; seed: number },
  rows: number,
) {
  const deep = buildModel('transformer', { ...config, numBlocks: SCALING_BLOCKS });
  try {
    const chain = buildChain(deep);
    const mb = randomBatch(SHAPE, rows, 31);
    const profile = profileChain(chain, mb, { repeats: 3 });
    tf.dispose([mb.xs, mb.ys]);
    const costs = costsFromProfile(chain, profile);
    const layers: ScalingLayer[] = profile.costs.stages.map((st, i) => ({
      name: st.name,
      fwdMs: st.keep[0].allMs,
      bwdMs: st.keep[0].bwdMs,
      weightBytes: costs[i].weightBytes,
      outputBytes: costs[i].outputBytes,
    }));
    const ctx = {
      variables: trainableVariables(deep),
      forward: defaultForward(deep),
      loss: resolveLoss(deep),
    };
    const dataParallelComputeMs: Record<number, number> = {};
    for (const d of SCALING_WORKERS) {
      const b = randomBatch(SHAPE, (rows * SCALING_MICRO) / d, 41 + d);
      const times: number[] = [];
      for (let k = 0; k < 4; k++) {
        const t0 = performance.now();
        tf.tidy(() => {
          const g = computeGradients(ctx, b);
          g.value.dataSync();
        });
        if (k > 0) times.push(performance.now() - t0);
      }
      tf.dispose([b.xs, b.ys]);
      dataParallelComputeMs[d] = median(times);
    }
    return { layers, dataParallelComputeMs };
  } finally {
    deep.dispose();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  if (!Number.isInteger(MICRO) || MICRO < 1 || BATCH % MICRO !== 0)
    throw new Error(`MICROBATCHES (${MICRO}) must be a positive divisor of BATCH (${BATCH})`);
  for (const [k, v] of [
    ['ROUNDS', ROUNDS],
    ['STEPS', STEPS],
    ['BATCH', BATCH],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
  await initEngine({ backend: BACKEND });
  useFastKernels();
  const config = { inputShape: SHAPE, numClasses: 10, seed: 1 };
  const single = buildModel('transformer', config);
  const optimizer = tf.train.adam(LR);
  const dpModel = buildModel('transformer', config);
  const pipeModel = buildModel('transformer', config);
  const profModel = buildModel('transformer', config);
  const modelWeightBytes = pipeModel.countParams() * 4;
  const batches = Array.from({ length: STEPS }, (_, i) => randomBatch(SHAPE, BATCH, 7 + i));
  const adam = { name: 'adam' as const, learningRate: LR };
  const t0 = performance.now();
  const dp = await ParallelTrainer.create(dpModel, { workers: WORKERS, optimizer: adam });
  const dpStartupMs = performance.now() - t0;
  const t1 = performance.now();
  const pipe = await PipelineTrainer.create(pipeModel, {
    stages: STAGES,
    microbatches: MICRO,
    schedule: '2bw',
    optimizer: adam,
    sample: batches[0],
  });
  const pipeStartupMs = performance.now() - t1;
  const prof = await PipelineTrainer.create(profModel, {
    stages: STAGES,
    microbatches: MICRO,
    schedule: '2bw',
    optimizer: adam,
    cuts: pipe.ranges.slice(1).map((r) => r.start),
    runner: 'in-process',
  });
  const chain = buildChain(pipeModel);
  const stageNames = pipe.ranges.map((r) =>
    chain.stages
      .slice(r.start, r.end)
      .map((s) => s.name)
      .join(', '),
  );
  // Bytes of the activation each stage sends on per microbatch (its gradient comes back).
  const outputBytes = pipe.ranges.map((r, i) => {
    if (i === STAGES - 1) return 0;
    const shape = chain.stages[r.end - 1].output.shape.slice(1) as number[];
    return (BATCH / MICRO) * shape.reduce((a, b) => a * b, 1) * 4;
  });
  const run: Record<Variant, () => Promise<StageRunStats[] | undefined>> = {
    single: async () => {
      for (const b of batches) trainStep({ model: single, optimizer }, b);
      return undefined;
    },
    dataParallel: async () => {
      for (const b of batches) await dp.step(b);
      return undefined;
    },
    pipe2bw: async () => {
      await pipe.runBatches(batches);
      return pipe.lastRun?.stages;
    },
    profile: async () => {
      await prof.runBatches(batches);
      return prof.lastRun?.stages;
    },
  };
  const probe = new CoreProbe(STAGES);
  const probed = { cores1: Number.NaN, cores2: Number.NaN };
  const rounds: Round[] = [];
  const mainTensors: number[] = [];
  try {
    // Warm-up: every variant once (kernels, optimizer slots, worker caches).
    for (const v of VARIANTS) await run[v]();
    for (let r = 0; r < ROUNDS; r++) {
      const loadAverage = loadavg()[0];
      const timed = {} as Record<Variant, CpuTiming<StageRunStats[] | undefined>>;
      for (let k = 0; k < VARIANTS.length; k++) {
        const v = VARIANTS[(k + r) % VARIANTS.length];
        // Core probes bracket the runs whose share of the CPU they stand for, under the same
        // load: 1 spinning thread around the profile (its op times are a lone thread's), 2
        // around the 2BW run (both stages busy). Each pair is averaged.
        const threads = v === 'profile' ? 1 : v === 'pipe2bw' ? STAGES : 0;
        const before = threads ? await probe.cores(threads, PROBE_MS) : 0;
        timed[v] = await withCpuLoad(run[v]);
        if (threads) {
          const cores = (before + (await probe.cores(threads, PROBE_MS))) / 2;
          if (threads === 1) probed.cores1 = cores;
          else probed.cores2 = cores;
        }
      }
      const per = (f: (t: CpuTiming<unknown>) => number) =>
        Object.fromEntries(VARIANTS.map((v) => [v, f(timed[v])])) as Record<Variant, number>;
      const pipeStats = timed.pipe2bw.value as StageRunStats[];
      const profileCosts = costsOf(timed.profile.value as StageRunStats[]);
      const workerCosts = costsOf(pipeStats);
      const pipeRunMs = pipe.lastRun?.ms ?? timed.pipe2bw.ms;
      const msPerBatch = per((t) => t.ms / STEPS);
      const computeScale = (STAGES * probed.cores1) / probed.cores2;
      const predicted = simulate(profileCosts, outputBytes, computeScale);
      const predictedDedicated = simulate(profileCosts, outputBytes);
      const predictedWorkers = simulate(workerCosts, outputBytes);
      const round: Round = {
        loadAverage,
        msPerBatch,
        cpuMsPerBatch: per((t) => t.cpuMs / STEPS),
        othersCores: per((t) => t.othersCores),
        profileCosts,
        workerCosts,
        workerIdleMs: pipeStats.map((s) => pipeRunMs - s.fwdMs - s.bwdMs - s.updateMs),
        cores1: probed.cores1,
        cores2: probed.cores2,
        computeScale,
        predictedMsPerBatch: predicted,
        predictedDedicatedCoresMsPerBatch: predictedDedicated,
        predictedFromWorkerCostsMsPerBatch: predictedWorkers,
        simulatorErrorPct: errorPct(predicted, msPerBatch.pipe2bw),
        simulatorErrorPctDedicatedCores: errorPct(predictedDedicated, msPerBatch.pipe2bw),
        simulatorErrorPctWorkerCosts: errorPct(predictedWorkers, msPerBatch.pipe2bw),
        stageTensors: pipeStats.map((s) => s.numTensors),
      };
      rounds.push(round);
      mainTensors.push(tf.memory().numTensors);
      console.error(
        `round ${r + 1}/${ROUNDS}: load ${fixed(loadAverage, 2)}; ms/batch: 1 thread ${fixed(msPerBatch.single)}, ${WORKERS} workers ${fixed(msPerBatch.dataParallel)}, 2bw ${fixed(msPerBatch.pipe2bw)} (simulated ${fixed(predicted)} from the profile x ${fixed(computeScale, 2)} [cores ${fixed(probed.cores1, 2)}/${fixed(probed.cores2, 2)}], ${fixed(predictedDedicated)} with a core per stage, ${fixed(predictedWorkers)} from the workers' op times), profile ${fixed(msPerBatch.profile)}; other processes ${VARIANTS.map((v) => fixed(round.othersCores[v], 2)).join('/')} cores`,
      );
    }
  } finally {
    await Promise.all([dp.close(), pipe.close(), prof.close(), probe.close()]);
    tf.dispose(batches.flatMap((b) => [b.xs, b.ys]));
    for (const m of [single, dpModel, pipeModel, profModel]) m.dispose();
    optimizer.dispose();
  }
  const med = (f: (r: Round) => number) => median(rounds.map(f));
  const medProfile = (k: 'updateMs') => med((r) => r.profileCosts.reduce((a, c) => a + c[k], 0));
  const scaling = scalingCosts(config, BATCH / MICRO);
  const scalingInput = {
    ...scaling,
    microbatchRows: BATCH / MICRO,
    microbatches: SCALING_MICRO,
    // The 2-stage profile's Adam update, per weight byte.
    updateMsPerWeightByte: medProfile('updateMs') / modelWeightBytes,
    batches: 20,
  };
  const scalingRows = predictScaling(scalingInput, SCALING_WORKERS, SCALING_LINKS);
  const ms = Object.fromEntries(VARIANTS.map((v) => [v, med((r) => r.msPerBatch[v])])) as Record<
    Variant,
    number
  >;
  const sps = (m: number) => (BATCH * 1000) / m;
  const medCosts = (pick: (r: Round) => StageCosts[]) =>
    pipe.ranges.map((_, i) => ({
      fwdMs: med((r) => pick(r)[i].fwdMs),
      bwdMs: med((r) => pick(r)[i].bwdMs),
      updateMs: med((r) => pick(r)[i].updateMs),
    }));
  const profileCosts = medCosts((r) => r.profileCosts);
  const workerCosts = medCosts((r) => r.workerCosts);
  const predicted = med((r) => r.predictedMsPerBatch);
  const predictedWorkers = med((r) => r.predictedFromWorkerCostsMsPerBatch);
  const predictedDedicated = med((r) => r.predictedDedicatedCoresMsPerBatch);
  const loads = rounds.map((r) => r.loadAverage);
  console.log(
    `zoo transformer (2 blocks, dModel 64, input ${SHAPE.join('x')}) training (Adam), batch ${BATCH}, fast kernels on ${BACKEND}; ${ROUNDS} interleaved rounds of ${STEPS} batches; ${availableParallelism()} cores; load average ${fixed(Math.min(...loads), 2)}-${fixed(Math.max(...loads), 2)}. 2BW: ${STAGES} stages [${stageNames.join(' | ')}], ${MICRO} microbatches of ${BATCH / MICRO} rows. Medians over the rounds.`,
  );
  printTable(
    undefined,
    ['variant', 'ms/batch', 'cpu ms/batch', 'samples/s', 'x one thread', 'x data parallel'],
    (
      [
        ['1 thread (trainStep)', 'single'],
        [`${WORKERS} data-parallel workers`, 'dataParallel'],
        [`2BW, ${STAGES} stage workers, ${MICRO} microbatches`, 'pipe2bw'],
        ['2BW stages in this thread (profile)', 'profile'],
      ] as [string, Variant][]
    ).map(([name, v]) => [
      name,
      fixed(ms[v]),
      fixed(med((r) => r.cpuMsPerBatch[v])),
      fixed(sps(ms[v]), 0),
      ratio(ms.single / ms[v]),
      ratio(ms.dataParallel / ms[v]),
    ]),
  );
  printTable(
    'per-stage costs (medians; forward/backward per microbatch, update per batch, ms)',
    ['stage', 'layers', 'profile fwd/bwd/update', 'workers fwd/bwd/update', 'worker idle ms/run'],
    pipe.ranges.map((_, i) => [
      String(i),
      stageNames[i],
      `${fixed(profileCosts[i].fwdMs)} / ${fixed(profileCosts[i].bwdMs)} / ${fixed(profileCosts[i].updateMs)}`,
      `${fixed(workerCosts[i].fwdMs)} / ${fixed(workerCosts[i].bwdMs)} / ${fixed(workerCosts[i].updateMs)}`,
      fixed(med((r) => r.workerIdleMs[i])),
    ]),
  );
  const simulatorErrorPct = med((r) => r.simulatorErrorPct);
  const headline = {
    pipe2bwVsDataParallel: ms.dataParallel / ms.pipe2bw,
    pipe2bwVsSingle: ms.single / ms.pipe2bw,
    dataParallelVsSingle: ms.single / ms.dataParallel,
    simulatorErrorPct,
    simulatorErrorPctOfMedians: errorPct(predicted, ms.pipe2bw),
    simulatorErrorPctDedicatedCores: med((r) => r.simulatorErrorPctDedicatedCores),
    simulatorErrorPctWorkerCosts: med((r) => r.simulatorErrorPctWorkerCosts),
    computeScale: med((r) => r.computeScale),
    simulatorPredictedSamplesPerSec: sps(predicted),
    pipe2bwSamplesPerSec: sps(ms.pipe2bw),
    dataParallelSamplesPerSec: sps(ms.dataParallel),
    singleSamplesPerSec: sps(ms.single),
    loadAverageMin: Math.min(...loads),
    loadAverageMax: Math.max(...loads),
  };
  console.log(
    `headline: pipe2bwVsDataParallel ${ratio(headline.pipe2bwVsDataParallel)}, pipe2bwVsSingle ${ratio(headline.pipe2bwVsSingle)}, simulatorErrorPct ${fixed(simulatorErrorPct, 1)}% (median per-round error; medians: predicted ${fixed(predicted)} ms/batch from the profile and the core probes, ${fixed(predictedDedicated)} assuming a free core per stage, ${fixed(predictedWorkers)} from the workers' op times; measured ${fixed(ms.pipe2bw)})`,
  );
  printTable(
    `predicted scaling over d machines (simulator): ${SCALING_BLOCKS}-block Transformer, batch ${BATCH / MICRO} x ${SCALING_MICRO} microbatches, costs measured in this thread; samples/s`,
    ['workers', 'link', '2BW', 'data parallel', '2BW / data parallel', 'bottleneck share'],
    scalingRows.map((r) => [
      String(r.workers),
      r.link,
      fixed(r.pipe2bwSamplesPerSec, 0),
      fixed(r.dataParallelSamplesPerSec, 0),
      ratio(r.pipe2bwSamplesPerSec / r.dataParallelSamplesPerSec),
      fixed(r.bottleneckShare, 3),
    ]),
  );
  const variant =
    BACKEND === 'wasm' && BATCH === 64 && MICRO === 4 ? '' : `-${BACKEND}-b${BATCH}-m${MICRO}`;
  const out = writeResults(
    'pipeline',
    {
      headline,
      model: 'transformer',
      modelConfig: { ...config, dModel: 64, numHeads: 4, numBlocks: 2 },
      batch: BATCH,
      microbatches: MICRO,
      stages: STAGES,
      stageLayers: stageNames,
      cutActivationBytes: outputBytes[0],
      workers: WORKERS,
      backend: BACKEND,
      kernels: 'fast',
      optimizer: 'adam',
      cores: availableParallelism(),
      roundsCount: ROUNDS,
      batchesPerRound: STEPS,
      link: 'in-process MessagePort: no bandwidth limit, no latency modelled',
      startupMs: { dataParallel: dpStartupMs, pipeline: pipeStartupMs },
      medianMsPerBatch: ms,
      medianPredictedMsPerBatch: predicted,
      medianPredictedFromWorkerCostsMsPerBatch: predictedWorkers,
      medianPredictedDedicatedCoresMsPerBatch: predictedDedicated,
      coreProbeMs: PROBE_MS,
      medianProfileCosts: profileCosts,
      medianWorkerCosts: workerCosts,
      mainThreadTensorsPerRound: mainTensors,
      scaling: {
        what: `predicted by the simulator from costs measured in this run: a ${SCALING_BLOCKS}-block zoo Transformer's per-layer forward/backward at ${BATCH / MICRO} rows (profileChain), each data-parallel shard's forward + backward per worker count, the 2-stage profile's Adam update per weight byte; one worker per machine; 2BW cut by planPipeline; data parallel: ring all-reduce, sharded optimizer`,
        blocks: SCALING_BLOCKS,
        microbatches: SCALING_MICRO,
        microbatchRows: BATCH / MICRO,
        batchesSimulated: scalingInput.batches,
        links: SCALING_LINKS.map((l) => ({ name: l.name, ...l.link })),
        layers: scalingInput.layers,
        dataParallelComputeMs: scalingInput.dataParallelComputeMs,
        updateMsPerWeightByte: scalingInput.updateMsPerWeightByte,
        rows: scalingRows,
      },
      rounds,
      seconds: (performance.now() - started) / 1000,
    },
    { file: `pipeline${variant}` },
  );
  console.log(`written to ${out} (${fixed((performance.now() - started) / 1000, 0)} s)`);
}

main();
