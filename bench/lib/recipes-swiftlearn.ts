// bench:recipes, section swiftlearn: plain training against SwiftLearn at keep 0.3, epoch by epoch
// in turn (bench/lib/interleave.ts), on the zoo CNN and --train (5,000) images. One run per seed
// in --seeds; --sl-variants runs several SwiftLearn settings against the same plain arm.
//
// A variant is '+'-separated changes to the library defaults (SWIFTLEARN_DEFAULTS): 'default',
// 'first' (the first defaults: no redraw, no mix, unweighted), 'redraw', 'noredraw', 'unweighted',
// 'top' (keep the top scores; drops redraw, mix and weights too), 'loss', 'global' (balance
// none), 'every<k>', 'warmup<k>', 'mix<percent>' (uniform share of the sampling weights),
// 'weighted' (importance-weighted loss), 'avg<percent>' (scores averaged over scorings, that
// share of the previous kept), 'wk<percent>' (sub-epoch warm-up: that share of the rows). Seeds 1-5 are the tuning seeds (SL_TUNING_SEEDS:
// settings were compared there); the headline is the library defaults on SL_REPORT_SEEDS
// (10-13, fixed before they ran), so the setting is not chosen on the seeds that report it.
import { loadavg } from 'node:os';
import {
  dataRecipeConfig,
  prepareDataRecipe,
  SWIFTLEARN_DEFAULTS,
} from '../../src/recipes/index.js';
import { makeOptimizer } from '../../src/train/optimizer.js';
import { argValue, numberArg } from './args.js';
import { type CurvePoint, interleavedCurves } from './interleave.js';
import {
  cnn,
  compare,
  disposeAll,
  load,
  ratioFigures,
  type Section,
  type SectionResult,
  seedList,
  summaryFigures,
} from './recipes-common.js';
import type { Headline } from './results.js';
import { mean } from './stats.js';

/**
 * Seeds that chose a setting: 1-2 chose redraw, 3-5 (then the report seeds) showed it lost and
 * the defaults went back; 1-2 then chose redraw + mix 0.2 + weighted (the defaults since).
 */
export const SL_TUNING_SEEDS = [1, 2, 3, 4, 5];
/**
 * The seeds the headline reports the defaults on, fixed before they ran: 6-9 reported the
 * defaults before redraw + mix + weighted (seen while choosing them), so the current defaults
 * report on 10-13.
 */
export const SL_REPORT_SEEDS = [10, 11, 12, 13];
const KEEP = 0.3;
const SMOOTHING = 2;

type SlConfig = NonNullable<ReturnType<typeof dataRecipeConfig>['swiftlearn']>;

/** The SwiftLearn config of a variant name (see the file comment). */
export function variantConfig(name: string): SlConfig {
  const over: Record<string, unknown> = { keep: KEEP };
  for (const tok of name.split('+')) {
    if (tok === 'default') continue;
    else if (tok === 'redraw') over.redraw = true;
    else if (tok === 'noredraw') over.redraw = false;
    else if (tok === 'unweighted') Object.assign(over, { weighted: false });
    else if (tok === 'first') Object.assign(over, { redraw: false, mix: 0, weighted: false });
    else if (tok === 'top')
      Object.assign(over, { select: 'top', redraw: false, mix: 0, weighted: false });
    else if (tok === 'loss') over.score = 'loss';
    else if (tok === 'global') over.balance = 'none';
    else if (/^every\d+$/.test(tok)) over.every = Number(tok.slice(5));
    else if (/^warmup\d+$/.test(tok)) over.warmupEpochs = Number(tok.slice(6));
    else if (/^mix\d+$/.test(tok)) over.mix = Number(tok.slice(3)) / 100;
    else if (tok === 'weighted') over.weighted = true;
    else if (/^avg\d+$/.test(tok)) over.average = Number(tok.slice(3)) / 100;
    else if (/^wk\d+$/.test(tok)) over.warmupKeep = Number(tok.slice(2)) / 100;
    else
      throw new Error(
        `--sl-variants: unknown change '${tok}' (default, first, redraw, noredraw, top, loss, global, every<k>, warmup<k>, mix<percent>, weighted, unweighted, avg<percent>, wk<percent>)`,
      );
  }
  return dataRecipeConfig({ swiftlearn: over }).swiftlearn as SlConfig;
}

