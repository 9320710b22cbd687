import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TrainCommandOptions } from '../../src/cli/commands/train.js';
import { baselineOptions } from '../../src/cli/commands/train-baseline.js';
import {
  checkRecipeOptions,
  dataRecipeFromOptions,
  duration,
  type RecipeCliOptions,
  recipeFromOptions,
  TIME_BUDGET_EPOCHS,
} from '../../src/cli/commands/train-recipes.js';
import { timeBarText, timeProgress } from '../../src/cli/time-progress.js';
import { tempDir } from '../temp-dir.js';
import { runCli as cli, trainReport } from './run-cli.js';

const dir = tempDir('frugal-cli-recipes-');
const run = { epochs: 3, maxSteps: 0 };
const check = (o: RecipeCliOptions & { workers?: number; epochs?: number }) =>
  checkRecipeOptions({ ...run, ...o });

describe('frugal train recipe options: parsing and checks', () => {
  it('--time-budget reads s, m, ms and bare seconds', () => {
    assert.equal(duration('60s'), 60_000);
    assert.equal(duration('1.5m'), 90_000);
    assert.equal(duration('500ms'), 500);
    assert.equal(duration('2'), 2000);
    for (const bad of ['0s', '-1s', 'abc', '10h', ''])
      assert.throws(() => duration(bad), /expected a positive duration such as 60s/);
  });

  it('--recipe haet fills the preset; a part overrides it', () => {
    const c = recipeFromOptions({ recipe: 'haet', sam: 0.1 });
    assert.equal(c?.samRho, 0.1);
    assert.equal(c?.labelSmoothing, 0.2);
    assert.equal(c?.celu, 0.075);
    const parts = recipeFromOptions({ labelSmoothing: 0.1, gradCentralization: true });
    assert.equal(parts?.labelSmoothing, 0.1);
    assert.equal(parts?.gradientCentralization, true);
    assert.equal(parts?.samRho, null);
    assert.equal(recipeFromOptions({}), null);
    assert.equal(recipeFromOptions({ recipe: 'haet', samEvery: 3 })?.samEvery, 3);
    assert.deepEqual(recipeFromOptions({ recipe: 'haet' })?.schedule, {
      warmup: 0.2,
      final: 0,
      peak: 2,
    });
    assert.equal(recipeFromOptions({ recipe: 'haet', lrSchedule: 'constant' })?.schedule, null);
    assert.deepEqual(recipeFromOptions({ lrSchedule: 'budget' })?.schedule, {
      warmup: 0.2,
      final: 0,
      peak: 1,
    });
    // --lr-schedule budget over --recipe haet is not a no-op: the preset peaks at 2x, this at 1x.
    const haet1x = recipeFromOptions({ recipe: 'haet', lrSchedule: 'budget' });
    assert.deepEqual(haet1x?.schedule, { warmup: 0.2, final: 0, peak: 1 });
    assert.equal(haet1x?.samRho, 0.05);
    assert.equal(haet1x?.labelSmoothing, 0.2);
    assert.equal(dataRecipeFromOptions({ swiftlearn: 0.2 })?.swiftlearn?.redraw, true);
    assert.equal(
      dataRecipeFromOptions({ swiftlearn: 0.2, swiftlearnDraw: 'epoch' })?.swiftlearn?.redraw,
      true,
    );
    assert.equal(
      dataRecipeFromOptions({ swiftlearn: 0.2, swiftlearnDraw: 'scoring' })?.swiftlearn?.redraw,
      false,
    );
    const w = dataRecipeFromOptions({
      swiftlearn: 0.2,
      swiftlearnMix: 0.5,
      swiftlearnWeighted: true,
    })?.swiftlearn;
    assert.equal(w?.mix, 0.5);
    assert.equal(w?.weighted, true);
    const aw = dataRecipeFromOptions({
      swiftlearn: 0.3,
      swiftlearnAverage: 0.5,
      swiftlearnWarmupKeep: 0.4,
    })?.swiftlearn;
    assert.equal(aw?.average, 0.5);
    assert.equal(aw?.warmupKeep, 0.4);
    const sl = dataRecipeFromOptions({ swiftlearn: 0.2, swiftlearnSelect: 'top' })?.swiftlearn;
    assert.equal(sl?.select, 'top');
    assert.equal(sl?.balance, 'class');
    assert.equal(
      dataRecipeFromOptions({ swiftlearn: 0.2, swiftlearnBalance: 'none' })?.swiftlearn?.balance,
      'none',
    );
  });

  const bad: [string, RecipeCliOptions & { workers?: number; epochs?: number }, RegExp][] = [
    ['--recipe none alone', { recipe: 'none' }, /--recipe none changes nothing/],
    [
      'a part the preset already sets',
      { recipe: 'haet', sam: 0.05 },
      /--sam 0.05 changes nothing: --recipe haet already sets it/,
    ],
    [
      'a flag the preset already sets',
      { recipe: 'haet', gradCentralization: true },
      /--grad-centralization changes nothing/,
    ],
    ['--batch-augment 1', { batchAugment: 1 }, /--batch-augment 1 changes nothing/],
    [
      '--lr-schedule constant alone',
      { lrSchedule: 'constant' },
      /--lr-schedule constant changes nothing: the rate is constant/,
    ],
    [
      'identical augmented copies',
      { batchAugment: 2, augmentShift: 0, augmentCutout: 0 },
      /identical copies/,
    ],
    [
      '--augment-shift without --batch-augment',
      { augmentShift: 1 },
      /--augment-shift applies to --batch-augment/,
    ],
    ['--sam-every without SAM', { samEvery: 2 }, /samEvery.*applies to SAM, which is off/],
    [
      '--swiftlearn-select without --swiftlearn',
      { swiftlearnSelect: 'top' },
      /--swiftlearn-select applies to --swiftlearn/,
    ],
    [
      '--swiftlearn-draw without --swiftlearn',
      { swiftlearnDraw: 'scoring' },
      /--swiftlearn-draw applies to --swiftlearn/,
    ],
    [
      '--swiftlearn-draw epoch with top selection',
      { swiftlearn: 0.3, swiftlearnDraw: 'epoch', swiftlearnSelect: 'top' },
      /--swiftlearn-draw epoch changes nothing with --swiftlearn-select top/,
    ],
    [
      '--swiftlearn-weighted with top selection',
      { swiftlearn: 0.3, swiftlearnWeighted: true, swiftlearnSelect: 'top' },
      /--swiftlearn-weighted changes nothing with --swiftlearn-select top/,
    ],
    [
      '--swiftlearn-mix without --swiftlearn',
      { swiftlearnMix: 0.5 },
      /--swiftlearn-mix applies to --swiftlearn/,
    ],
    [
      '--swiftlearn-warmup-keep without --swiftlearn',
      { swiftlearnWarmupKeep: 0.5 },
      /--swiftlearn-warmup-keep applies to --swiftlearn/,
    ],
    ['--swiftlearn-average of 1', { swiftlearn: 0.3, swiftlearnAverage: 1 }, /average/],
    [
      '--swiftlearn-every without --swiftlearn',
      { swiftlearnEvery: 2 },
      /--swiftlearn-every applies to --swiftlearn/,
    ],
    [
      '--mixed-size-mode without --mixed-size',
      { mixedSizeMode: 'duplicates' },
      /--mixed-size-mode applies to --mixed-size/,
    ],
    [
      'probabilities of another length',
      { mixedSize: [16, 28], mixedSizeProbs: [1] },
      /--mixed-size-probs has 1 entries but --mixed-size has 2/,
    ],
    [
      'SwiftLearn that never drops data',
      { swiftlearn: 0.3, epochs: 1 },
      /--swiftlearn changes nothing in 1 epoch/,
    ],
    [
      '--swiftlearn-every past the last epoch',
      { swiftlearn: 0.3, swiftlearnEvery: 2, epochs: 3 },
      /--swiftlearn-every 2 changes nothing in 3 epochs: the one scoring is at epoch 2/,
    ],
    [
      'a recipe with workers',
      { recipe: 'haet', workers: 2 },
      /--workers cannot be combined with recipe options/,
    ],
    [
      'a time budget with workers',
      { timeBudget: 1000, workers: 2 },
      /--time-budget cannot be combined with --workers/,
    ],
  ];
  for (const [what, o, message] of bad)
    it(`rejects ${what}`, () => {
      assert.throws(() => check(o), message);
    });

  it('--baseline keeps the time budget and drops the recipe', () => {
    const o = {
      model: 'resnet',
      recipe: 'haet',
      batchAugment: 2,
      timeBudget: 5000,
      baseline: true,
    } as TrainCommandOptions;
    const b = baselineOptions(o);
    assert.equal(b.recipe, undefined);
    assert.equal(b.batchAugment, undefined);
    assert.equal(b.timeBudget, 5000);
  });

  it('the time bar fills with elapsed time and caps at the budget', () => {
    assert.match(timeBarText(0, 60_000, 'x'), /^time \[ {20}\] 0.0\/60.0 s \| x$/);
    assert.match(timeBarText(30_000, 60_000, 'x'), /\[={10} {10}\] 30.0\/60.0 s/);
    assert.match(timeBarText(90_000, 60_000, 'x'), /\[={20}\] 60.0\/60.0 s/);
    let t = 0;
    const out: string[] = [];
    const p = timeProgress(true, 10_000, { write: (s) => out.push(s) }, () => t);
    t = 2500;
    p.onProgress({ kind: 'step', epoch: 1, step: 3, steps: 9, loss: 0.5, stepMs: 1 });
    t = 4000;
    p.onProgress({
      kind: 'epoch-end',
      epoch: 1,
      epochs: 9,
      meanLoss: 0.5,
      testAccuracy: 0.8,
      seconds: 4,
    });
    assert.match(out[0], /time \[={5} {15}\] 2.5\/10.0 s \| epoch 1, step 3\/9 \| loss 0.5000/);
    assert.equal(out[1], '\n');
    assert.match(out[2], /epoch 1: .*test accuracy 80.00% \(4.0 s of 10.0 s\)/);
  });
});

