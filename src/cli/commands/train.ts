import * as tf from '@tensorflow/tfjs';
import type { RmmKind } from '../../activation/backward/rmm.js';
import type { ActivationBits } from '../../activation/codec/bits.js';
import type { FewbitBits } from '../../activation/codec/fewbit-table.js';
import type { ActConfig, ActLevel } from '../../activation/config.js';
import type { ConvertedLayer, UnconvertedLayer } from '../../activation/convert.js';
import { compressForTraining } from '../../activation/training.js';
import { loadDataset } from '../../data/load.js';
import { writeJsonAtomic } from '../../io/atomic-write.js';
import { saveModel } from '../../io/model-files.js';
import { checkModelDir, checkOutputFile } from '../../io/output-paths.js';
import { buildModel, isZooModel, ZOO_LAYOUT, ZOO_MODELS } from '../../models/zoo.js';
import type { PipelineMode } from '../../pipeline/schedule.js';
import { trainPipelined } from '../../pipeline/train-pipelined.js';
import type { RematPlan } from '../../remat/plan-model.js';
import { type PlanSummary, planLine, summarizePlan } from '../../remat/summary.js';
import { fixed, mb, pct } from '../../report/format.js';
import { type TrainResult, train } from '../../train/loop.js';
import { makeOptimizer, type OptimizerName } from '../../train/optimizer.js';
import { trainParallel } from '../../train/parallel/index.js';
import { planTrainingStep, startEngine } from '../memory-plan.js';
import { type OdeCliOptions, odenetOptions } from '../ode-options.js';
import { progressBar, progressWanted, taskLines } from '../progress-bar.js';
import { renderTable } from '../table.js';
import { timeProgress } from '../time-progress.js';
import { baselineOptions, l0BaselineOptions } from './train-baseline.js';
import {
  applyLowPrecision,
  checkLowPrecisionOptions,
  type LowPrecisionReport,
} from './train-lowprec.js';
import { checkPipelineOptions, type PipelineReport } from './train-pipeline.js';
import {
  applyRecipe,
  checkRecipeOptions,
  dataRecipePlan,
  hasRecipe,
  hasRecipeOptions,
  type RecipeCliOptions,
  type RecipeReport,
  recipeReport,
  stepHooks,
} from './train-recipes.js';

import {
  applyGradSparsity,
  checkGradSparsityOptions,
  type GradSparsityPreset,
  gradPruneFromOptions,
  modelToSave,
  prunedZeroFraction,
} from './train-sparse.js';
import {
  checkThreadOptions,
  resolveThreads,
  type ThreadCliOptions,
  type ThreadReport,
} from './train-threads.js';
import {
  applyTransposable,
  checkTransposableOptions,
  plannedSteps,
  type TransposableCliOptions,
  transposableReport,
  transposableSettings,
} from './train-transposable.js';

export interface TrainCommandOptions
  extends OdeCliOptions,
    ThreadCliOptions,
    RecipeCliOptions,
    TransposableCliOptions {
  model: string;
  dataset: string;
  epochs: number;
  batch: number;
  lr: number;
  optimizer: OptimizerName;
  backend: string;
  seed: number;
  trainCount?: number;
  testCount?: number;
  maxSteps: number;
  out?: string;
  save?: string;
  /** With --save: allow a non-empty directory that holds no model (only model.json and weights.bin are written). */
  overwrite?: boolean;
  progress: boolean;
  /** frugal's fast training kernels (default on; `--no-fast-kernels` turns them off). */
  fastKernels?: boolean;
  /** Worker threads for data-parallel training (default 1: train on this thread). */
  workers?: number;
  /** Pipelined training (--pipeline, --stages, --microbatches; see train-pipeline.ts). */
  pipeline?: PipelineMode;
  stages?: number;
  microbatches?: number;
  /** Compressed activations (ActNN): any of these turns them on. */
  actLevel?: ActLevel;
  actBits?: ActivationBits;
  fewbit?: FewbitBits;
  rmm?: number;
  rmmKind?: RmmKind;
  /** Chunked training forward: 'auto', 'off' or samples per chunk. */
  forwardChunk?: 'auto' | 'off' | number;
  /** Per-sample bits inside each layer's quantized saves (ActNN). */
  perSampleBits?: boolean;
  /** Activation memory budget in bytes: plan each step to fit it (rematerialization). */
  memoryBudget?: number;
  /** Also train the plain model (same seed and schedule) first and print both rows. */
  baseline?: boolean;
  /** Print the table (internal: the baseline run prints through the compared run). */
  print?: boolean;
  remat?: 'exact' | 'joint';
  /** Sparse backward passes: Dense/Conv2D prune dy N:M before the weight-gradient product. */
  gradSparsity?: GradSparsityPreset;
  /** 8-bit training: weights, activations and layer gradients at this many bits, Range BN. */
  lowPrecision?: number;
  /** Target prune rate p of --grad-sparsity stochastic (default 0.9). */
  gradPruneRate?: number;
}