/**
 * A config's name as changes to the first defaults (el2n, sample, class, every 3, warm-up 1, no
 * redraw), so that a stored run keeps its name when the library defaults change.
 */
export function variantLabel(c: SlConfig): string {
  const t: string[] = [];
  if (c.redraw) t.push('redraw');
  if (c.select === 'top') t.push('top');
  if (c.score === 'loss') t.push('loss');
  if (c.balance === 'none') t.push('global');
  if (c.every !== 3) t.push(`every${c.every}`);
  if (c.warmupEpochs !== 1) t.push(`warmup${c.warmupEpochs}`);
  if (c.mix > 0) t.push(`mix${Math.round(c.mix * 100)}`);
  if (c.weighted) t.push('weighted');
  if (c.average > 0) t.push(`avg${Math.round(c.average * 100)}`);
  if (c.warmupKeep < 1) t.push(`wk${Math.round(c.warmupKeep * 100)}`);
  return t.length === 0 ? 'first-defaults' : t.join('+');
}

const configKey = (c: SlConfig) =>
  JSON.stringify(
    Object.keys(c)
      .sort()
      .map((k) => [k, c[k as keyof SlConfig]]),
  );
const DEFAULT_KEY = configKey(variantConfig('default'));

export interface SwiftLearnRun {
  seed: number;
  variant: string;
  config: SlConfig;
  plainEpochs: number;
  swiftlearnEpochs: number;
  trainImages: number;
  date: string;
  loadAverage: number;
  plain: CurvePoint[];
  swiftlearn: CurvePoint[];
  target: number;
  speedup: number | null;
  dropPts: number;
  equalEpochTimeRatio: number;
  deltaAtPlainTimePts: number;
  scoredAt?: number[];
  scoringSeconds: number;
  /** The same comparison on process CPU seconds (runs since it was recorded). */
  cpuSpeedup?: number | null;
  cpuEqualEpochTimeRatio?: number;
}

async function runSeeds(): Promise<SwiftLearnRun[]> {
  const n = numberArg('train', 5000);
  const plainEpochs = numberArg('sl-epochs', 8);
  const slEpochs = numberArg('sl-rounds', Math.round(plainEpochs * 1.5));
  const lr = numberArg('lr', 3e-3);
  const variants = argValue('sl-variants', 'default').split(',');
  const configs = variants.map(variantConfig);
  const d5 = load(n, 2000);
  const out: SwiftLearnRun[] = [];
  for (const seed of seedList(SL_REPORT_SEEDS.join(','))) {
    const plainModel = cnn(d5, seed);
    const plainOpt = makeOptimizer('adam', lr);
    const arms = configs.map((c, i) => {
      const model = cnn(d5, seed);
      const sl = prepareDataRecipe(model, d5, dataRecipeConfig({ swiftlearn: c }), { seed });
      return { name: variants[i], model, optimizer: makeOptimizer('adam', lr), sl };
    });
    console.log(`swiftlearn seed ${seed}: plain vs ${variants.join(', ')}`);
    const curves = await interleavedCurves(
      [
        { name: 'plain', model: plainModel, optimizer: plainOpt, rounds: plainEpochs },
        ...arms.map((a) => ({
          name: a.name,
          model: a.model,
          optimizer: a.optimizer,
          plan: a.sl.plan,
          hooks: a.sl.hooks,
          rounds: slEpochs,
        })),
      ],
      d5,
      { rounds: slEpochs, batchSize: 64, seed },
    );
    for (const [i, a] of arms.entries()) {
      const cmp = compare(curves.plain, curves[a.name], SMOOTHING, plainEpochs - 1);
      const onCpu = (c: CurvePoint[]) => c.map((p) => ({ ...p, seconds: p.cpuSeconds as number }));
      const cpu = compare(onCpu(curves.plain), onCpu(curves[a.name]), SMOOTHING, plainEpochs - 1);
      out.push({
        seed,
        variant: variantLabel(configs[i]),
        config: configs[i],
        plainEpochs,
        swiftlearnEpochs: slEpochs,
        trainImages: n,
        date: new Date().toISOString(),
        loadAverage: loadavg()[0],
        plain: curves.plain,
        swiftlearn: curves[a.name],
        target: cmp.target,
        speedup: cmp.speedup,
        dropPts: cmp.dropPts,
        equalEpochTimeRatio: cmp.timeRatioAt,
        deltaAtPlainTimePts: cmp.deltaAtPlainTimePts,
        scoredAt: a.sl.swiftlearn?.state.scoredAt,
        scoringSeconds: (a.sl.swiftlearn?.state.scoringMs ?? 0) / 1000,
        cpuSpeedup: cpu.speedup,
        cpuEqualEpochTimeRatio: cpu.timeRatioAt,
      });
      console.log(
        `  ${a.name}: speedup ${cmp.speedup?.toFixed(2) ?? 'never'}, drop ${cmp.dropPts.toFixed(2)} pt`,
      );
    }
    disposeAll([plainModel, plainOpt, ...arms.flatMap((a) => [a.model, a.optimizer])]);
  }
  return out;
}

