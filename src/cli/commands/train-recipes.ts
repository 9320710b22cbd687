// `frugal train --recipe haet`, each recipe part on its own, the data recipes (SwiftLearn, batch
// augmentation, mixed-size training) and `--time-budget 60s` (src/recipes). Parsing, the checks
// (before any work) and the model and plan preparation; train.ts calls these in a few lines.
import * as tf from '@tensorflow/tfjs';
import { type Command, InvalidArgumentError } from 'commander';
import type { ClassificationData } from '../../data/dataset.js';
import {
  BUDGET_SCHEDULE,
  composeHooks,
  type DataRecipeConfig,
  dataRecipeConfig,
  HAET_RECIPE,
  isPlainDataRecipe,
  isPlainRecipe,
  MIXED_SIZE_MODES,
  type MixedSizeMode,
  NO_RECIPE,
  OPT_VARIANTS,
  type OptVariant,
  prepareDataRecipe,
  prepareRecipe,
  RECIPES,
  type RecipeConfig,
  type RecipeName,
  recipeConfig,
  recipeModel,
  type ScheduleSpan,
  SWIFTLEARN_BALANCES,
  SWIFTLEARN_DEFAULTS,
  SWIFTLEARN_SCORES,
  SWIFTLEARN_SELECTS,
  type SwiftLearnBalance,
  type SwiftLearnScore,
  type SwiftLearnSelect,
} from '../../recipes/index.js';
import type { BatchPlan } from '../../train/batch-plan.js';
import type { StepHooks } from '../../train/gradients.js';
import { makeOptimizer, type OptimizerName } from '../../train/optimizer.js';
import { fraction, nonNegativeInt, oneOf, positiveInt, positiveNumber } from '../parse.js';

export interface RecipeCliOptions {
  recipe?: RecipeName;
  sam?: number;
  samEvery?: number;
  labelSmoothing?: number;
  gradCentralization?: boolean;
  patchWhitening?: number;
  celu?: number;
  weightDecay?: number;
  cot?: boolean;
  opt?: OptVariant;
  lrSchedule?: LrScheduleName;
  /** Wall-clock training budget in ms (--time-budget 60s). */
  timeBudget?: number;
  swiftlearn?: number;
  swiftlearnWarmup?: number;
  swiftlearnEvery?: number;
  swiftlearnScore?: SwiftLearnScore;
  swiftlearnSelect?: SwiftLearnSelect;
  swiftlearnBalance?: SwiftLearnBalance;
  swiftlearnDraw?: SwiftLearnDraw;
  swiftlearnMix?: number;
  swiftlearnWeighted?: boolean;
  swiftlearnAverage?: number;
  swiftlearnWarmupKeep?: number;
  batchAugment?: number;
  augmentShift?: number;
  augmentCutout?: number;
  augmentFlip?: boolean;
  mixedSize?: number[];
  mixedSizeMode?: MixedSizeMode;
  mixedSizeProbs?: number[];
}

/** Roles for `--baseline` (train-baseline.ts): the recipe is what the baseline drops. */
export const RECIPE_OPTION_ROLES = {
  recipe: 'feature',
  sam: 'feature',
  samEvery: 'feature',
  labelSmoothing: 'feature',
  gradCentralization: 'feature',
  patchWhitening: 'feature',
  celu: 'feature',
  weightDecay: 'feature',
  cot: 'feature',
  opt: 'feature',
  lrSchedule: 'feature',
  // the plain run gets the same wall budget: that is the comparison
  timeBudget: 'core',
  swiftlearn: 'feature',
  swiftlearnWarmup: 'feature',
  swiftlearnEvery: 'feature',
  swiftlearnScore: 'feature',
  swiftlearnSelect: 'feature',
  swiftlearnBalance: 'feature',
  swiftlearnDraw: 'feature',
  swiftlearnMix: 'feature',
  swiftlearnWeighted: 'feature',
  swiftlearnAverage: 'feature',
  swiftlearnWarmupKeep: 'feature',
  batchAugment: 'feature',
  augmentShift: 'feature',
  augmentCutout: 'feature',
  augmentFlip: 'feature',
  mixedSize: 'feature',
  mixedSizeMode: 'feature',
  mixedSizeProbs: 'feature',
} as const satisfies Record<keyof RecipeCliOptions, 'core' | 'feature'>;

export const SWIFTLEARN_DRAWS = ['epoch', 'scoring'] as const;
export type SwiftLearnDraw = (typeof SWIFTLEARN_DRAWS)[number];

