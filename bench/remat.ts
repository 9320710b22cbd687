// Rematerialization benchmark: plain training step vs planned steps (recompute-only Rotor and the
// joint planner with compressed tapes) at activation budgets from the plain step's activation
// memory down to an eighth of it, on the zoo ResNet and Transformer, both on wasm with frugal's
// fast kernels. Measured peak memory (memory meter), step time, overhead vs plain (each planned
// step interleaved with plain steps, median of the per-pair ratios), in one run. Plans run on the
// chain split inside residual blocks; the least budget of each planner is reported for that
// chain and for the whole-block chain. Writes bench/results/remat.json and bench/results/remat.svg.
//
//   npm run bench:remat            (about 3-5 minutes on a 2-core machine)
//   npm run bench:remat -- --quick (fewer budgets and timed steps)
import * as tf from '@tensorflow/tfjs';
import type { Batch, ClassificationData } from '../src/data/dataset.js';
import { batches } from '../src/data/dataset.js';
import { loadMnist } from '../src/data/mnist.js';
import { syntheticClassification } from '../src/data/synthetic.js';
import { initEngine } from '../src/engine/backend.js';
import { useFastKernels } from '../src/kernels/index.js';
import { buildModel } from '../src/models/zoo.js';
import { buildChain } from '../src/remat/chain.js';
import { scheduledForward } from '../src/remat/executor.js';
import { profileChain } from '../src/remat/profile.js';
import { InfeasibleBudgetError, limitOf, minimumPeak, planRotor } from '../src/remat/rotor.js';
import { type Op, simulate } from '../src/remat/schedule.js';
import { keepEverything, summarizePlan } from '../src/remat/summary.js';
import { renderSvgPlot } from '../src/report/svg-plot.js';
import {
  type ForwardFn,
  type StepContext,
  trainStep,
  trainStepMeasured,
} from '../src/train/step.js';
import {
  hasFlag,
  interleavedWallCpu,
  printTable,
  upperMedian,
  writeResultFile,
  writeResults,
} from './lib/index.js';

const quick = hasFlag('quick');
const FRACTIONS = quick ? [1, 1 / 3, 1 / 6] : [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 8];
const KEEP_BITS = [32, 8, 4, 2];

interface Case {
  model: 'resnet' | 'transformer';
  backend: string;
  /** Rounds (plain and each compared plan once) timed per budget. */
  timedSteps: number;
  make: () => { model: tf.LayersModel; batch: Batch; note: string };
}

function firstBatch(data: ClassificationData, size: number): Batch {
  const b = batches(data, 'train', size, { shuffle: true, seed: 1 }).next().value;
  if (!b) throw new Error('no batch');
  return b;
}

const CASES: Case[] = [
  {
    model: 'resnet',
    backend: 'wasm',
    timedSteps: quick ? 3 : 12,
    make: () => {
      const data = syntheticClassification({
        sampleShape: [16, 16, 1],
        numClasses: 10,
        trainCount: 16,
        seed: 1,
      });
      const model = buildModel('resnet', {
        inputShape: [16, 16, 1],
        widths: [16, 32],
        numClasses: 10,
        seed: 1,
      });
      return {
        model,
        batch: firstBatch(data, 16),
        note: 'synthetic 16x16x1, widths [16,32], batch 16',
      };
    },
  },
  {
    model: 'transformer',
    backend: 'wasm',
    timedSteps: quick ? 3 : 12,
    make: () => {
      const data = loadMnist({ layout: 'sequence', trainCount: 64, testCount: 1, seed: 1 });
      const model = buildModel('transformer', { inputShape: [28, 28], numClasses: 10, seed: 1 });
      return {
        model,
        batch: firstBatch(data, 16),
        note: 'sequential MNIST 28x28, dModel 64, 2 blocks, batch 16',
      };
    },
  },
];