/** The CPU-time figures, when every run recorded them (else null). */
function cpuFigures(prefix: string, runs: SwiftLearnRun[]): Headline {
  const all = runs.length > 0 && runs.every((r) => r.cpuEqualEpochTimeRatio !== undefined);
  return {
    ...(all
      ? ratioFigures(
          `${prefix}CpuSpeedup`,
          runs.map((r) => r.cpuSpeedup ?? null),
        )
      : { [`${prefix}CpuSpeedup`]: null }),
    [`${prefix}CpuEqualEpochSpeedup`]: all
      ? mean(runs.map((r) => r.cpuEqualEpochTimeRatio as number))
      : null,
  };
}

/**
 * SwiftLearn's accuracy minus plain's at the same step count (plain's raw curve linearly
 * interpolated between its evaluations), mean over SwiftLearn's evaluations after the warm-up that
 * fall within plain's steps, in points: whether a SwiftLearn step is worth more than a plain one.
 */
export function deltaAtEqualStepsPts(plain: CurvePoint[], sl: CurvePoint[], after: number): number {
  const at = (steps: number) => {
    const j = plain.findIndex((p) => p.steps >= steps);
    if (j <= 0) return plain[Math.max(j, 0)].acc;
    const a = plain[j - 1];
    const b = plain[j];
    return a.acc + ((b.acc - a.acc) * (steps - a.steps)) / (b.steps - a.steps);
  };
  const last = plain[plain.length - 1].steps;
  const pts = sl.filter((p) => p.steps > after && p.steps <= last && p.steps >= plain[0].steps);
  return pts.length === 0 ? Number.NaN : mean(pts.map((p) => (p.acc - at(p.steps)) * 100));
}

/** Headline figures of a set of runs (one per seed). */
function figures(prefix: string, runs: SwiftLearnRun[]): Headline {
  const steps = runs.map((r) => compare(r.plain, r.swiftlearn, SMOOTHING, r.plainEpochs - 1));
  return {
    // Plain's steps to the target over SwiftLearn's (null: never got there).
    ...ratioFigures(
      `${prefix}StepsGain`,
      steps.map((c) => (c.stepsRatio === null ? null : 1 / c.stepsRatio)),
    ),
    ...summaryFigures(
      `${prefix}DeltaAtEqualSteps`,
      runs.map((r) => deltaAtEqualStepsPts(r.plain, r.swiftlearn, r.plain[0].steps)),
      'Pts',
    ),
    ...ratioFigures(
      `${prefix}Speedup`,
      runs.map((r) => r.speedup),
    ),
    ...summaryFigures(
      `${prefix}Drop`,
      runs.map((r) => r.dropPts),
      'Pts',
    ),
    [`${prefix}EqualEpochSpeedup`]:
      runs.length > 0 ? mean(runs.map((r) => r.equalEpochTimeRatio)) : null,
    // On process CPU seconds (the same spans; a second figure, less moved by the load).
    ...cpuFigures(prefix, runs),
    ...summaryFigures(
      `${prefix}DeltaAtPlainTime`,
      runs.map((r) => r.deltaAtPlainTimePts),
      'Pts',
    ),
    [`${prefix}Seeds`]: runs.length,
  };
}