export const LR_SCHEDULES = ['budget', 'constant'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

/** Epochs with --time-budget and no --epochs: the budget ends the run. */
export const TIME_BUDGET_EPOCHS = 1_000_000;

/** A duration: 60s, 1.5m, 500ms, or a bare number of seconds; returns milliseconds. */
export function duration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|min)?\s*$/.exec(value);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !(n > 0))
    throw new InvalidArgumentError(
      `expected a positive duration such as 60s, 2m or 500ms, got '${value}'`,
    );
  const unit = m[2] ?? 's';
  return n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000);
}

function intList(min: number, what: string) {
  return (value: string): number[] => {
    const parts = value.split(',').map((s) => s.trim());
    const out = parts.map(Number);
    if (parts.some((s) => !/^\d+$/.test(s)) || out.some((n) => n < min))
      throw new InvalidArgumentError(
        `expected comma-separated ${what} (integers >= ${min}), got '${value}'`,
      );
    return out;
  };
}

function probList(value: string): number[] {
  const out = value.split(',').map((s) => Number(s.trim()));
  if (out.some((p) => !(p >= 0 && p <= 1)) || Math.abs(out.reduce((a, b) => a + b, 0) - 1) > 1e-6)
    throw new InvalidArgumentError(
      `expected comma-separated probabilities in [0, 1] summing to 1, got '${value}'`,
    );
  return out;
}

function unitInterval(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError(`expected a number in [0, 1], got '${value}'`);
  return n;
}

function openFraction(value: string): number {
  const n = fraction(value);
  if (n >= 1) throw new InvalidArgumentError(`expected a number in (0, 1), got '${value}'`);
  return n;
}