/** The activation-compression config the CLI options ask for, or null for plain training. */
export function actConfigFromOptions(o: TrainCommandOptions): Partial<ActConfig> | null {
  if (
    o.actLevel === undefined &&
    o.actBits === undefined &&
    !o.fewbit &&
    o.rmm === undefined &&
    !o.perSampleBits
  )
    return null;
  return {
    level: o.actLevel ?? (o.actBits === undefined && !o.perSampleBits ? 'L0' : 'L3'),
    perSample: o.perSampleBits ?? false,
    bits: o.actBits ?? null,
    fewbit: o.fewbit ?? 0,
    rmm: o.rmm === undefined ? null : { ratio: o.rmm, kind: o.rmmKind ?? 'gaussian' },
    seed: o.seed,
    forwardChunk: o.forwardChunk ?? 'auto',
  };
}

export interface TrainReport {
  tool: 'frugal train';
  backend: string;
  fastKernels: boolean;
  workers: number;
  /** XNNPACK threads and workers of the run (--threads, --parallel auto). */
  parallel: ThreadReport;
  /** The pipeline, when trained with --pipeline. */
  pipeline?: PipelineReport;
  model: string;
  dataset: string;
  parameters: number;
  result: TrainResult;
  activations?: {
    config: Partial<ActConfig>;
    converted: ConvertedLayer[];
    unconverted: UnconvertedLayer[];
    mixedBits?: Record<string, ActivationBits>;
    /** Samples per chunk of the chunked training forward (null: whole batch). */
    forwardChunkRows: number | null;
  };
  /** The memory plan, when trained under --memory-budget. */
  remat?: PlanSummary;
  /** Sparse backward passes, when trained with --grad-sparsity. */
  gradSparsity?: {
    preset?: GradSparsityPreset;
    spec: unknown;
    converted: unknown[];
    unconverted: unknown[];
    /** Zeros among all pruned output-gradient entries over the run (below p for stochastic). */
    zeroFraction: number | null;
  };
  /** Low-precision training, when trained with --low-precision. */
  lowPrecision?: LowPrecisionReport;
  /** Transposable N:M weight masks, when trained with --transposable. */
  transposable?: ReturnType<typeof transposableReport>;
  /** The recipe, data recipe and time budget, when trained with them (train-recipes.ts). */
  recipe?: RecipeReport;
  /** The plain run, when trained with --baseline. */
  baseline?: TrainReport;
  /** frugal's layers with float32 saves (L0), when a compressed-activation run has --baseline. */
  l0Baseline?: TrainReport;
}

/**
 * The planner's keep modes under --memory-budget. --act-bits 2/4/8 there means "the joint
 * planner may keep tapes compressed at that many bits" (--act-bits 32: exact tapes only); the
 * other --act-* options convert layers, which the planner's chain does not handle: they error.
 */
export function rematTapeBits(
  o: Pick<
    TrainCommandOptions,
    'memoryBudget' | 'remat' | 'actBits' | 'actLevel' | 'fewbit' | 'rmm'
  >,
): {
  modes?: 'exact' | 'joint';
  compressedBits?: number[];
} {
  if (o.memoryBudget === undefined) return {};
  const layerOptions = [
    o.actLevel !== undefined && '--act-level',
    o.fewbit !== undefined && '--fewbit',
    o.rmm !== undefined && '--rmm',
  ].filter((x): x is string => typeof x === 'string');
  if (layerOptions.length > 0)
    throw new Error(
      `--memory-budget cannot be combined with ${layerOptions.join(', ')} (they convert layers; the memory planner recomputes or compresses whole stages): drop one; --act-bits 2, 4 or 8 with --memory-budget sets the planner's compressed tapes`,
    );
  if (o.actBits === undefined) return { modes: o.remat };
  if (o.actBits === 32) {
    if (o.remat === 'joint')
      throw new Error(
        '--remat joint needs compressed tapes but --act-bits 32 keeps them exact: use --act-bits 2, 4 or 8, or --remat exact',
      );
    return { modes: 'exact' };
  }
  if (o.actBits === 1)
    throw new Error(
      '--act-bits 1 cannot be used with --memory-budget: compressed tapes are kept at 2, 4 or 8 bits',
    );
  if (o.remat === 'exact')
    throw new Error(
      `--remat exact keeps tapes exact but --act-bits ${o.actBits} asks for compressed ones: use --remat joint (or leave it out) with --act-bits, or drop --act-bits`,
    );
  return { modes: 'joint', compressedBits: [o.actBits] };
}