interface Row {
  model: string;
  backend: string;
  planner: 'plain' | 'keep-all' | 'keep-all 2-bit' | 'exact' | 'joint';
  /** Predicted step time (profile) relative to keeping everything. */
  predictedOverhead?: number;
  /** The joint planner chose the recompute-only plan: measured once, shown for both. */
  sameAsExact?: boolean;
  /** Joint step time over the exact plan's at the same budget (median of same-round ratios). */
  measuredVsExact?: number;
  /** The same in process CPU time (steadier on a loaded machine: wasm runs on this thread). */
  measuredVsExactCpu?: number;
  /** For an infeasible budget: what sets the least budget. */
  limitedBy?: string;
  /** The chain the plan runs on: residual blocks whole, or split inside them. */
  chain?: 'blocks' | 'layers';
  budgetFraction: number | null;
  budgetBytes: number | null;
  feasible: boolean;
  minimumBytes?: number;
  measuredActivationBytes?: number;
  withinBudget?: boolean;
  stepMs?: number;
  overhead?: number;
  /** Process CPU time of the step (median) and its overhead vs plain (median of round ratios). */
  stepCpuMs?: number;
  overheadCpu?: number;
  predictedMs?: number;
  predictedPeakBytes?: number;
  recomputedForwards?: number;
  compressedStages?: number;
  schedule?: string;
}

/**
 * Memory of one measured step of each variant, and times against the plain step: every round runs
 * the plain step and each variant once, in an order that rotates from round to round, so load from
 * other processes hits all alike. A variant's overhead is the median over rounds of its time over
 * that round's plain time; `vs[j]` is the median over rounds of its time over variant j's.
 */
async function measure(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  batch: Batch,
  forwards: (ForwardFn | undefined)[],
  rounds: number,
  plainTimes: number[],
  plainCpuTimes: number[],
): Promise<
  {
    activationBytes: number;
    stepMs: number;
    stepCpuMs: number;
    ratio: number;
    ratioCpu: number;
    vs: number[];
    vsCpu: number[];
  }[]
> {
  const contexts: StepContext[] = [
    { model, optimizer },
    ...forwards.map((forward) => ({ model, optimizer, forward })),
  ];
  const memories: number[] = [];
  for (const ctx of contexts.slice(1)) {
    trainStep(ctx, batch);
    memories.push((await trainStepMeasured(ctx, batch)).memory.activationBytes);
  }
  const { wall: times, cpu } = interleavedWallCpu(
    contexts.map((ctx) => () => {
      trainStep(ctx, batch);
    }),
    { rounds, rotate: true },
  );
  plainTimes.push(...times[0]);
  plainCpuTimes.push(...cpu[0]);
  const ratio = (a: number[], b: number[]) => upperMedian(a.map((t, r) => t / b[r]));
  return forwards.map((_, v) => ({
    activationBytes: memories[v],
    stepMs: upperMedian(times[v + 1]),
    stepCpuMs: upperMedian(cpu[v + 1]),
    ratio: ratio(times[v + 1], times[0]),
    ratioCpu: ratio(cpu[v + 1], cpu[0]),
    vs: forwards.map((__, j) => ratio(times[v + 1], times[j + 1])),
    vsCpu: forwards.map((__, j) => ratio(cpu[v + 1], cpu[j + 1])),
  }));
}

/** One variant's figures from `measure`. */
type Measured = Awaited<ReturnType<typeof measure>>[number];

interface LeastBudget {
  model: string;
  /** 'blocks': residual blocks whole; 'layers': split inside them (the chain the plans use). */
  split: 'blocks' | 'layers';
  stages: number;
  plainActivationBytes: number;
  exactBytes: number;
  jointBytes: number;
  /** What sets each least budget (stage and op of the least-peak schedule). */
  exactLimit: string;
  jointLimit: string;
}
const leastBudgets: LeastBudget[] = [];

const mb = (b: number | undefined) => (b === undefined ? '' : (b / 1e6).toFixed(2));
const rows: Row[] = [];
const notes: Record<string, string> = {};
const started = performance.now();