/** Adds the recipe, data-recipe and time-budget options to `frugal train`. */
export function addRecipeOptions(cmd: Command): Command {
  return cmd
    .option(
      '--recipe <name>',
      `training recipe preset: ${RECIPES.join(', ')} (haet: SAM 0.05, label smoothing 0.2, gradient centralisation, patch-whitened first conv, CELU 0.075, weight decay 5e-4, the budget learning-rate schedule peaking at 2x --lr); part options override it`,
      oneOf(RECIPES, 'recipe'),
    )
    .option('--sam <rho>', 'sharpness-aware minimisation with radius rho', positiveNumber)
    .option(
      '--sam-every <k>',
      "SAM's perturbed second pass on every k-th step only, plain steps between (default 1: every step)",
      positiveInt,
    )
    .option('--label-smoothing <eps>', 'label smoothing eps in (0, 1)', openFraction)
    .option(
      '--grad-centralization',
      'gradient centralisation (kernel gradients minus their mean per output channel)',
    )
    .option(
      '--patch-whitening <eps>',
      'set the first Conv2D to the whitening filters of the training patches (eps regularises)',
      positiveNumber,
    )
    .option('--celu <alpha>', 'replace every ReLU by CELU(alpha)', positiveNumber)
    .option('--weight-decay <x>', 'decoupled weight decay on kernels', positiveNumber)
    .option('--cot', 'complement objective training: a complement-entropy step after each step')
    .option(
      '--opt <variant>',
      `orthogonal over-parameterised training of the Dense and Conv2D layers: ${OPT_VARIANTS.join(', ')}`,
      oneOf(OPT_VARIANTS, 'OPT variant'),
    )
    .option(
      '--lr-schedule <name>',
      `learning-rate schedule: ${LR_SCHEDULES.join(', ')} (budget: linear warm-up over the first 20% of the run, then linear decay to 0 at the end of --time-budget, or of the last step without one, peaking at --lr; --recipe haet sets it peaking at 2x --lr, and --lr-schedule budget with it brings the peak to 1x)`,
      oneOf(LR_SCHEDULES, 'learning-rate schedule'),
    )
    .option(
      '--time-budget <time>',
      'train until this wall time (60s, 2m, 500ms) is used, then evaluate; without --epochs the budget alone ends the run',
      duration,
    )
    .option(
      '--swiftlearn <keep>',
      'SwiftLearn: after warm-up train on this fraction of the samples, the most important by score',
      openFraction,
    )
    .option(
      '--swiftlearn-warmup <epochs>',
      `SwiftLearn warm-up epochs on all data (default ${SWIFTLEARN_DEFAULTS.warmupEpochs})`,
      positiveInt,
    )
    .option(
      '--swiftlearn-every <k>',
      `SwiftLearn: re-score every k epochs (default ${SWIFTLEARN_DEFAULTS.every})`,
      positiveInt,
    )
    .option(
      '--swiftlearn-score <score>',
      `SwiftLearn importance score: ${SWIFTLEARN_SCORES.join(', ')} (default ${SWIFTLEARN_DEFAULTS.score})`,
      oneOf(SWIFTLEARN_SCORES, 'SwiftLearn score'),
    )
    .option(
      '--swiftlearn-select <how>',
      `SwiftLearn: ${SWIFTLEARN_SELECTS.join(', ')} (default sample: drawn with probability proportional to the score; top: the highest scores)`,
      oneOf(SWIFTLEARN_SELECTS, 'SwiftLearn selection'),
    )
    .option(
      '--swiftlearn-balance <how>',
      `SwiftLearn: ${SWIFTLEARN_BALANCES.join(', ')} (default class: each class keeps its share of the rows; none: one ranking over all)`,
      oneOf(SWIFTLEARN_BALANCES, 'SwiftLearn balance'),
    )
    .option(
      '--swiftlearn-draw <when>',
      `SwiftLearn: when the kept rows are drawn from the scores: ${SWIFTLEARN_DRAWS.join(', ')} (default epoch, with --swiftlearn-select sample: a fresh importance-sampled draw every epoch from the last scores, no extra scoring pass; scoring: only at each scoring)`,
      oneOf(SWIFTLEARN_DRAWS, 'SwiftLearn draw'),
    )
    .option(
      '--swiftlearn-mix <share>',
      `SwiftLearn: the uniform share of the sampling weights, in [0, 1] (select sample; default ${SWIFTLEARN_DEFAULTS.mix}; 0: by score alone; 1: uniform)`,
      unitInterval,
    )
    .option(
      '--swiftlearn-weighted',
      'SwiftLearn: draw with replacement and weight each row by its inverse sampling probability (unbiased; select sample; the default)',
    )
    .option(
      '--no-swiftlearn-weighted',
      'SwiftLearn: draw without replacement, unweighted (the kept rows favour high scores)',
    )
    .option(
      '--swiftlearn-average <share>',
      'SwiftLearn: each scoring keeps this share of the previous scores, in [0, 1) (default 0)',
      unitInterval,
    )
    .option(
      '--swiftlearn-warmup-keep <share>',
      'SwiftLearn: the share of the rows each warm-up epoch trains on, in (0, 1] (default 1; below 1 a sub-epoch warm-up)',
      unitInterval,
    )
    .option(
      '--batch-augment <copies>',
      'batch augmentation: each sample this many times (>= 2) per batch, independently augmented',
      positiveInt,
    )
    .option(
      '--augment-shift <px>',
      'batch augmentation: largest shift in pixels (default 2)',
      nonNegativeInt,
    )
    .option(
      '--augment-cutout <px>',
      'batch augmentation: cutout square side (default 8)',
      nonNegativeInt,
    )
    .option('--augment-flip', 'batch augmentation: also random horizontal flips (off for digits)')
    .option(
      '--mixed-size <sizes>',
      'mixed-size training: image sizes sampled per step, e.g. 16,22,28 (evaluated at the data size)',
      intList(1, 'image sizes'),
    )
    .option(
      '--mixed-size-mode <mode>',
      `mixed-size compute rule: ${MIXED_SIZE_MODES.join(', ')} (default batch: batch size scaled by (base/size)^2)`,
      oneOf(MIXED_SIZE_MODES, 'mixed-size mode'),
    )
    .option(
      '--mixed-size-probs <p>',
      'mixed-size: probability of each size, comma-separated (default uniform)',
      probList,
    )
    .hook('preAction', (_cmd, action) => {
      const opts = action.opts();
      if (opts.timeBudget !== undefined && action.getOptionValueSource('epochs') !== 'cli')
        action.setOptionValueWithSource('epochs', TIME_BUDGET_EPOCHS, 'default');
    });
}

const PART_FLAGS: [keyof RecipeConfig, keyof RecipeCliOptions, string][] = [
  ['samRho', 'sam', '--sam'],
  ['samEvery', 'samEvery', '--sam-every'],
  ['labelSmoothing', 'labelSmoothing', '--label-smoothing'],
  ['gradientCentralization', 'gradCentralization', '--grad-centralization'],
  ['patchWhitening', 'patchWhitening', '--patch-whitening'],
  ['celu', 'celu', '--celu'],
  ['weightDecay', 'weightDecay', '--weight-decay'],
  ['cot', 'cot', '--cot'],
  ['opt', 'opt', '--opt'],
];