/**
 * Options that would change nothing, or that contradict each other: an error naming them, before
 * any work (a silent no-op misleads the user about what ran).
 */
export function checkTrainOptionsTakeEffect(o: TrainCommandOptions): void {
  const budget = o.memoryBudget !== undefined;
  if (o.remat !== undefined && !budget)
    throw new Error(`--remat ${o.remat} applies to --memory-budget: give a budget or drop --remat`);
  if (o.rmmKind !== undefined && o.rmm === undefined)
    throw new Error(
      `--rmm-kind ${o.rmmKind} applies to --rmm <ratio>: give --rmm or drop --rmm-kind`,
    );
  if (o.actBits !== undefined && o.actLevel !== undefined)
    throw new Error(
      `--act-bits ${o.actBits} and --act-level ${o.actLevel} both set the saved bits: give one of them`,
    );
  if (o.perSampleBits && o.actBits === 32)
    throw new Error(
      '--per-sample-bits allocates compressed bits, but --act-bits 32 keeps every sample in float32: drop one',
    );
  checkGradSparsityOptions(o);
  checkLowPrecisionOptions(o, actConfigFromOptions(o) !== null);
  checkTransposableOptions(o, actConfigFromOptions(o) !== null);
  if (
    o.baseline &&
    !budget &&
    actConfigFromOptions(o) === null &&
    !o.gradSparsity &&
    o.lowPrecision === undefined &&
    o.transposable === undefined &&
    !hasRecipeOptions(o)
  )
    throw new Error(
      '--baseline compares with a plain run, but this run is plain already: add --act-* options, --low-precision, --transposable, --memory-budget or a recipe, or drop --baseline',
    );
}

