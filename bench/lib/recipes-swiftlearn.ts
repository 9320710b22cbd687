// bench:recipes, section swiftlearn: plain training against SwiftLearn at keep 0.3, epoch by epoch
// in turn (bench/lib/interleave.ts), on the zoo CNN and --train (5,000) images. One run per seed
// in --seeds; --sl-variants runs several SwiftLearn settings against the same plain arm.
//
// A variant is '+'-separated changes to the library defaults (SWIFTLEARN_DEFAULTS): 'default',
// 'first' (the first defaults: no redraw, no mix, unweighted), 'redraw', 'noredraw', 'unweighted',
// 'top' (keep the top scores; drops redraw, mix and weights too), 'loss', 'global' (balance
// none), 'every<k>', 'warmup<k>', 'mix<percent>' (uniform share of the sampling weights),
// 'weighted' (importance-weighted loss), 'avg<percent>' (scores averaged over scorings, that
// share of the previous kept), 'wk<percent>' (sub-epoch warm-up: that share of the rows),
// 'anneal<k>' (keep falls from 1 to 0.3 over k epochs after the warm-up), 'cached' (scores from the
// training steps' own outputs, no scoring pass), 'lr<x>' (bench only: the learning rate times x
// from the first kept epoch on; the run adds a plain arm 'plain+lr<x>' with the same raise, the
// control). Run-level: --sl-opt (adam, momentum: both arms), --lr, --dataset (fashion-mnist, mnist).
// Seeds 1-5 are the tuning seeds (SL_TUNING_SEEDS:
// settings were compared there); the headline is the library defaults on SL_REPORT_SEEDS
// (10-13, fixed before they ran), so the setting is not chosen on the seeds that report it.
import { loadavg } from 'node:os';
import type * as tf from '@tensorflow/tfjs';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadMnist } from '../../src/data/mnist.js';
import { dataRecipeConfig, SWIFTLEARN_DEFAULTS, swiftLearn } from '../../src/recipes/index.js';
import { setLearningRate } from '../../src/recipes/lr-schedule.js';
import { makeOptimizer, OPTIMIZERS, type OptimizerName } from '../../src/train/optimizer.js';
import { argValue, numberArg } from './args.js';
import { type CurvePoint, interleavedCurves } from './interleave.js';
import {
  cnn,
  compare,
  disposeAll,
  fashion,
  ratioFigures,
  type Section,
  type SectionResult,
  seedList,
  smooth,
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

type SlConfig = NonNullable<ReturnType<typeof dataRecipeConfig>['swiftlearn']> & {
  /** Library options not (yet) in the config toolkit: set only when on. */
  anneal?: number;
  cachedScores?: boolean;
};

/**
 * Session 10's decision rule, written before its runs (docs/recipes.md): the candidates are
 * 'anneal4', 'cached', 'cached+every1' and 'lr2' on top of the defaults, with 'default' in the
 * same runs, Fashion-MNIST, Adam 3e-3, tuning seeds 1-2. A candidate qualifies when both seeds
 * reach the target on CPU seconds and its mean drop is <= 0.5 point; for 'lr2' the speedup counted
 * is the smaller of the one over plain and the one over the plain+lr2 control, and the drop the
 * larger (a gain the raised rate gives plain too is the rate's, not the data's). The qualifier with
 * the best mean CPU speedup over seeds 1-2, if that mean is >= 2 and above the defaults' mean in the
 * same runs, goes on to seeds 3-5; it is chosen when over seeds 1-5 every seed reaches the target,
 * the mean CPU speedup is >= 2 and the mean drop <= 0.5. Only a chosen design runs on the report
 * seeds 10-13 (and becomes the library default); with none chosen the defaults stay. The plain
 * SGD + momentum run (--sl-opt momentum) and the MNIST run (--dataset mnist, the defaults,
 * pre-registered) choose nothing: the first says whether Adam eats the variance reduction, the
 * second gives swiftlearnMnist* figures beside the Fashion-MNIST headline.
 */
export const SL_SESSION10_CANDIDATES = ['anneal4', 'cached', 'cached+every1', 'lr2'];
/**
 * Round 1 chose nothing (lr2 qualified at 1.43x, the others had mean drops over 0.5). Round 2,
 * written before its runs, the same rule: 'lr2+cached', 'lr4', 'lr4+cached' (each lr<x> against
 * its plain+lr<x> control), seeds 1-2. Beside it, exploratory and choosing nothing: MNIST
 * 'default,cached' on seeds 3-4 (on MNIST the defaults' steps gain was 2.06x and the scoring pass
 * what kept the time under 2x).
 */
export const SL_SESSION10_ROUND2 = ['lr2+cached', 'lr4', 'lr4+cached'];
/**
 * Round 2 chose nothing: lr2+cached qualified at 1.62x (the smaller of the two speedups, mean over
 * seeds 1-2), lr4+cached had a mean drop of 0.81 (vs its control), lr4 missed its control's target
 * on seed 1. The full-data warm-up epoch is now about 40% of SwiftLearn's CPU time to the target.
 * Round 3, written before its runs, the same rule: 'lr2+cached+wk50', 'lr3+cached+wk50',
 * 'lr3+cached' (wk50: a half-epoch warm-up; with cached scores the rows it did not train on start
 * at the mean score), seeds 1-2.
 */
export const SL_SESSION10_ROUND3 = ['lr2+cached+wk50', 'lr3+cached+wk50', 'lr3+cached'];
// Round 3 chose nothing (lr2+cached+wk50: mean drop 1.35 against its control; lr3 arms missed their
// control's target on seed 1). The best qualifier of the session, lr2+cached (1.62x), then ran on
// the tuning seeds 3-5 beside the defaults, to measure it, not to choose it (the rule had not
// passed it on: it goes to no report seed).
/**
 * Session 10, MNIST round (issue 14), written before its runs: the candidates 'wk50', 'cached' and
 * 'wk50+cached' on top of the defaults, with 'default' in the same runs, --dataset mnist, Adam
 * 3e-3, tuning seeds 1-2 (one process per seed). A candidate qualifies when both seeds reach the
 * target on CPU seconds and its mean drop over seeds 1-2 is <= 0.5 point. The qualifier with the
 * best mean CPU speedup over seeds 1-2, if that mean is >= 2 and above the defaults' mean in the
 * same runs, is chosen and runs (alone beside plain) on the report seeds 10-13 on MNIST; its
 * figures over seeds 10-13 only give the swiftlearnMnistChosen* headline keys (the variant in
 * section.mnistChosen), beside the Fashion-MNIST headline and the swiftlearnMnist* keys of the
 * defaults. With none qualifying nothing runs on 10-13 and there are no swiftlearnMnistChosen*
 * keys. The choice is made in code from the stored records (mnistChoice), by this rule.
 */
export const SL_SESSION10_MNIST = ['wk50', 'cached', 'wk50+cached'];
export const SL_MNIST_TUNING_SEEDS = [1, 2];
// The MNIST round chose wk50 (CPU 2.23 / 1.85x, drops 0.22 / 0.28; the defaults 1.89 / 1.75x in the
// same runs); on the report seeds 10-13 it gave CPU 1.34 / 1.49 / 1.67 / 1.15x (mean 1.41x):
// the target is not met (docs/recipes.md, SwiftLearn item 9).

/** A variant: its SwiftLearn config and the bench-only learning-rate raise of its kept epochs. */
export interface SlVariant {
  config: SlConfig;
  lrMult: number;
}

/** The SwiftLearn config of a variant name (see the file comment). */
export function variantConfig(name: string): SlConfig {
  return parseVariant(name).config;
}

/** A variant name's config and learning-rate raise (see the file comment). */
export function parseVariant(name: string): SlVariant {
  const over: Record<string, unknown> = { keep: KEEP };
  const extra: { anneal?: number; cachedScores?: boolean } = {};
  let lrMult = 1;
  for (const tok of name.split('+')) {
    if (tok === 'default') continue;
    else if (/^anneal\d+$/.test(tok)) extra.anneal = Number(tok.slice(6));
    else if (tok === 'cached') extra.cachedScores = true;
    else if (/^lr\d+(\.\d+)?$/.test(tok)) lrMult = Number(tok.slice(2));
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
        `--sl-variants: unknown change '${tok}' (default, first, redraw, noredraw, top, loss, global, every<k>, warmup<k>, mix<percent>, weighted, unweighted, avg<percent>, wk<percent>, anneal<k>, cached, lr<x>)`,
      );
  }
  if (extra.anneal === 0) delete extra.anneal;
  if (!(lrMult > 0)) throw new Error(`--sl-variants: lr<x> needs x > 0, got '${name}'`);
  const config = { ...(dataRecipeConfig({ swiftlearn: over }).swiftlearn as SlConfig), ...extra };
  return { config, lrMult };
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
  if (c.anneal) t.push(`anneal${c.anneal}`);
  if (c.cachedScores) t.push('cached');
  return t.length === 0 ? 'first-defaults' : t.join('+');
}