/**
 * The recipe config the options ask for, or null for none. A part that the preset already sets to
 * the same value, and `--recipe none` alone, change nothing: errors.
 */
export function recipeFromOptions(o: RecipeCliOptions): RecipeConfig | null {
  const given = PART_FLAGS.filter(([, k]) => o[k] !== undefined);
  if (o.recipe === undefined && given.length === 0 && o.lrSchedule === undefined) return null;
  const base = o.recipe === 'haet' ? HAET_RECIPE : NO_RECIPE;
  for (const [field, key, flag] of given)
    if (base[field] === o[key])
      throw new Error(
        `${flag}${o[key] === true ? '' : ` ${o[key]}`} changes nothing: --recipe ${o.recipe} already sets it (drop ${flag})`,
      );
  const overrides = Object.fromEntries(
    given.map(([field, key]) => [field, o[key]]),
  ) as Partial<RecipeConfig>;
  if (o.lrSchedule !== undefined) {
    const schedule = o.lrSchedule === 'budget' ? BUDGET_SCHEDULE : null;
    // A no-op only when the schedule is the preset's own: --recipe haet's peaks at 2x --lr, so
    // --lr-schedule budget over it changes the peak to 1x.
    if (sameSchedule(base.schedule, schedule))
      throw new Error(
        `--lr-schedule ${o.lrSchedule} changes nothing: ${schedule === null ? 'the rate is constant without it' : `--recipe ${o.recipe ?? 'none'} already uses this schedule`} (drop --lr-schedule)`,
      );
    overrides.schedule = schedule;
  }
  const c = recipeConfig(o.recipe ?? 'none', overrides);
  if (isPlainRecipe(c))
    throw new Error(
      '--recipe none changes nothing: give --recipe haet or recipe parts (--sam, --label-smoothing, ...), or drop it',
    );
  return c;
}

function sameSchedule(a: RecipeConfig['schedule'], b: RecipeConfig['schedule']): boolean {
  if (a === null || b === null) return a === b;
  return a.warmup === b.warmup && a.final === b.final && a.peak === b.peak;
}

/** Each main option with the options that only apply with it (flag: the key in kebab case). */
const SUB_OPTIONS: [keyof RecipeCliOptions, string, (keyof RecipeCliOptions)[]][] = [
  [
    'swiftlearn',
    '--swiftlearn <keep>',
    [
      'swiftlearnWarmup',
      'swiftlearnEvery',
      'swiftlearnScore',
      'swiftlearnSelect',
      'swiftlearnBalance',
      'swiftlearnDraw',
      'swiftlearnMix',
      'swiftlearnWeighted',
      'swiftlearnAverage',
      'swiftlearnWarmupKeep',
    ],
  ],
  ['batchAugment', '--batch-augment <copies>', ['augmentShift', 'augmentCutout', 'augmentFlip']],
  ['mixedSize', '--mixed-size <sizes>', ['mixedSizeMode', 'mixedSizeProbs']],
];