for (const c of CASES) {
  const engine = await initEngine({ backend: c.backend });
  useFastKernels();
  const { model, batch, note } = c.make();
  notes[c.model] = `${note}, ${engine.backend} with fast kernels`;
  const log = (what: string) =>
    process.stderr.write(
      `[${((performance.now() - started) / 1000).toFixed(0)} s] ${c.model}: ${what}\n`,
    );
  const optimizer = tf.train.adam(1e-3);
  // Two chains: residual blocks whole, and split inside them. Each plan below uses whichever
  // chain gives the faster plan that fits (as planRemat does).
  const chains = (['blocks', 'layers'] as const).map((split) => ({
    split,
    chain: buildChain(model, { split }),
  }));
  const plainTimes: number[] = [];
  const plainCpuTimes: number[] = [];
  const [plainA] = await measure(
    model,
    optimizer,
    batch,
    [undefined],
    1,
    plainTimes,
    plainCpuTimes,
  );
  // After the first steps (Adam creates its slots there): nothing may be left behind from here.
  const tensorsBefore = tf.memory().numTensors;
  const variants = chains.map((v) => ({
    ...v,
    costs: profileChain(v.chain, batch, {
      repeats: quick ? 3 : 9,
      optimizer,
      compressedBits: KEEP_BITS.slice(1),
    }).costs,
  }));
  const [blocks] = variants;
  log(
    `plain ${plainA.stepMs.toFixed(0)} ms, profiled ${variants.map((v) => `${v.chain.stages.length} stages (${v.split})`).join(' and ')}`,
  );
  const base = { model: c.model, backend: engine.backend };
  const keepAllOps = keepEverything(blocks.chain.stages.length);
  const twoBitOps = keepAllOps.map((o) => ({ ...o, mode: KEEP_BITS.indexOf(2) }));
  const [keepAll, twoBit] = await measure(
    model,
    optimizer,
    batch,
    [
      scheduledForward(blocks.chain, keepAllOps),
      scheduledForward(blocks.chain, twoBitOps, { keepBits: KEEP_BITS }),
    ],
    c.timedSteps,
    plainTimes,
    plainCpuTimes,
  );
  const twoBitPredicted = simulate(blocks.costs, twoBitOps);
  const keepAllPredicted = simulate(blocks.costs, keepAllOps);
  const planned: Row[] = [];
  for (const v of variants) {
    leastBudgets.push({
      model: c.model,
      split: v.split,
      stages: v.chain.stages.length,
      plainActivationBytes: plainA.activationBytes,
      exactBytes: minimumPeak(v.costs, { modes: 'exact' }),
      jointBytes: minimumPeak(v.costs, { modes: 'joint' }),
      exactLimit: limitOf(v.costs, { modes: 'exact' }),
      jointLimit: limitOf(v.costs, { modes: 'joint' }),
    });
  }
  // The grid of budgets, plus the least budget of each planner (where they differ most).
  const least = {
    exact: Math.min(...variants.map((v) => minimumPeak(v.costs, { modes: 'exact' }))),
    joint: Math.min(...variants.map((v) => minimumPeak(v.costs, { modes: 'joint' }))),
  };
  const budgets = [
    ...FRACTIONS.map((f) => Math.round(f * plainA.activationBytes)),
    least.exact,
    least.joint,
  ]
    .filter((b, i, all) => all.indexOf(b) === i)
    .sort((a, b) => b - a);
  for (const budgetBytes of budgets) {
    const fraction = budgetBytes / plainA.activationBytes;
    const pair = (['exact', 'joint'] as const).map((planner) => {
      const row: Row = { ...base, planner, budgetFraction: fraction, budgetBytes, feasible: true };
      const plans = variants.flatMap((v) => {
        try {
          return [{ v, plan: planRotor(v.costs, budgetBytes, { modes: planner }) }];
        } catch (e) {
          if (!(e instanceof InfeasibleBudgetError)) throw e;
          return [];
        }
      });
      // Each chain's predictions are compared with its own keep-all prediction (the two profiles'
      // stage sums differ); ties go to the whole-block chain.
      const rel = (p: (typeof plans)[number]) =>
        p.plan.predicted.timeMs /
        simulate(p.v.costs, keepEverything(p.v.chain.stages.length)).timeMs;
      const best = plans.sort((x, y) => rel(x) - rel(y))[0];
      if (best === undefined) {
        const mins = variants.map((v) => minimumPeak(v.costs, { modes: planner }));
        const k = mins.indexOf(Math.min(...mins));
        Object.assign(row, {
          feasible: false,
          minimumBytes: mins[k],
          limitedBy: limitOf(variants[k].costs, { modes: planner }),
        });
        return { row, ops: undefined, chain: undefined };
      }
      const s = summarizePlan(best.plan, best.v.costs);
      Object.assign(row, {
        chain: best.v.split,
        predictedMs: s.predicted.timeMs,
        predictedOverhead: s.predictedOverhead,
        predictedPeakBytes: s.predicted.peakBytes,
        recomputedForwards: s.recomputedForwards,
        compressedStages: s.compressedStages,
        minimumBytes: Math.min(...plans.map((p) => p.plan.minimumBytes)),
        schedule: s.schedule,
      });
      return { row, ops: best.plan.ops as Op[] | undefined, chain: best.v.chain };
    });
    const [exact, joint] = pair;
    if (
      joint.ops &&
      exact.ops &&
      joint.row.schedule === exact.row.schedule &&
      joint.row.chain === exact.row.chain
    ) {
      joint.row.sameAsExact = true;
      joint.ops = undefined;
    }
    // The distinct feasible plans at this budget, timed in the same rounds.
    const timed = pair.filter((p) => p.ops !== undefined);
    const results =
      timed.length === 0
        ? []
        : await measure(
            model,
            optimizer,
            batch,
            timed.map((p) => scheduledForward(p.chain!, p.ops!, { keepBits: KEEP_BITS })),
            c.timedSteps,
            plainTimes,
            plainCpuTimes,
          );
    timed.forEach((p, k) => {
      const m = results[k];
      Object.assign(p.row, {
        measuredActivationBytes: m.activationBytes,
        withinBudget: m.activationBytes <= budgetBytes,
        stepMs: m.stepMs,
        overhead: m.ratio - 1,
        stepCpuMs: m.stepCpuMs,
        overheadCpu: m.ratioCpu - 1,
      });
    });
    if (timed.length === 2) {
      joint.row.measuredVsExact = results[1].vs[0];
      joint.row.measuredVsExactCpu = results[1].vsCpu[0];
    }
    if (joint.row.sameAsExact) {
      const e = exact.row;
      Object.assign(joint.row, {
        measuredActivationBytes: e.measuredActivationBytes,
        withinBudget: e.withinBudget,
        stepMs: e.stepMs,
        overhead: e.overhead,
        stepCpuMs: e.stepCpuMs,
        overheadCpu: e.overheadCpu,
        measuredVsExact: 1,
        measuredVsExactCpu: 1,
      });
    }
    for (const p of pair) {
      planned.push(p.row);
      const r = p.row;
      log(
        `${r.planner} at ${(100 * fraction).toFixed(0)}%: ${r.feasible ? `${r.stepMs?.toFixed(0)} ms${r.sameAsExact ? ' (same plan as exact)' : ''}` : 'infeasible'}`,
      );
    }
  }
  const plainMs = upperMedian(plainTimes);
  const plainCpuMs = upperMedian(plainCpuTimes);
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0) throw new Error(`${c.model}: ${leaked} tensors leaked over the benchmark`);
  /** The row of a plan fixed for the whole chain (no budget): its measured and predicted step. */
  const fixedPlanRow = (
    planner: Row['planner'],
    m: Measured,
    predicted: ReturnType<typeof simulate>,
  ) => ({
    ...base,
    planner,
    budgetFraction: null,
    budgetBytes: null,
    feasible: true,
    measuredActivationBytes: m.activationBytes,
    stepMs: m.stepMs,
    overhead: m.ratio - 1,
    stepCpuMs: m.stepCpuMs,
    overheadCpu: m.ratioCpu - 1,
    predictedMs: predicted.timeMs,
    predictedPeakBytes: predicted.peakBytes,
  });
  rows.push(
    {
      ...base,
      planner: 'plain',
      budgetFraction: null,
      budgetBytes: null,
      feasible: true,
      measuredActivationBytes: plainA.activationBytes,
      stepMs: plainMs,
      overhead: 0,
      stepCpuMs: plainCpuMs,
      overheadCpu: 0,
    },
    {
      ...fixedPlanRow('keep-all', keepAll, keepAllPredicted),
      predictedOverhead: 0,
      minimumBytes: least.exact,
    },
    {
      ...fixedPlanRow('keep-all 2-bit', twoBit, twoBitPredicted),
      predictedOverhead: twoBitPredicted.timeMs / keepAllPredicted.timeMs - 1,
      compressedStages: blocks.chain.stages.length,
      recomputedForwards: 0,
    },
  );
  rows.push(...planned);
  tf.dispose([batch.xs, batch.ys]);
  optimizer.dispose();
  model.dispose();
}