/** `frugal train`: builds a zoo model, trains it, prints the table, writes the JSON report. */
export async function trainCommand(o: TrainCommandOptions): Promise<TrainReport> {
  if (!isZooModel(o.model))
    throw new Error(`Unknown model '${o.model}': choose one of ${ZOO_MODELS.join(', ')}`);
  const odenet = odenetOptions(o.model, o);
  checkTrainOptionsTakeEffect(o);
  const recipePlan = checkRecipeOptions(o);
  // Output paths are checked before any work, so a bad one fails now, not after training.
  if (o.out !== undefined) checkOutputFile(o.out, '--out');
  if (o.save !== undefined)
    checkModelDir(o.save, {
      overwrite: o.overwrite,
      label: '--save',
      overwriteHint: 'pass --overwrite',
    });
  else if (o.overwrite)
    throw new Error('--overwrite applies to --save: give --save <dir> or drop --overwrite');
  const rematBits = rematTapeBits(o);
  // Under --memory-budget, --act-bits sets the planner's compressed tapes, not compressed layers.
  const actConfig = o.memoryBudget === undefined ? actConfigFromOptions(o) : null;
  const pipeline = checkPipelineOptions(
    o,
    !actConfig &&
      o.memoryBudget === undefined &&
      !o.gradSparsity &&
      o.lowPrecision === undefined &&
      !hasRecipe(recipePlan) &&
      recipePlan.timeBudgetMs === undefined,
  );
  const threadPlan = checkThreadOptions(o, !actConfig && o.memoryBudget === undefined);
  if ((o.workers ?? 1) > 1 && (actConfig || o.memoryBudget !== undefined)) {
    throw new Error(
      '--workers cannot be combined with --act-* options or --memory-budget yet: the workers run the plain forward pass',
    );
  }
  // The checks that need the data (batch size, the transposable ramp) run before --baseline's run.
  const data = loadDataset(o.dataset, {
    layout: ZOO_LAYOUT[o.model],
    trainCount: o.trainCount,
    testCount: o.testCount,
    seed: o.seed,
  });
  if (o.batch > data.train.count)
    throw new Error(
      `--batch ${o.batch} is larger than the ${data.train.count} training samples of ${o.dataset}: use --batch ${data.train.count} or less (or more --train-count)`,
    );
  const masks = transposableSettings(
    o,
    plannedSteps(o.epochs, data.train.count, o.batch, o.maxSteps),
  );
  const baseline =
    o.baseline &&
    (actConfig ||
      o.memoryBudget !== undefined ||
      o.gradSparsity ||
      o.lowPrecision !== undefined ||
      o.transposable !== undefined ||
      hasRecipe(recipePlan))
      ? await trainCommand(baselineOptions(o))
      : undefined;
  const l0Options = o.baseline ? l0BaselineOptions(o) : undefined;
  const l0Baseline = l0Options ? await trainCommand(l0Options) : undefined;
  const engine = await startEngine({ ...o, threads: threadPlan.mainThreads });
  let model = buildModel(o.model, {
    inputShape: data.sampleShape,
    numClasses: data.numClasses,
    seed: o.seed,
    ...odenet,
  });
  const recipe = applyRecipe(model, data, recipePlan, o);
  model = recipe.model;
  const sparse = applyGradSparsity(model, o);
  if (sparse) {
    model.dispose();
    model = sparse.model;
  }
  const lowPrecision = applyLowPrecision(model, o);
  if (lowPrecision) {
    model.dispose();
    model = lowPrecision.model;
  }
  const transposable = masks ? applyTransposable(model, masks) : null;
  const tasks = taskLines(progressWanted(o.progress));
  const act = actConfig
    ? await compressForTraining(model, actConfig, data, { onProgress: tasks.onProgress })
    : null;
  if (act) {
    model.dispose();
    model = act.model;
  }
  const batchPlan = dataRecipePlan(model, data, recipePlan, o.seed);
  const optimizer = makeOptimizer(o.optimizer, o.lr);
  let remat: RematPlan | undefined;
  if (o.memoryBudget !== undefined) {
    try {
      remat = planTrainingStep(model, data, {
        ...rematBits,
        batch: o.batch,
        memoryBudget: o.memoryBudget,
        optimizer,
        onProgress: tasks.onProgress,
      });
    } finally {
      tasks.stop();
    }
    console.log(planLine(summarizePlan(remat.plan, remat.profile.costs)));
  }
  const bar = recipePlan.timeBudgetMs
    ? timeProgress(progressWanted(o.progress), recipePlan.timeBudgetMs)
    : progressBar(progressWanted(o.progress));
  const config = {
    epochs: o.epochs,
    batchSize: o.batch,
    learningRate: o.lr,
    optimizer: o.optimizer,
    seed: o.seed,
    maxStepsPerEpoch: o.maxSteps,
  };
  const parallel = await resolveThreads(threadPlan, model, data, o);
  const { workers, threadsPerWorker } = parallel;
  let result: TrainResult;
  try {
    result = pipeline
      ? await trainPipelined(model, data, config, {
          onProgress: bar.onProgress,
          stages: pipeline.stages,
          microbatches: pipeline.microbatches,
          schedule: pipeline.schedule,
        })
      : workers > 1
        ? await trainParallel(model, data, config, {
            onProgress: bar.onProgress,
            workers,
            threadsPerWorker,
          })
        : await train(model, data, config, {
            onProgress: (e) => {
              bar.onProgress(e);
              if (e.kind === 'step') act?.afterStep();
            },
            forward: act?.forward ?? remat?.forward,
            optimizer,
            hooks: stepHooks(recipe.hooks, batchPlan?.hooks, transposable?.hooks),
            batchPlan,
            timeBudgetMs: recipePlan.timeBudgetMs,
          });
  } finally {
    bar.stop();
    // the kernels keep W_d * M, exactly 0 where pruned: the model saves as plain layers
    transposable?.finish();
    act?.dispose();
    recipe.dispose();
    optimizer.dispose();
  }
  const report: TrainReport = {
    tool: 'frugal train',
    backend: engine.backend,
    fastKernels: o.fastKernels !== false,
    workers,
    parallel,
    ...(pipeline ? { pipeline } : {}),
    model: o.model,
    dataset: data.name,
    parameters: model.countParams(),
    result,
    ...(act && actConfig
      ? {
          activations: {
            config: actConfig,
            converted: act.converted,
            unconverted: act.unconverted,
            forwardChunkRows: act.chunkRows,
            ...(act.auto ? { mixedBits: act.auto.lastBits } : {}),
          },
        }
      : {}),
    ...(sparse
      ? {
          gradSparsity: {
            preset: o.gradSparsity,
            spec: gradPruneFromOptions(o),
            converted: sparse.converted,
            unconverted: sparse.unconverted,
            zeroFraction: prunedZeroFraction(model),
          },
        }
      : {}),
    ...(lowPrecision ? { lowPrecision: lowPrecision.report } : {}),
    ...(masks && transposable ? { transposable: transposableReport(masks, transposable) } : {}),
    recipe: recipeReport(recipePlan, recipe),
    remat: remat ? summarizePlan(remat.plan, remat.profile.costs) : undefined,
    baseline,
    l0Baseline,
  };
  if (o.print !== false) {
    const rows = [...(baseline ? [baseline] : []), ...(l0Baseline ? [l0Baseline] : []), report];
    console.log(renderTable(TABLE_HEAD, rows.map(tableRow)));
    const note = unmeasuredNote(report);
    if (note) console.log(note);
    if (baseline) console.log(comparisonLine(report, baseline));
    if (l0Baseline)
      console.log(comparisonLine(report, l0Baseline, "frugal's layers with float32 saves (L0)"));
  }
  if (o.out) {
    writeJsonAtomic(o.out, report);
    console.log(`report written to ${o.out}`);
  }
  if (o.save) {
    const toSave = modelToSave(model, o);
    await saveModel(toSave, o.save, { overwrite: o.overwrite });
    if (toSave !== model) toSave.dispose();
    console.log(`model saved to ${o.save}`);
  }
  model.dispose();
  return report;
}

