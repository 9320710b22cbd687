// bench:recipes, section haet: the HAET preset against plain training, the same training wall
// budget each, interleaved in slices (bench/lib/budget-race.ts); one race per seed.
//
// Two standard settings, one per budget (a race of any other setting is kept in otherRaces and
// left out of the headline):
// - 60 s (the setting, the headline haetGainPts): the zoo ResNet at widths [4, 8], batch
//   16. At widths [8, 16] and batch 64 plain took 41-59 steps in 60 s on this shared machine
//   (under one epoch of the 5,000 images, 40% accuracy): a race of the first few dozen steps.
//   Widths [4, 8] take 4.2 ms a sample against 7.3; batch 32 still gave plain 91-139 steps (0.6-0.9
//   epochs), batch 16 331-470 (1.1-1.5 epochs) at the same cost a sample.
// - 150 s (the earlier headline, kept as a secondary figure): widths [8, 16], batch 64.
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  BUDGET_SCHEDULE,
  HAET_RECIPE,
  prepareRecipe,
  type RecipeConfig,
  recipeConfig,
  recipeModel,
} from '../../src/recipes/index.js';
import { makeOptimizer } from '../../src/train/optimizer.js';
import { argValue, hasFlag, numberArg } from './args.js';
import {
  budgetRace,
  clockNow,
  RACE_CLOCKS,
  type RaceArm,
  RaceClock,
  type RaceClockKind,
  type RaceResult,
} from './budget-race.js';
import {
  disposeAll,
  load,
  resnet,
  type Section,
  type SectionResult,
  seedList,
  summaryFigures,
} from './recipes-common.js';
import type { Headline } from './results.js';
import { mean } from './stats.js';

/** The standard setting of each budget (seconds): the model's widths and the batch size. */
export const HAET_SETTINGS: Record<number, { widths: number[]; batchSize: number }> = {
  60: { widths: [4, 8], batchSize: 16 },
  150: { widths: [8, 16], batchSize: 64 },
};
/** The budget whose gain is the headline haetGainPts (the 60 s). */
export const HAET_HEADLINE_BUDGET_S = 60;
const DEFAULTS = { samEvery: 8, peak: HAET_RECIPE.schedule?.peak ?? 1, lr: 3e-3, n: 5000, t: 2000 };

export interface HaetRace {
  budgetSeconds: number;
  seed: number;
  samEvery: number;
  /** The HAET schedule's peak as a multiple of the learning rate (absent: 1). */
  schedulePeak?: number;
  learningRate: number;
  trainImages: number;
  testImages: number;
  /** The ResNet's stage widths (absent: [8, 16], the races before the 60 s setting). */
  widths?: number[];
  /** Absent: 64. */
  batchSize?: number;
  /** The clock the budget is on (absent: 'wall', the races before the CPU clock). */
  clock?: RaceClockKind;
  date: string;
  loadAverage: number;
  setupSeconds: number;
  arms: RaceResult[];
}

const widthsOf = (r: HaetRace) => r.widths ?? [8, 16];
const batchOf = (r: HaetRace) => r.batchSize ?? 64;
const clockOf = (r: HaetRace): RaceClockKind => r.clock ?? 'wall';
const settingKey = (r: HaetRace) =>
  JSON.stringify([
    ...(clockOf(r) === 'wall' ? [] : [clockOf(r)]),
    r.budgetSeconds,
    r.samEvery,
    r.schedulePeak ?? 1,
    r.learningRate,
    r.trainImages,
    r.testImages,
    widthsOf(r),
    batchOf(r),
  ]);

/** Whether a race is of its budget's standard setting (and so counts in the headline). */
export function isStandard(r: HaetRace): boolean {
  const s = HAET_SETTINGS[r.budgetSeconds];
  return (
    s !== undefined &&
    r.samEvery === DEFAULTS.samEvery &&
    (r.schedulePeak ?? 1) === DEFAULTS.peak &&
    r.learningRate === DEFAULTS.lr &&
    r.trainImages === DEFAULTS.n &&
    r.testImages === DEFAULTS.t &&
    JSON.stringify(widthsOf(r)) === JSON.stringify(s.widths) &&
    batchOf(r) === s.batchSize
  );
}

const accOf = (r: HaetRace, name: string) =>
  (r.arms.find((a) => a.name === name) as RaceResult | undefined)?.acc;
const stepsOf = (r: HaetRace, name: string) =>
  (r.arms.find((a) => a.name === name) as RaceResult).steps;

/**
 * One budget's figures over its races (all on one clock), named with `tag` after "At" (60s, or
 * 60sCpu for the CPU-clock races): means over seeds, the gain's paired statistics, steps, and
 * what each arm got of the other clock.
 */