describe('frugal train --recipe / --time-budget / data recipes', () => {
  const common = '--dataset synthetic --train-count 64 --test-count 32 --batch 16 --no-progress';

  it('--recipe haet --time-budget trains the resnet until the budget and reports the recipe', async () => {
    const t0 = performance.now();
    const { run: r, report } = await trainReport(
      join(dir, 'haet.json'),
      `--model resnet ${common} --recipe haet --time-budget 2s`,
    );
    assert.equal(report.recipe.config.samRho, 0.05);
    assert.equal(report.recipe.timeBudgetMs, 2000);
    assert.ok(report.recipe.notes.some((n: string) => /CELU\(0.075\) replaced 5 ReLU/.test(n)));
    assert.equal(report.recipe.whitening.layer, 'stem_conv');
    // Without --epochs the budget alone ends the run: more than the default single epoch.
    assert.equal(report.result.config.epochs, TIME_BUDGET_EPOCHS);
    assert.ok(report.result.history.length >= 1 && report.result.steps >= 1);
    assert.match(r.stderr, /epoch \d+: .* s of 2.0 s\)/);
    assert.ok(performance.now() - t0 < 60_000);
  });

  it('--recipe haet --lr-schedule budget runs the preset with the schedule peaking at 1x --lr', async () => {
    const { report } = await trainReport(
      join(dir, 'haet-1x.json'),
      `--model resnet ${common} --max-steps 2 --recipe haet --lr-schedule budget`,
    );
    assert.deepEqual(report.recipe.config.schedule, { warmup: 0.2, final: 0, peak: 1 });
    assert.equal(report.recipe.config.samRho, 0.05);
    assert.equal(report.result.steps, 2);
  });

  it('batch augmentation, mixed size and parts together; the batch grows with the copies', async () => {
    const { report } = await trainReport(
      join(dir, 'data.json'),
      `--model resnet ${common} --max-steps 2 --label-smoothing 0.1 --sam 0.05 --batch-augment 2` +
        ' --augment-cutout 4 --mixed-size 8,12',
    );
    assert.deepEqual(report.recipe.data.batchAugment, {
      copies: 2,
      shift: 2,
      cutout: 4,
      flip: false,
    });
    assert.deepEqual(report.recipe.data.mixedSize.sizes, [8, 12]);
    assert.equal(report.recipe.config.labelSmoothing, 0.1);
    assert.equal(report.recipe.timeBudgetMs, null);
    assert.equal(report.result.steps, 2);
  });

  it('--swiftlearn-weighted trains with the weighted loss after the warm-up (the plan brings its hook)', async () => {
    const out = join(dir, 'sl-weighted.json');
    const { report } = await trainReport(
      out,
      `--model cnn ${common} --epochs 3 --swiftlearn 0.5 --swiftlearn-mix 0.5`,
      '--swiftlearn-weighted',
      '--swiftlearn-every',
      '1',
    );
    assert.equal(report.recipe.data.swiftlearn.weighted, true);
    assert.equal(report.recipe.data.swiftlearn.mix, 0.5);
    assert.equal(report.result.history.length, 3);
    // 64 rows / 16 = 4 steps of warm-up, then 32 drawn rows = 2 steps an epoch.
    assert.equal(report.result.steps, 8);
    for (const e of report.result.history) assert.ok(Number.isFinite(e.meanLoss));
  });

  const rejected: [string[], RegExp][] = [
    [['--recipe', 'fast'], /unknown recipe 'fast': choose one of none, haet/],
    [['--time-budget', '0s'], /expected a positive duration/],
    [['--label-smoothing', '1'], /expected a number in \(0, 1\), got '1'/],
    [['--mixed-size', '16,x'], /expected comma-separated image sizes/],
    [['--mixed-size', '16', '--model', 'cnn'], /Flatten/],
    [
      ['--mixed-size', '12', '--model', 'resnet'],
      /every size is the base size 12, which changes nothing/,
    ],
    [['--opt', 'qr'], /unknown OPT variant 'qr'/],
  ];
  for (const [args, message] of rejected)
    it(`rejects ${args.join(' ')}`, async () => {
      const r = await cli('train', ...common.split(' '), '--max-steps', '1', ...args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    });
});