const pct = (x: number | undefined) =>
  x === undefined ? '' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
printTable(
  undefined,
  [
    'model',
    'backend',
    'planner',
    'chain',
    'budget MB (of plain act)',
    'measured act MB',
    'within',
    'step ms',
    'vs plain',
    'vs plain (cpu)',
    'vs keep-all: measured',
    'predicted',
    'joint / exact time',
    'joint / exact cpu',
    'recomputed fwd',
    'compressed',
  ],
  rows.map((r) => {
    const keepAll = rows.find((k) => k.model === r.model && k.planner === 'keep-all');
    const vsKeepAll =
      r.overhead === undefined || keepAll?.overhead === undefined
        ? undefined
        : (1 + r.overhead) / (1 + keepAll.overhead) - 1;
    return [
      r.model,
      r.backend,
      r.planner,
      r.chain ?? (r.planner.startsWith('keep-all') ? 'blocks' : ''),
      r.budgetFraction === null || r.budgetBytes === null
        ? '-'
        : `${mb(r.budgetBytes)} (${(100 * r.budgetFraction).toFixed(0)}%)`,
      r.feasible ? mb(r.measuredActivationBytes) : `infeasible (least ${mb(r.minimumBytes)})`,
      r.withinBudget === undefined ? '' : r.withinBudget ? 'yes' : 'NO',
      r.stepMs === undefined ? '' : r.stepMs.toFixed(0),
      pct(r.overhead),
      pct(r.overheadCpu),
      r.planner === 'plain' ? '' : pct(vsKeepAll),
      pct(r.predictedOverhead),
      r.measuredVsExact === undefined ? '' : r.measuredVsExact.toFixed(2),
      r.measuredVsExactCpu === undefined ? '' : r.measuredVsExactCpu.toFixed(2),
      r.recomputedForwards ?? '',
      r.sameAsExact ? 'same plan as exact' : (r.compressedStages ?? ''),
    ];
  }),
);
printTable(
  undefined,
  [
    'model',
    'chain',
    'least budget, exact (MB)',
    'least budget, joint (MB)',
    'joint / exact',
    'set by (exact | joint)',
  ],
  leastBudgets.map((l) => [
    l.model,
    `${l.split} (${l.stages} stages)`,
    `${mb(l.exactBytes)} (${((100 * l.exactBytes) / l.plainActivationBytes).toFixed(0)}% of plain act)`,
    `${mb(l.jointBytes)} (${((100 * l.jointBytes) / l.plainActivationBytes).toFixed(0)}% of plain act)`,
    (l.jointBytes / l.exactBytes).toFixed(2),
    `${l.exactLimit} | ${l.jointLimit}`,
  ]),
);
for (const [m, n] of Object.entries(notes)) console.log(`${m}: ${n}`);
console.log(
  'MB = 10^6 bytes; act = step peak minus weights, gradients, optimizer state and batch. Times: median of per-round ratios, each round running plain and the compared plans once in rotating order; (cpu): the same in process CPU time (stage profiles read CPU time too: profileChain clock auto). "vs keep-all: measured" = (1 + vs plain) / (1 + keep-all vs plain) - 1, comparable with "predicted" (profile, vs keep-all). "joint / exact time": same rounds, same budget.',
);