/** A record's full name: its config's label and its run-level settings where not the headline's. */
export function runLabel(r: RunSettings & { config: SlConfig }): string {
  const t = [variantLabel(r.config)];
  if (r.lrMult !== 1) t.push(`lr${r.lrMult}`);
  if (r.optimizer !== 'adam' || r.lr !== 3e-3) t.push(`${r.optimizer}@${r.lr}`);
  if (r.dataset !== 'fashion-mnist') t.push(r.dataset);
  return t.join('+');
}

const configKey = (c: SlConfig) =>
  JSON.stringify(
    Object.keys(c)
      .sort()
      .map((k) => [k, c[k as keyof SlConfig]]),
  );
const DEFAULT_KEY = configKey(variantConfig('default'));
const settingsKey = (r: RunSettings) => `${r.dataset}/${r.optimizer}/${r.lr}/${r.lrMult}`;
/** A stored config's options outside the config toolkit (dataRecipeConfig refuses them). */
const pick = (c: Partial<SlConfig> | undefined) => ({
  ...(c?.anneal ? { anneal: c.anneal } : {}),
  ...(c?.cachedScores ? { cachedScores: true } : {}),
});

/** Settings of a run beside the SwiftLearn config (records before session 10: the headline's). */
export interface RunSettings {
  dataset: 'fashion-mnist' | 'mnist';
  optimizer: OptimizerName;
  lr: number;
  /** The learning rate's factor from the first kept epoch on (bench only; 1: none). */
  lrMult: number;
}
const HEADLINE_SETTINGS: RunSettings = {
  dataset: 'fashion-mnist',
  optimizer: 'adam',
  lr: 3e-3,
  lrMult: 1,
};