export function leakCheck(): number {
  return tf.memory().numTensors;
}

/** ', chunks of N' when the chunked forward splits a batch, else ''. */
function chunkNote(rows: number | null, batch: number): string {
  return rows !== null && rows < batch ? `, chunks of ${rows}` : '';
}

function actLabel(c: Partial<ActConfig>): string {
  const parts = [c.bits ? `${c.bits}-bit` : c.level];
  if (c.fewbit) parts.push(`few-bit ${c.fewbit}`);
  if (c.rmm) parts.push(`rmm ${c.rmm.ratio}`);
  if (c.perSample) parts.push('per-sample bits');
  return parts.join(', ');
}

const TABLE_HEAD = [
  'model',
  'backend',
  'kernels',
  'workers',
  'params',
  'test acc',
  'step ms',
  'samples/s',
  'saved act MB',
  'act MB',
  'peak MB',
];

function tableRow(r: TrainReport): (string | number)[] {
  const m = r.result.memory;
  const label = r.activations
    ? `${r.model} (${actLabel(r.activations.config)}${chunkNote(r.activations.forwardChunkRows, r.result.config.batchSize)})`
    : r.remat
      ? `${r.model} (remat)`
      : r.lowPrecision
        ? `${r.model} (${r.lowPrecision.spec.weights}-bit training)`
        : r.transposable
          ? `${r.model} (transposable ${r.transposable.n}:${r.transposable.m})`
          : r.model;
  return [
    label,
    r.backend,
    r.fastKernels ? 'fast' : 'stock',
    r.workers,
    r.parameters,
    pct(r.result.testAccuracy),
    fixed(r.result.meanStepMs),
    fixed(r.result.samplesPerSecond, 0),
    m ? mb(m.savedActivationBytes) : 'n/a',
    m ? mb(m.activationBytes) : 'n/a',
    m ? mb(m.peakBytes) : 'n/a',
  ];
}

/**
 * Why a run's step time or memory is n/a: the first step warms up, the second is metered for
 * memory, and only later steps are timed, so runs of 1 or 2 steps have no step time.
 */
export function unmeasuredNote(r: TrainReport): string | null {
  const missing = [
    !Number.isFinite(r.result.meanStepMs) && 'step time',
    !r.result.memory && r.result.config.measureMemory && 'memory',
  ].filter((x): x is string => typeof x === 'string');
  if (missing.length === 0) return null;
  return `${missing.join(' and ')} n/a: the first step warms up, the second is metered for memory and only the later ones are timed; this run had too few steps (raise --max-steps to 3 or more)`;
}

/** One line comparing a run with its plain baseline (same seed, data and schedule). */
export function comparisonLine(
  r: TrainReport,
  base: TrainReport,
  against = 'the plain run',
): string {
  const m = r.result.memory;
  const b = base.result.memory;
  const parts: string[] = [];
  if (m && b) {
    parts.push(
      `saved activations ${(b.savedActivationBytes / m.savedActivationBytes).toFixed(1)}x smaller`,
    );
    parts.push(`step peak ${(b.peakBytes / m.peakBytes).toFixed(2)}x lower`);
  }
  const acc = (r.result.testAccuracy - base.result.testAccuracy) * 100;
  parts.push(`accuracy ${acc >= 0 ? '+' : ''}${acc.toFixed(2)} points`);
  const time = (r.result.meanStepMs / base.result.meanStepMs - 1) * 100;
  if (Number.isFinite(time)) parts.push(`step time ${time >= 0 ? '+' : ''}${time.toFixed(0)}%`);
  else parts.push('step time n/a (too few steps to time)');
  return `vs ${against}: ${parts.join(', ')}`;
}