const series = rows
  .filter((r) => r.planner === 'exact' || r.planner === 'joint')
  .reduce(
    (acc, r) => {
      const key = `${r.model} ${r.planner}`;
      acc[key] ??= [];
      if (r.overhead !== undefined && r.budgetFraction !== null)
        acc[key].push([r.budgetFraction, 100 * r.overhead]);
      return acc;
    },
    {} as Record<string, [number, number][]>,
  );
const svg = renderSvgPlot({
  title: 'Step time vs activation budget (frugal remat)',
  xLabel: 'budget / plain step activation memory',
  yLabel: 'step time vs plain (%)',
  // Infeasible budgets have no time: they are left out of the lines.
  series: Object.entries(series).map(([name, points]) => ({
    name,
    points: points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y]) => ({ x, y })),
    line: true,
  })),
});
const svgPath = writeResultFile('remat.svg', svg);
/** Plain step's activation bytes / a planner's least budget over both chains (7 = 7x less). */
const leastReduction = (model: string, key: 'exactBytes' | 'jointBytes') => {
  const ls = leastBudgets.filter((l) => l.model === model);
  return ls.length === 0
    ? Number.NaN
    : ls[0].plainActivationBytes / Math.min(...ls.map((l) => l[key]));
};
/** Measured overhead vs plain (a fraction) of a planner at the budget nearest `fraction`. */
const overheadNear = (model: string, planner: 'exact' | 'joint', fraction: number) => {
  const rs = rows.filter(
    (r) => r.model === model && r.planner === planner && r.budgetFraction !== null && r.feasible,
  );
  const near = rs.sort(
    (a, b) =>
      Math.abs((a.budgetFraction ?? 0) - fraction) - Math.abs((b.budgetFraction ?? 0) - fraction),
  )[0];
  return near?.overhead ?? Number.NaN;
};
const headline: Record<string, number> = {};
for (const c of CASES) {
  headline[`${c.model}LeastBudgetReductionExact`] = leastReduction(c.model, 'exactBytes');
  headline[`${c.model}LeastBudgetReductionJoint`] = leastReduction(c.model, 'jointBytes');
}
// The step-time cost of training in a sixth of the plain activations (joint planner), worst model.
headline.jointOverheadAtSixthWorst = Math.max(
  ...CASES.map((c) => overheadNear(c.model, 'joint', 1 / 6)),
);
// Budgets at which the joint plan (one that compresses: not the recompute-only plan itself) ran
// faster than the recompute-only plan, both feasible, timed in the same rounds (median of the
// per-round ratios below 1): in process CPU time (wasm computes on this thread; on this loaded
// machine wall time is mostly the other processes) and in wall time; and budgets only the joint
// planner can meet (no recompute-only plan to race, so not counted as wins).
const jointRows = (model: string) =>
  rows.filter((r) => r.model === model && r.planner === 'joint' && r.budgetFraction !== null);