/** The data recipe config the options ask for, or null for none. */
export function dataRecipeFromOptions(o: RecipeCliOptions): DataRecipeConfig | null {
  for (const [main, mainFlag, subs] of SUB_OPTIONS)
    for (const key of subs)
      if (o[key] !== undefined && o[main] === undefined) {
        const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        throw new Error(
          `${flag} applies to ${mainFlag}: give ${mainFlag.split(' ')[0]} or drop ${flag}`,
        );
      }
  for (const [v, flag] of [
    [o.swiftlearnMix, '--swiftlearn-mix'],
    [o.swiftlearnWeighted, '--swiftlearn-weighted'],
  ] as const)
    if (v !== undefined && o.swiftlearnSelect === 'top')
      throw new Error(
        `${flag} changes nothing with --swiftlearn-select top (nothing is drawn): drop one`,
      );
  if (o.swiftlearnDraw === 'epoch' && o.swiftlearnSelect === 'top')
    throw new Error(
      '--swiftlearn-draw epoch changes nothing with --swiftlearn-select top (a redraw of the top rows of unchanged scores gives the same rows): drop one',
    );
  if (o.batchAugment !== undefined && o.batchAugment < 2)
    throw new Error(
      `--batch-augment ${o.batchAugment} changes nothing: give 2 or more copies of each sample`,
    );
  if (
    o.batchAugment !== undefined &&
    o.augmentShift === 0 &&
    o.augmentCutout === 0 &&
    !o.augmentFlip
  )
    throw new Error(
      '--augment-shift 0 and --augment-cutout 0 without --augment-flip make identical copies: keep one augmentation',
    );
  if (o.mixedSizeProbs && o.mixedSize && o.mixedSizeProbs.length !== o.mixedSize.length)
    throw new Error(
      `--mixed-size-probs has ${o.mixedSizeProbs.length} entries but --mixed-size has ${o.mixedSize.length} sizes: give one probability per size`,
    );
  const c = dataRecipeConfig({
    swiftlearn:
      o.swiftlearn === undefined
        ? null
        : {
            keep: o.swiftlearn,
            warmupEpochs: o.swiftlearnWarmup,
            every: o.swiftlearnEvery,
            score: o.swiftlearnScore,
            select: o.swiftlearnSelect,
            balance: o.swiftlearnBalance,
            redraw: o.swiftlearnDraw === undefined ? undefined : o.swiftlearnDraw === 'epoch',
            mix: o.swiftlearnMix,
            weighted: o.swiftlearnWeighted,
            average: o.swiftlearnAverage,
            warmupKeep: o.swiftlearnWarmupKeep,
          },
    batchAugment:
      o.batchAugment === undefined
        ? null
        : {
            copies: o.batchAugment,
            shift: o.augmentShift,
            cutout: o.augmentCutout,
            flip: o.augmentFlip,
          },
    mixedSize:
      o.mixedSize === undefined
        ? null
        : { sizes: o.mixedSize, probabilities: o.mixedSizeProbs, mode: o.mixedSizeMode },
  });
  return isPlainDataRecipe(c) ? null : c;
}

/** What the recipe options ask for, checked before any work. */
export interface RecipePlan {
  recipe: RecipeConfig | null;
  data: DataRecipeConfig | null;
  timeBudgetMs?: number;
}

/** Whether the run uses a recipe or a data recipe (the time budget alone is not one). */
export function hasRecipe(p: RecipePlan): boolean {
  return p.recipe !== null || p.data !== null;
}

/** Checks the recipe options and their combinations with the others (errors name the options). */
export function checkRecipeOptions(
  o: RecipeCliOptions & { workers?: number; epochs: number; maxSteps: number },
): RecipePlan {
  const plan: RecipePlan = {
    recipe: recipeFromOptions(o),
    data: dataRecipeFromOptions(o),
    timeBudgetMs: o.timeBudget,
  };
  if (hasRecipe(plan) && (o.workers ?? 1) > 1)
    throw new Error(
      '--workers cannot be combined with recipe options yet: the workers take plain steps (drop --workers or the recipe)',
    );
  if (plan.timeBudgetMs !== undefined && (o.workers ?? 1) > 1)
    throw new Error(
      '--time-budget cannot be combined with --workers yet: data-parallel training has no wall-clock stop (drop one)',
    );
  if (plan.data?.swiftlearn && plan.data.swiftlearn.warmupEpochs >= o.epochs)
    throw new Error(
      `--swiftlearn changes nothing in ${o.epochs} epoch(s): its ${plan.data.swiftlearn.warmupEpochs} warm-up epoch(s) train on all data (give more --epochs or a --time-budget)`,
    );
  const sl = plan.data?.swiftlearn;
  if (
    sl &&
    o.swiftlearnEvery !== undefined &&
    plan.timeBudgetMs === undefined &&
    sl.warmupEpochs + 1 + sl.every > o.epochs
  )
    throw new Error(
      `--swiftlearn-every ${sl.every} changes nothing in ${o.epochs} epochs: the one scoring is at epoch ${sl.warmupEpochs + 1} and the next would be at ${sl.warmupEpochs + 1 + sl.every} (give more --epochs or drop --swiftlearn-every)`,
    );
  return plan;
}

export interface RecipeRun {
  model: tf.LayersModel;
  hooks?: StepHooks;
  notes: string[];
  whitening?: unknown;
  dispose(): void;
}

/**
 * The model to train with the recipe's layer changes (CELU, OPT; the input model is disposed when
 * a new one is made), its patch whitening (from up to 512 training images) and its step hooks.
 * Without a recipe: the model as it is, no hooks.
 */