function clockFigures(rs: HaetRace[], tag: string): Headline {
  const h: Headline = {};
  const plain = rs.map((r) => accOf(r, 'plain') as number);
  const haet = rs.map((r) => accOf(r, 'haet') as number);
  const gains = haet.map((x, i) => (x - plain[i]) * 100);
  h[`haetAccAt${tag}`] = mean(haet);
  h[`plainAccAt${tag}`] = mean(plain);
  Object.assign(h, summaryFigures(`haetGainAt${tag}`, gains, 'Pts'));
  h[`haetSeedsAt${tag}`] = rs.length;
  h[`plainStepsAt${tag}`] = mean(rs.map((r) => stepsOf(r, 'plain')));
  h[`plainEpochsAt${tag}`] = mean(
    rs.map((r) => (stepsOf(r, 'plain') * batchOf(r)) / r.trainImages),
  );
  h[`haetStepsRatioAt${tag}`] = mean(rs.map((r) => stepsOf(r, 'haet') / stepsOf(r, 'plain')));
  // Wall and process CPU seconds each arm's steps took (CPU: races since it was recorded).
  const armOf = (r: HaetRace, name: string) => r.arms.find((a) => a.name === name) as RaceResult;
  const cpu = rs.filter((r) => r.arms.every((a) => a.cpuSeconds !== undefined));
  for (const arm of ['plain', 'haet']) {
    h[`${arm}CpuSecondsAt${tag}`] =
      cpu.length > 0 ? mean(cpu.map((r) => armOf(r, arm).cpuSeconds as number)) : null;
    h[`${arm}WallSecondsAt${tag}`] = mean(rs.map((r) => armOf(r, arm).seconds));
  }
  const abl = rs.filter((r) => accOf(r, 'plainSchedule') !== undefined);
  if (abl.length > 0)
    h[`plainScheduleGainAt${tag}Pts`] = mean(
      abl.map((r) => ((accOf(r, 'plainSchedule') as number) - (accOf(r, 'plain') as number)) * 100),
    );
  return h;
}

/**
 * Headline figures per standard budget and clock (clockFigures); haetGainPts and its spread are
 * the 60 s wall-clock budget's (the setting).
 */
export function haetHeadline(races: HaetRace[]): Headline {
  const h: Headline = {};
  const std = races.filter(isStandard);
  for (const kind of RACE_CLOCKS)
    for (const b of Object.keys(HAET_SETTINGS).map(Number)) {
      const rs = std.filter((r) => r.budgetSeconds === b && clockOf(r) === kind);
      if (rs.length > 0) Object.assign(h, clockFigures(rs, kind === 'wall' ? `${b}s` : `${b}sCpu`));
    }
  const B = HAET_HEADLINE_BUDGET_S;
  const main = std.filter((r) => r.budgetSeconds === B && clockOf(r) === 'wall').length;
  for (const [k, from] of [
    ['haetGainPts', `haetGainAt${B}sPts`],
    ['haetGainSdPts', `haetGainAt${B}sSdPts`],
    ['haetGainSePts', `haetGainAt${B}sSePts`],
    ['haetGainCi95LoPts', `haetGainAt${B}sCi95LoPts`],
    ['haetGainCi95HiPts', `haetGainAt${B}sCi95HiPts`],
  ])
    h[k] = main > 0 ? (h[from] ?? null) : null;
  h.haetSeeds = main;
  h.haetHeadlineBudgetSeconds = B;
  return h;
}

/**
 * The races of this run: the HAET preset (with its budget schedule on the arm's own training
 * clock) against plain at the default constant rate; --budget (60), --seeds (1),
 * --haet-widths / --haet-batch (the budget's standard setting), --sam-every (8), --haet-peak,
 * --ablation (plain with the schedule alone), --haet-constant (the preset at a constant rate),
 * --clock wall or cpu (the budget on wall-clock or process CPU seconds: budget-race.ts).
 */