const wins = (model: string, key: 'measuredVsExact' | 'measuredVsExactCpu') =>
  jointRows(model).filter((r) => !r.sameAsExact && r[key] !== undefined && (r[key] as number) < 1)
    .length;
for (const c of CASES) {
  headline[`${c.model}JointWinsBudgets`] = wins(c.model, 'measuredVsExactCpu');
  headline[`${c.model}JointWinsBudgetsWall`] = wins(c.model, 'measuredVsExact');
  headline[`${c.model}JointPlansRaced`] = jointRows(c.model).filter(
    (r) => !r.sameAsExact && r.measuredVsExact !== undefined,
  ).length;
  headline[`${c.model}JointOnlyBudgets`] = jointRows(c.model).filter(
    (r) =>
      r.feasible &&
      !rows.some(
        (e) =>
          e.model === c.model &&
          e.planner === 'exact' &&
          e.budgetBytes === r.budgetBytes &&
          e.feasible,
      ),
  ).length;
}
/** The fewest wins over the models (the target is per model), CPU time. */
headline.jointWinsBudgets = Math.min(...CASES.map((c) => headline[`${c.model}JointWinsBudgets`]));
const jsonPath = writeResults('remat', {
  headline,
  command: `npm run bench:remat${quick ? ' -- --quick' : ''}`,
  seconds: Math.round((performance.now() - started) / 1000),
  cases: notes,
  keepBits: KEEP_BITS.join(', '),
  leastBudgets,
  rows,
});
console.log(`wrote ${jsonPath} and ${svgPath}`);