export function applyRecipe(
  model: tf.LayersModel,
  data: ClassificationData,
  plan: RecipePlan,
  o: {
    seed: number;
    lr: number;
    optimizer: OptimizerName;
    epochs: number;
    batch: number;
    maxSteps: number;
  },
): RecipeRun {
  const c = plan.recipe;
  if (!c) return { model, notes: [], dispose: () => {} };
  const rm = recipeModel(model, c, { seed: o.seed });
  if (rm.rebuilt) model.dispose();
  const cotOptimizer = c.cot ? makeOptimizer(o.optimizer, o.lr) : undefined;
  try {
    const prepared = prepareRecipe(rm.model, c, () => trainImages(data, 512), {
      learningRate: o.lr,
      cot: { optimizer: cotOptimizer },
      schedule: c.schedule ? scheduleSpan(data, plan, o) : undefined,
    });
    const hooks = composeHooks([prepared.hooks ?? {}, rm.hooks ?? {}]);
    const notes = [...rm.notes];
    if (prepared.whitening) notes.push(`patch whitening of '${prepared.whitening.layer}'`);
    return {
      model: rm.model,
      hooks: Object.keys(hooks).length > 0 ? hooks : undefined,
      notes,
      whitening: prepared.whitening,
      dispose: () => cotOptimizer?.dispose(),
    };
  } catch (e) {
    cotOptimizer?.dispose();
    throw e;
  }
}

/**
 * How long the scheduled run is: its time budget, else its step count (epochs x steps of a full
 * epoch; with a data recipe that trains fewer rows an epoch, SwiftLearn, the last rate stays
 * above zero).
 */
function scheduleSpan(
  data: ClassificationData,
  plan: RecipePlan,
  o: { epochs: number; batch: number; maxSteps: number },
): ScheduleSpan {
  if (plan.timeBudgetMs !== undefined) return { budgetMs: plan.timeBudgetMs };
  const full = Math.ceil(data.train.count / o.batch);
  return { totalSteps: o.epochs * (o.maxSteps > 0 ? Math.min(full, o.maxSteps) : full) };
}

/**
 * The data recipe's batch plan for `model` (after every layer change), or undefined; `hooks` on it
 * are step hooks that must go with it (SwiftLearn weighted's loss: pass them to `train`).
 */
export function dataRecipePlan(
  model: tf.LayersModel,
  data: ClassificationData,
  plan: RecipePlan,
  seed: number,
): (BatchPlan & { hooks?: StepHooks }) | undefined {
  if (!plan.data) return undefined;
  const p = prepareDataRecipe(model, data, plan.data, { seed });
  return p.plan ? { ...p.plan, hooks: p.hooks } : undefined;
}

/** Several step hooks as one (composeHooks, in order), or undefined when none is given. */
export function stepHooks(...parts: (StepHooks | undefined)[]): StepHooks | undefined {
  const given = parts.filter((h): h is StepHooks => h !== undefined);
  return given.length === 0 ? undefined : given.length === 1 ? given[0] : composeHooks(given);
}

function trainImages(data: ClassificationData, max: number): tf.Tensor4D {
  if (data.sampleShape.length !== 3)
    throw new Error(
      `patch whitening needs image samples [H, W, C]; data '${data.name}' has [${data.sampleShape}]`,
    );
  const n = Math.min(max, data.train.count);
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  const [h, w, ch] = data.sampleShape;
  return tf.tensor4d(data.train.x.slice(0, n * per), [n, h, w, ch]);
}

const RECIPE_KEYS = (Object.keys(RECIPE_OPTION_ROLES) as (keyof RecipeCliOptions)[]).filter(
  (k) => RECIPE_OPTION_ROLES[k] === 'feature',
);

/** Whether any recipe or data-recipe option is given (not --time-budget alone). */
export function hasRecipeOptions(o: RecipeCliOptions): boolean {
  return RECIPE_KEYS.some((k) => o[k] !== undefined);
}

/** The report's `recipe` entry: what ran, or undefined without recipe options or a budget. */
export interface RecipeReport {
  config: RecipeConfig | null;
  data: DataRecipeConfig | null;
  timeBudgetMs: number | null;
  notes: string[];
  whitening?: unknown;
}

export function recipeReport(plan: RecipePlan, run: RecipeRun): RecipeReport | undefined {
  if (!hasRecipe(plan) && plan.timeBudgetMs === undefined) return undefined;
  return {
    config: plan.recipe,
    data: plan.data,
    timeBudgetMs: plan.timeBudgetMs ?? null,
    notes: run.notes,
    ...(run.whitening ? { whitening: run.whitening } : {}),
  };
}