async function runRaces(): Promise<HaetRace[]> {
  const budgetS = numberArg('budget', HAET_HEADLINE_BUDGET_S);
  const std = HAET_SETTINGS[budgetS] ?? HAET_SETTINGS[150];
  const widths = argValue('haet-widths', std.widths.join(','))
    .split(',')
    .map((x) => Number(x));
  const batchSize = numberArg('haet-batch', std.batchSize);
  const sliceS = numberArg('slice', budgetS >= 150 ? 30 : 15);
  const n = numberArg('haet-train', DEFAULTS.n);
  const t = numberArg('haet-test', DEFAULTS.t);
  const samEvery = numberArg('sam-every', DEFAULTS.samEvery);
  const peak = numberArg('haet-peak', DEFAULTS.peak);
  const lr = numberArg('lr', DEFAULTS.lr);
  const clockKind = argValue('clock', 'wall') as RaceClockKind;
  if (!RACE_CLOCKS.includes(clockKind))
    throw new Error(`--clock takes ${RACE_CLOCKS.join(' or ')}, got '${clockKind}'`);
  const dh = load(n, t);
  const whiteningSample = () => {
    const k = Math.min(512, dh.train.count);
    return tf.tensor4d(dh.train.x.slice(0, k * 784), [k, 28, 28, 1]);
  };
  const haetCfg = recipeConfig('haet', { samEvery, schedule: { ...BUDGET_SCHEDULE, peak } });
  const races: HaetRace[] = [];
  for (const seed of seedList('1')) {
    const owned: { dispose(): void }[] = [];
    const recipeArm = (name: string, cfg: RecipeConfig): RaceArm => {
      const base = resnet(dh, seed, widths);
      const clock = new RaceClock(clockKind);
      const t0 = clockNow(clockKind);
      const hm = recipeModel(base, cfg, { seed });
      const prepared = prepareRecipe(hm.model, cfg, whiteningSample, {
        learningRate: lr,
        schedule: { budgetMs: budgetS * 1000, clock: clock.ms },
      });
      const setupMs = clockNow(clockKind) - t0;
      const optimizer = makeOptimizer('adam', lr);
      owned.push(base, hm.model, optimizer);
      return { name, model: hm.model, optimizer, hooks: prepared.hooks, setupMs, clock };
    };
    const plainModel = resnet(dh, seed, widths);
    const plainOpt = makeOptimizer('adam', lr);
    owned.push(plainModel, plainOpt);
    const arms: RaceArm[] = [
      { name: 'plain', model: plainModel, optimizer: plainOpt },
      recipeArm('haet', haetCfg),
    ];
    if (hasFlag('ablation'))
      arms.push(recipeArm('plainSchedule', recipeConfig('none', { schedule: haetCfg.schedule })));
    if (hasFlag('haet-constant'))
      arms.push(recipeArm('haetConstant', recipeConfig('haet', { samEvery, schedule: null })));
    console.log(
      `haet seed ${seed}, budget ${budgetS} s (${clockKind}), widths [${widths}], batch ${batchSize}`,
    );
    const res = await budgetRace(arms, dh, {
      budgetMs: budgetS * 1000,
      sliceMs: sliceS * 1000,
      batchSize,
      learningRate: lr,
      seed,
      clock: clockKind,
    });
    races.push({
      budgetSeconds: budgetS,
      seed,
      samEvery,
      schedulePeak: peak,
      learningRate: lr,
      trainImages: n,
      testImages: t,
      widths,
      batchSize,
      clock: clockKind,
      date: new Date().toISOString(),
      loadAverage: loadavg()[0],
      setupSeconds: (arms[1].setupMs ?? 0) / 1000,
      arms: res,
    });
    disposeAll(owned);
  }
  return races;
}

function summarize(all: HaetRace[]): SectionResult {
  const sorted = [...all].sort(
    (x, y) => x.budgetSeconds - y.budgetSeconds || x.seed - y.seed || x.date.localeCompare(y.date),
  );
  return {
    headline: haetHeadline(sorted),
    section: {
      settings: Object.fromEntries(
        Object.entries(HAET_SETTINGS).map(([b, s]) => [
          `${b}s`,
          { model: `resnet widths [${s.widths}], batch-norm momentum 0.9`, batchSize: s.batchSize },
        ]),
      ),
      config: recipeConfig('haet', {
        samEvery: DEFAULTS.samEvery,
        schedule: { ...BUDGET_SCHEDULE, peak: DEFAULTS.peak },
      }),
      races: sorted.filter(isStandard),
      otherRaces: sorted.filter((r) => !isStandard(r)),
      notes: [
        `plain: Adam ${DEFAULTS.lr}, constant (the default a user gets); haet: the preset with SAM's second pass every ${DEFAULTS.samEvery}th step and its budget schedule (peak ${DEFAULTS.peak} x the rate: up from 10% over the first 20% of the budget, then linear to 0 at the deadline, on the arm's own training clock)`,
        'each race: the same training wall budget per arm (whitening counted, evaluation not), interleaved in slices, one seed (initialisation and batch order); accuracy after the last slice on the test images',
        `60 s: resnet widths [4, 8], batch 16 (at [8, 16] and batch 64 plain took 41-59 steps in 60 s here, at [4, 8] and batch 32 91-139, under one epoch; those races are in otherRaces); 150 s: widths [8, 16], batch 64`,
        `headline per budget B: haetAccAt{B}s / plainAccAt{B}s means over the seeds; haetGainAt{B}sPts the mean paired gain with its sd, SE and 95% t-interval (bench/lib/paired.ts); haetGainPts is the ${HAET_HEADLINE_BUDGET_S} s budget's`,
        'races of one budget may come from separate runs (their date and load average are in each race); otherRaces: races of another setting, kept for the record and not in the headline',
      ],
    },
  };
}

export const haetSection: Section<HaetRace> = {
  run: runRaces,
  key: (r) => `${settingKey(r)}/${r.seed}`,
  stored: (file) => {
    const sec = file?.haet as { races?: HaetRace[]; otherRaces?: HaetRace[] } | undefined;
    return [...(sec?.races ?? []), ...(sec?.otherRaces ?? [])];
  },
  summarize,
};