/** SwiftLearn against a control arm of the same run (plain with the same learning-rate raise). */
export interface ControlComparison {
  name: string;
  curve: CurvePoint[];
  speedup: number | null;
  cpuSpeedup: number | null;
  dropPts: number;
  /** The control over plain (time to plain's target, drop from plain's final). */
  controlVsPlain: { speedup: number | null; cpuSpeedup: number | null; dropPts: number };
}

export interface SwiftLearnRun extends RunSettings {
  seed: number;
  variant: string;
  config: SlConfig;
  control?: ControlComparison;
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

const onCpu = (c: CurvePoint[]) => c.map((p) => ({ ...p, seconds: p.cpuSeconds as number }));

/** The run-level settings of the command line (--sl-opt, --lr, --dataset). */
function runSettings(): Omit<RunSettings, 'lrMult'> {
  const optimizer = argValue('sl-opt', 'adam') as OptimizerName;
  if (!OPTIMIZERS.includes(optimizer))
    throw new Error(`--sl-opt takes one of ${OPTIMIZERS.join(', ')}, got '${optimizer}'`);
  const dataset = argValue('dataset', fashion ? 'fashion-mnist' : 'mnist');
  if (dataset !== 'fashion-mnist' && dataset !== 'mnist')
    throw new Error(`--dataset takes fashion-mnist or mnist, got '${dataset}'`);
  if (dataset === 'fashion-mnist' && !fashion)
    throw new Error(
      '--dataset fashion-mnist: not installed (apt-get install dataset-fashion-mnist)',
    );
  return { dataset, optimizer, lr: numberArg('lr', 3e-3) };
}

async function runSeeds(): Promise<SwiftLearnRun[]> {
  const n = numberArg('train', 5000);
  const plainEpochs = numberArg('sl-epochs', 8);
  const slEpochs = numberArg('sl-rounds', Math.round(plainEpochs * 1.5));
  const settings = runSettings();
  const { lr } = settings;
  const variants = argValue('sl-variants', 'default').split(',');
  const parsed = variants.map(parseVariant);
  const configs = parsed.map((v) => v.config);
  const d5 =
    settings.dataset === 'mnist'
      ? loadMnist({ trainCount: n, testCount: 2000, seed: 1 })
      : loadFashionMnist({ trainCount: n, testCount: 2000 });
  // One plain control per learning-rate raise (raised after the warm-up of the variants using it).
  const controls = [...new Set(parsed.filter((v) => v.lrMult !== 1).map((v) => v.lrMult))];
  for (const m of controls) {
    const w = new Set(parsed.filter((v) => v.lrMult === m).map((v) => v.config.warmupEpochs));
    if (w.size > 1) throw new Error(`--sl-variants: lr${m} variants with different warm-ups`);
  }
  const out: SwiftLearnRun[] = [];
  for (const seed of seedList(SL_REPORT_SEEDS.join(','))) {
    const plainModel = cnn(d5, seed);
    const plainOpt = makeOptimizer(settings.optimizer, lr);
    // The raise: set after round `warmupEpochs - 1` (outside the clock), so from the first kept epoch.
    const raise = (opt: tf.Optimizer, mult: number, warmup: number) =>
      mult === 1
        ? undefined
        : (round: number) => {
            if (round === warmup - 1) setLearningRate(opt, lr * mult);
          };
    const controlArms = controls.map((m) => {
      const model = cnn(d5, seed);
      const optimizer = makeOptimizer(settings.optimizer, lr);
      const warmup = (parsed.find((v) => v.lrMult === m) as SlVariant).config.warmupEpochs;
      return { name: `plain+lr${m}`, mult: m, model, optimizer, warmup };
    });
    const arms = parsed.map((v, i) => {
      const model = cnn(d5, seed);
      const { anneal, cachedScores, ...base } = v.config;
      // Built as prepareDataRecipe builds it, with the options the config toolkit does not take.
      dataRecipeConfig({ swiftlearn: base });
      const sl = swiftLearn(model, { ...base, anneal, cachedScores, seed });
      const optimizer = makeOptimizer(settings.optimizer, lr);
      return {
        name: variants[i],
        model,
        optimizer,
        sl,
        lrMult: v.lrMult,
        warmup: base.warmupEpochs,
      };
    });
    console.log(
      `swiftlearn seed ${seed}: plain vs ${[...controlArms.map((a) => a.name), ...variants].join(', ')}`,
    );
    const curves = await interleavedCurves(
      [
        { name: 'plain', model: plainModel, optimizer: plainOpt, rounds: plainEpochs },
        ...controlArms.map((a) => ({
          name: a.name,
          model: a.model,
          optimizer: a.optimizer,
          rounds: plainEpochs,
          afterRound: raise(a.optimizer, a.mult, a.warmup),
        })),
        ...arms.map((a) => ({
          name: a.name,
          model: a.model,
          optimizer: a.optimizer,
          plan: a.sl,
          hooks: a.sl.hooks,
          rounds: slEpochs,
          afterRound: raise(a.optimizer, a.lrMult, a.warmup),
        })),
      ],
      d5,
      { rounds: slEpochs, batchSize: 64, seed },
    );
    for (const [i, a] of arms.entries()) {
      const cmp = compare(curves.plain, curves[a.name], SMOOTHING, plainEpochs - 1);
      const cpu = compare(onCpu(curves.plain), onCpu(curves[a.name]), SMOOTHING, plainEpochs - 1);
      let control: ControlComparison | undefined;
      if (a.lrMult !== 1) {
        const cname = `plain+lr${a.lrMult}`;
        const cc = curves[cname];
        const vs = compare(cc, curves[a.name], SMOOTHING, plainEpochs - 1);
        const vsCpu = compare(onCpu(cc), onCpu(curves[a.name]), SMOOTHING, plainEpochs - 1);
        const cp = compare(curves.plain, cc, SMOOTHING);
        const cpCpu = compare(onCpu(curves.plain), onCpu(cc), SMOOTHING);
        control = {
          name: cname,
          curve: cc,
          speedup: vs.speedup,
          cpuSpeedup: vsCpu.speedup,
          dropPts: vs.dropPts,
          controlVsPlain: { speedup: cp.speedup, cpuSpeedup: cpCpu.speedup, dropPts: cp.dropPts },
        };
      }
      const rec: SwiftLearnRun = {
        seed,
        ...settings,
        lrMult: a.lrMult,
        variant: '',
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
        scoredAt: a.sl.state.scoredAt,
        scoringSeconds: a.sl.state.scoringMs / 1000,
        cpuSpeedup: cpu.speedup,
        cpuEqualEpochTimeRatio: cpu.timeRatioAt,
        ...(control ? { control } : {}),
      };
      rec.variant = runLabel(rec);
      out.push(rec);
      const f = (x: number | null | undefined) => x?.toFixed(2) ?? 'never';
      console.log(
        `  ${a.name}: speedup ${f(cmp.speedup)} (CPU ${f(cpu.speedup)}), drop ${cmp.dropPts.toFixed(2)} pt, Δ at equal steps ${deltaAtEqualStepsPts(curves.plain, curves[a.name], curves.plain[0].steps).toFixed(2)} pt${control ? `; vs ${control.name}: CPU ${f(control.cpuSpeedup)}, drop ${control.dropPts.toFixed(2)}; control vs plain CPU ${f(control.controlVsPlain.cpuSpeedup)}, drop ${control.controlVsPlain.dropPts.toFixed(2)}` : ''}`,
      );
    }
    disposeAll([
      plainModel,
      plainOpt,
      ...controlArms.flatMap((a) => [a.model, a.optimizer]),
      ...arms.flatMap((a) => [a.model, a.optimizer]),
    ]);
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

/**
 * Plain's steps to SwiftLearn's accuracy over SwiftLearn's steps, mean over SwiftLearn's
 * evaluations after plain's first (both curves smoothed over SMOOTHING evaluations; plain's as its
 * running best, linearly interpolated between evaluations; a SwiftLearn accuracy plain never
 * reached is left out): the step gain at equal accuracy, which unlike deltaAtEqualStepsPts does
 * not grow with the slope of the curve (a steep curve turns a small step gain into many points).
 * Linear interpolation of a concave curve overstates plain's steps a little, for every arm alike.
 * NaN when no evaluation counts.
 */
export function equalAccuracyStepsGain(plain: CurvePoint[], sl: CurvePoint[]): number {
  const p = smooth(plain, SMOOTHING);
  for (let i = 1; i < p.length; i++) p[i] = { ...p[i], acc: Math.max(p[i].acc, p[i - 1].acc) };
  const gains: number[] = [];
  for (const q of smooth(sl, SMOOTHING)) {
    if (q.steps <= p[0].steps) continue;
    const j = p.findIndex((x) => x.acc >= q.acc);
    if (j < 0) continue;
    const a = p[Math.max(j - 1, 0)];
    const b = p[j];
    const need =
      j === 0 || b.acc === a.acc
        ? b.steps
        : a.steps + ((b.steps - a.steps) * (q.acc - a.acc)) / (b.acc - a.acc);
    gains.push(need / q.steps);
  }
  return gains.length === 0 ? Number.NaN : mean(gains);
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
    ...summaryFigures(
      `${prefix}EqualAccuracyStepsGain`,
      runs.map((r) => equalAccuracyStepsGain(r.plain, r.swiftlearn)),
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

/** One candidate of the MNIST round on its tuning seeds, against the defaults of the same runs. */
export interface MnistCandidate {
  variant: string;
  seeds: number[];
  cpuSpeedups: (number | null)[];
  dropPts: number[];
  meanCpuSpeedup: number | null;
  meanDropPts: number;
  /** The defaults' mean CPU speedup in the same runs (same seeds, same plain curves). */
  defaultMeanCpuSpeedup: number | null;
  qualifies: boolean;
}

/**
 * The MNIST round's choice by its pre-registered rule (SL_SESSION10_MNIST): each candidate's
 * records on SL_MNIST_TUNING_SEEDS (MNIST, Adam 3e-3, no raise, 8 plain epochs), each paired with
 * the defaults' record of the same run (the same plain curve). It qualifies when every tuning seed
 * has such a pair, reaches the target on CPU seconds, and its mean drop is <= 0.5; the qualifier
 * with the best mean CPU speedup is chosen when that mean is >= 2 and above the defaults'.
 */
export function mnistChoice(runs: SwiftLearnRun[]): {
  candidates: MnistCandidate[];
  chosen: string | null;
} {
  const mnist = runs.filter(
    (r) =>
      r.plainEpochs === 8 &&
      settingsKey(r) === settingsKey({ ...HEADLINE_SETTINGS, dataset: 'mnist' }) &&
      SL_MNIST_TUNING_SEEDS.includes(r.seed),
  );
  const samePlain = (a: SwiftLearnRun, b: SwiftLearnRun) =>
    JSON.stringify(a.plain) === JSON.stringify(b.plain);
  const candidates = SL_SESSION10_MNIST.map((name): MnistCandidate => {
    const key = configKey(variantConfig(name));
    const pairs = SL_MNIST_TUNING_SEEDS.map((seed) => {
      const r = mnist.find((x) => x.seed === seed && configKey(x.config) === key);
      const d = r && mnist.find((x) => x.seed === seed && isDefaultConfig(x) && samePlain(x, r));
      return r && d ? { r, d } : undefined;
    }).filter((p) => p !== undefined);
    const complete = pairs.length === SL_MNIST_TUNING_SEEDS.length;
    const cpu = pairs.map((p) => p.r.cpuSpeedup ?? null);
    const dcpu = pairs.map((p) => p.d.cpuSpeedup ?? null);
    const hit = (xs: (number | null)[]) => xs.length > 0 && xs.every((x) => x !== null);
    const meanDropPts = pairs.length > 0 ? mean(pairs.map((p) => p.r.dropPts)) : Number.NaN;
    return {
      variant: name,
      seeds: pairs.map((p) => p.r.seed),
      cpuSpeedups: cpu,
      dropPts: pairs.map((p) => p.r.dropPts),
      meanCpuSpeedup: hit(cpu) ? mean(cpu as number[]) : null,
      meanDropPts,
      defaultMeanCpuSpeedup: hit(dcpu) ? mean(dcpu as number[]) : null,
      qualifies: complete && hit(cpu) && meanDropPts <= 0.5,
    };
  });
  const best = candidates
    .filter((c) => c.qualifies)
    .sort((a, b) => (b.meanCpuSpeedup as number) - (a.meanCpuSpeedup as number))[0];
  const chosen =
    best !== undefined &&
    (best.meanCpuSpeedup as number) >= 2 &&
    (best.defaultMeanCpuSpeedup === null ||
      (best.meanCpuSpeedup as number) > best.defaultMeanCpuSpeedup)
      ? best.variant
      : null;
  return { candidates, chosen };
}

const isDefaultConfig = (r: SwiftLearnRun) => configKey(r.config) === DEFAULT_KEY;

function summarize(all: SwiftLearnRun[]): SectionResult {
  const runs = [...all].sort((x, y) => x.seed - y.seed || x.variant.localeCompare(y.variant));
  const isDefault = (r: SwiftLearnRun) =>
    configKey(r.config) === DEFAULT_KEY && r.plainEpochs === 8;
  const headlineSettings = (r: SwiftLearnRun) => settingsKey(r) === settingsKey(HEADLINE_SETTINGS);
  const report = runs.filter(
    (r) => isDefault(r) && headlineSettings(r) && SL_REPORT_SEEDS.includes(r.seed),
  );
  // The pre-registered MNIST run of the defaults (session 10): a second figure, not the headline.
  const mnist = runs.filter(
    (r) =>
      isDefault(r) && settingsKey(r) === settingsKey({ ...HEADLINE_SETTINGS, dataset: 'mnist' }),
  );
  const tuning = runs.filter((r) => SL_TUNING_SEEDS.includes(r.seed));
  const byVariant = new Map<string, SwiftLearnRun[]>();
  const vkey = (r: SwiftLearnRun) => `${configKey(r.config)}/${settingsKey(r)}`;
  for (const r of tuning) byVariant.set(vkey(r), [...(byVariant.get(vkey(r)) ?? []), r]);
  const steps = (r: SwiftLearnRun) => {
    const c = compare(r.plain, r.swiftlearn, SMOOTHING, r.plainEpochs - 1);
    return c.stepsRatio === null ? null : 1 / c.stepsRatio;
  };
  // The MNIST round's chosen variant (if any), on the report seeds only.
  const choice = mnistChoice(runs);
  const chosenKey = choice.chosen === null ? null : configKey(variantConfig(choice.chosen));
  const chosen = runs.filter(
    (r) =>
      chosenKey !== null &&
      configKey(r.config) === chosenKey &&
      r.plainEpochs === 8 &&
      settingsKey(r) === settingsKey({ ...HEADLINE_SETTINGS, dataset: 'mnist' }) &&
      SL_REPORT_SEEDS.includes(r.seed),
  );
  return {
    headline: {
      ...figures('swiftlearn', report),
      ...(mnist.length > 0 ? figures('swiftlearnMnist', mnist) : {}),
      ...(chosen.length > 0 ? figures('swiftlearnMnistChosen', chosen) : {}),
    },
    section: {
      config: variantConfig('default'),
      mnistChosen: {
        rule: 'SL_SESSION10_MNIST (bench/lib/recipes-swiftlearn.ts), written before its runs',
        tuningSeeds: SL_MNIST_TUNING_SEEDS,
        candidates: choice.candidates,
        chosen: choice.chosen,
        chosenLabel: chosen[0]?.variant ?? null,
        reportSeeds: chosen.map((r) => r.seed),
      },
      tuningSeeds: SL_TUNING_SEEDS,
      reportSeeds: report.map((r) => r.seed),
      tuning: [...byVariant.values()].map((rs) => ({
        variant: rs[0].variant,
        config: rs[0].config,
        dataset: rs[0].dataset,
        optimizer: rs[0].optimizer,
        lr: rs[0].lr,
        lrMult: rs[0].lrMult,
        seeds: rs.map((r) => r.seed),
        stepsGains: rs.map(steps),
        equalAccuracyStepsGains: rs.map((r) => equalAccuracyStepsGain(r.plain, r.swiftlearn)),
        speedups: rs.map((r) => r.speedup),
        dropPts: rs.map((r) => r.dropPts),
        meanDropPts: mean(rs.map((r) => r.dropPts)),
        meanDeltaAtPlainTimePts: mean(rs.map((r) => r.deltaAtPlainTimePts)),
        meanEqualEpochSpeedup: mean(rs.map((r) => r.equalEpochTimeRatio)),
        meanDeltaAtEqualStepsPts: mean(
          rs.map((r) => deltaAtEqualStepsPts(r.plain, r.swiftlearn, r.plain[0].steps)),
        ),
        cpuSpeedups: rs.map((r) => r.cpuSpeedup ?? null),
        ...(rs.every((r) => r.control)
          ? {
              control: rs[0].control?.name,
              vsControlCpuSpeedups: rs.map((r) => r.control?.cpuSpeedup ?? null),
              vsControlDropPts: rs.map((r) => r.control?.dropPts),
              vsControlStepsGains: rs.map((r) => {
                const c = r.control as ControlComparison;
                const k = compare(c.curve, r.swiftlearn, SMOOTHING, r.plainEpochs - 1);
                return k.stepsRatio === null ? null : 1 / k.stepsRatio;
              }),
              vsControlEqualAccuracyStepsGains: rs.map((r) =>
                equalAccuracyStepsGain((r.control as ControlComparison).curve, r.swiftlearn),
              ),
              controlVsPlainEqualAccuracyStepsGains: rs.map((r) =>
                equalAccuracyStepsGain(r.plain, (r.control as ControlComparison).curve),
              ),
              vsControlMeanDeltaAtEqualStepsPts: mean(
                rs.map((r) =>
                  deltaAtEqualStepsPts(
                    (r.control as ControlComparison).curve,
                    r.swiftlearn,
                    r.plain[0].steps,
                  ),
                ),
              ),
              controlVsPlainCpuSpeedups: rs.map(
                (r) => r.control?.controlVsPlain.cpuSpeedup ?? null,
              ),
              controlVsPlainDropPts: rs.map((r) => r.control?.controlVsPlain.dropPts),
            }
          : {}),
      })),
      runs,
      notes: [
        `SwiftLearn at keep ${KEEP}; plain 8 epochs, SwiftLearn up to 12 (--sl-epochs, --sl-rounds); every arm Adam 3e-3 constant, batch 64, zoo CNN filters [8, 16], dense 32`,
        `settings are compared on the tuning seeds ${SL_TUNING_SEEDS.join(', ')} (section.tuning); the headline is the library defaults (section.config) on the report seeds ${SL_REPORT_SEEDS.join(', ')}, fixed before they ran (seeds 6-9 reported the earlier defaults, in section.runs)`,
        "swiftlearnSpeedup: plain's training seconds to its final accuracy - 0.5 point over SwiftLearn's (scoring included, evaluation not), accuracies averaged over the last 2 epochs; the mean over seeds with its 95% t-interval, null when a seed never got there (swiftlearnSpeedupHits seeds did; swiftlearnSpeedupOfHits their mean)",
        'swiftlearnCpuSpeedup, swiftlearnCpuEqualEpochSpeedup: the same ratios on process CPU seconds over the same spans (wasm on one thread; a second figure, less moved by the load of a shared machine; null until every report run has recorded them)',
        "swiftlearnStepsGain: plain's steps to the target over SwiftLearn's; swiftlearnDeltaAtEqualStepsPts: SwiftLearn's accuracy minus plain's (interpolated) at the same step count, mean over SwiftLearn's evaluations after the warm-up: a kept step costs what a plain step costs, so a time speedup needs this step gain (slbound: the ceiling of any unbiased sampler)",
        "swiftlearnEqualAccuracyStepsGain: plain's steps to SwiftLearn's smoothed accuracy over SwiftLearn's steps, mean over SwiftLearn's evaluations past plain's first (equalAccuracyStepsGain: unlike the equal-step points it does not grow with the slope of plain's curve)",
        'records since session 10 carry dataset, optimizer, lr and lrMult (older ones: fashion-mnist, adam, 0.003, 1); the headline takes those settings only. --sl-opt and --lr set both arms; an lr<x> variant raises the rate x-fold from its first kept epoch and is also compared with a plain arm given the same raise (record.control; section.tuning vsControl*, controlVsPlain*); --dataset mnist runs of the defaults give the swiftlearnMnist* figures, beside the headline, not in it',
        'swiftlearnMnistChosen*: the variant the MNIST round chose by its pre-registered rule (section.mnistChosen: candidates wk50, cached, wk50+cached against the defaults in the same runs on seeds 1-2), on the report seeds 10-13 only; absent when none was chosen',
        "swiftlearnDropPts: plain's final minus SwiftLearn's at the same 8 epochs (paired over seeds: mean, sd, SE, 95% t-interval, bench/lib/paired.ts); swiftlearnEqualEpochSpeedup: plain's seconds for them over SwiftLearn's",
      ],
    },
  };
}

export const swiftlearnSection: Section<SwiftLearnRun> = {
  run: runSeeds,
  key: (r) =>
    `${configKey(r.config)}/${r.plainEpochs}/${r.swiftlearnEpochs}/${r.trainImages}/${r.seed}${settingsKey(r) === settingsKey(HEADLINE_SETTINGS) ? '' : `/${settingsKey(r)}`}`,
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
        swiftlearn: r.config
          ? { ...r.config, anneal: undefined, cachedScores: undefined }
          : { ...SWIFTLEARN_DEFAULTS, redraw: false, ...sec?.config },
      }).swiftlearn as SlConfig;
      const rec = {
        plainEpochs: 8,
        swiftlearnEpochs: 12,
        trainImages: 5000,
        date: when?.date ?? null,
        loadAverage: when?.loadAverage ?? null,
        ...HEADLINE_SETTINGS,
        ...r,
        config: { ...config, ...pick(r.config) },
      } as SwiftLearnRun;
      rec.variant = runLabel(rec);
      return rec;
    });
  },
  summarize,
};