function summarize(all: SwiftLearnRun[]): SectionResult {
  const runs = [...all].sort((x, y) => x.seed - y.seed || x.variant.localeCompare(y.variant));
  const isDefault = (r: SwiftLearnRun) =>
    configKey(r.config) === DEFAULT_KEY && r.plainEpochs === 8;
  const report = runs.filter((r) => isDefault(r) && SL_REPORT_SEEDS.includes(r.seed));
  const tuning = runs.filter((r) => SL_TUNING_SEEDS.includes(r.seed));
  const byVariant = new Map<string, SwiftLearnRun[]>();
  for (const r of tuning)
    byVariant.set(configKey(r.config), [...(byVariant.get(configKey(r.config)) ?? []), r]);
  return {
    headline: figures('swiftlearn', report),
    section: {
      config: variantConfig('default'),
      tuningSeeds: SL_TUNING_SEEDS,
      reportSeeds: report.map((r) => r.seed),
      tuning: [...byVariant.values()].map((rs) => ({
        variant: rs[0].variant,
        config: rs[0].config,
        seeds: rs.map((r) => r.seed),
        speedups: rs.map((r) => r.speedup),
        dropPts: rs.map((r) => r.dropPts),
        meanDropPts: mean(rs.map((r) => r.dropPts)),
        meanDeltaAtPlainTimePts: mean(rs.map((r) => r.deltaAtPlainTimePts)),
        meanEqualEpochSpeedup: mean(rs.map((r) => r.equalEpochTimeRatio)),
        meanDeltaAtEqualStepsPts: mean(
          rs.map((r) => deltaAtEqualStepsPts(r.plain, r.swiftlearn, r.plain[0].steps)),
        ),
        cpuSpeedups: rs.map((r) => r.cpuSpeedup ?? null),
      })),
      runs,
      notes: [
        `SwiftLearn at keep ${KEEP}; plain 8 epochs, SwiftLearn up to 12 (--sl-epochs, --sl-rounds); every arm Adam 3e-3 constant, batch 64, zoo CNN filters [8, 16], dense 32`,
        `settings are compared on the tuning seeds ${SL_TUNING_SEEDS.join(', ')} (section.tuning); the headline is the library defaults (section.config) on the report seeds ${SL_REPORT_SEEDS.join(', ')}, fixed before they ran (seeds 6-9 reported the earlier defaults, in section.runs)`,
        "swiftlearnSpeedup: plain's training seconds to its final accuracy - 0.5 point over SwiftLearn's (scoring included, evaluation not), accuracies averaged over the last 2 epochs; the mean over seeds with its 95% t-interval, null when a seed never got there (swiftlearnSpeedupHits seeds did; swiftlearnSpeedupOfHits their mean)",
        'swiftlearnCpuSpeedup, swiftlearnCpuEqualEpochSpeedup: the same ratios on process CPU seconds over the same spans (wasm on one thread; a second figure, less moved by the load of a shared machine; null until every report run has recorded them)',
        "swiftlearnStepsGain: plain's steps to the target over SwiftLearn's; swiftlearnDeltaAtEqualStepsPts: SwiftLearn's accuracy minus plain's (interpolated) at the same step count, mean over SwiftLearn's evaluations after the warm-up: a kept step costs what a plain step costs, so a time speedup needs this step gain (slbound: the ceiling of any unbiased sampler)",
        "swiftlearnDropPts: plain's final minus SwiftLearn's at the same 8 epochs (paired over seeds: mean, sd, SE, 95% t-interval, bench/lib/paired.ts); swiftlearnEqualEpochSpeedup: plain's seconds for them over SwiftLearn's",
      ],
    },
  };
}

export const swiftlearnSection: Section<SwiftLearnRun> = {
  run: runSeeds,
  key: (r) =>
    `${configKey(r.config)}/${r.plainEpochs}/${r.swiftlearnEpochs}/${r.trainImages}/${r.seed}`,
  stored: (file) => {
    const sec = file?.swiftlearn as
      | { runs?: (Partial<SwiftLearnRun> & { seed: number })[]; config?: Partial<SlConfig> }
      | undefined;
    // Runs of the layout before variants carry the section's config, not their own.
    const when = (file?.sectionRuns as Record<string, { date?: string; loadAverage?: number }>)
      ?.swiftlearn;
    return (sec?.runs ?? []).map((r) => {
      // Fields added since a run are filled with the values that ran then (their defaults).
      const config = dataRecipeConfig({
        swiftlearn: r.config ?? { ...SWIFTLEARN_DEFAULTS, redraw: false, ...sec?.config },
      }).swiftlearn as SlConfig;
      return {
        plainEpochs: 8,
        swiftlearnEpochs: 12,
        trainImages: 5000,
        date: when?.date ?? null,
        loadAverage: when?.loadAverage ?? null,
        ...r,
        variant: variantLabel(config),
        config,
      } as SwiftLearnRun;
    });
  },
  summarize,
};
