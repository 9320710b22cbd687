import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pairedSummary } from '../../bench/lib/paired.js';
import { mergeRecords, ratioFigures, summaryFigures } from '../../bench/lib/recipes-common.js';
import { batchaugSection, mixsizeSection } from '../../bench/lib/recipes-data.js';
import { type HaetRace, haetHeadline, isStandard } from '../../bench/lib/recipes-haet.js';
import {
  equalAccuracyStepsGain,
  mnistChoice,
  parseVariant,
  runLabel,
  type SwiftLearnRun,
  swiftlearnSection,
  variantConfig,
  variantLabel,
} from '../../bench/lib/recipes-swiftlearn.js';
import { RESULTS_DIR } from '../../bench/lib/results.js';

describe('bench:recipes record store and figures', () => {
  it('a fresh record replaces the stored one with its key and keeps the others', () => {
    const stored = [
      { seed: 1, v: 'old' },
      { seed: 2, v: 'old' },
    ];
    const merged = mergeRecords(
      stored,
      [
        { seed: 2, v: 'new' },
        { seed: 3, v: 'new' },
      ],
      (r) => String(r.seed),
    );
    assert.deepEqual(
      merged.map((r) => [r.seed, r.v]),
      [
        [1, 'old'],
        [2, 'new'],
        [3, 'new'],
      ],
    );
  });

  it('summary figures are the paired summary; nulls below two seeds', () => {
    const xs = [1, 2, 4];
    const s = pairedSummary(xs);
    const h = summaryFigures('gain', xs, 'Pts');
    assert.equal(h.gainPts, s.mean);
    assert.equal(h.gainSePts, s.se);
    assert.equal(h.gainCi95LoPts, s.ci95[0]);
    assert.equal(h.gainCi95HiPts, s.ci95[1]);
    assert.deepEqual(summaryFigures('g', [5]), {
      g: 5,
      gSd: null,
      gSe: null,
      gCi95Lo: null,
      gCi95Hi: null,
    });
    assert.equal(summaryFigures('g', []).g, null);
  });

  it('a ratio is null unless every seed reached the target; the hits are counted', () => {
    const some = ratioFigures('speedup', [2, null, 1]);
    assert.equal(some.speedup, null);
    assert.equal(some.speedupHits, 2);
    assert.equal(some.speedupOfHits, 1.5);
    const all = ratioFigures('speedup', [2, 1]);
    assert.equal(all.speedup, 1.5);
    assert.equal(all.speedupHits, 2);
  });
});

describe('bench:recipes haet headline', () => {
  const race = (over: Partial<HaetRace>, plain: number, haet: number): HaetRace => ({
    budgetSeconds: 60,
    seed: 1,
    samEvery: 8,
    schedulePeak: 2,
    learningRate: 3e-3,
    trainImages: 5000,
    testImages: 2000,
    widths: [4, 8],
    batchSize: 16,
    date: '',
    loadAverage: 0,
    setupSeconds: 0,
    arms: [
      { name: 'plain', acc: plain, seconds: 60, steps: 100, curve: [] },
      { name: 'haet', acc: haet, seconds: 60, steps: 80, curve: [] },
    ],
    ...over,
  });

  it('counts only the standard setting of each budget; races before widths were stored are [8, 16] / 64', () => {
    assert.ok(isStandard(race({}, 0.5, 0.6)));
    assert.ok(!isStandard(race({ widths: [8, 16] }, 0.5, 0.6)));
    assert.ok(!isStandard(race({ samEvery: 4 }, 0.5, 0.6)));
    assert.ok(
      isStandard(race({ budgetSeconds: 150, widths: undefined, batchSize: undefined }, 0, 0)),
    );
    const h = haetHeadline([
      race({ seed: 1 }, 0.5, 0.6),
      race({ seed: 2 }, 0.5, 0.52),
      race({ seed: 3, widths: [8, 16] }, 0.5, 0.1),
      race({ seed: 1, budgetSeconds: 150, widths: [8, 16], batchSize: 64 }, 0.6, 0.65),
    ]);
    assert.equal(h.haetSeeds, 2);
    assert.ok(Math.abs((h.haetGainPts as number) - 6) < 1e-9);
    assert.equal(h.haetGainPts, h.haetGainAt60sPts);
    assert.ok(Math.abs((h.haetGainAt150sPts as number) - 5) < 1e-9);
    assert.equal(h.haetSeedsAt150s, 1);
    assert.equal(h.plainStepsAt60s, 100);
    assert.equal(h.plainEpochsAt60s, (100 * 16) / 5000);
    assert.equal(h.haetStepsRatioAt60s, 0.8);
  });

  it('CPU-clock races have their own figures (60sCpu) and stay out of haetGainPts', () => {
    const withCpu = (r: HaetRace, plainCpu: number, haetCpu: number): HaetRace => ({
      ...r,
      arms: [
        { ...r.arms[0], cpuSeconds: plainCpu },
        { ...r.arms[1], cpuSeconds: haetCpu },
      ],
    });
    const h = haetHeadline([
      withCpu(race({ seed: 1 }, 0.5, 0.6), 20, 18),
      withCpu(race({ seed: 1, clock: 'cpu' }, 0.5, 0.53), 60, 60),
      withCpu(race({ seed: 2, clock: 'cpu' }, 0.5, 0.55), 60, 61),
    ]);
    assert.equal(h.haetSeeds, 1);
    assert.ok(Math.abs((h.haetGainPts as number) - 10) < 1e-9);
    assert.equal(h.plainCpuSecondsAt60s, 20);
    assert.equal(h.haetCpuSecondsAt60s, 18);
    assert.equal(h.haetSeedsAt60sCpu, 2);
    assert.ok(Math.abs((h.haetGainAt60sCpuPts as number) - 4) < 1e-9);
    assert.equal(h.haetCpuSecondsAt60sCpu, 60.5);
    assert.equal(h.plainWallSecondsAt60sCpu, 60);
  });
});

describe('bench:recipes data-recipe sections', () => {
  it('the committed mixsize and batchaug figures are those of their stored runs', () => {
    const file = JSON.parse(readFileSync(join(RESULTS_DIR, 'recipes.json'), 'utf8'));
    for (const [section, prefix] of [
      [mixsizeSection, 'mixsize'],
      [batchaugSection, 'batchAug'],
    ] as const) {
      const runs = section.stored(file);
      assert.ok(runs.length >= 2, `${prefix}: stored runs`);
      const { headline } = section.summarize(runs);
      const committed = Object.fromEntries(
        Object.entries(file.headline).filter(([k]) => k.startsWith(prefix)),
      );
      assert.deepEqual(headline, committed);
      assert.equal(headline[`${prefix}Seeds`], runs.length);
    }
  });
});

describe('bench:recipes SwiftLearn variants', () => {
  it('names and configs round-trip against the first defaults', () => {
    assert.equal(variantLabel(variantConfig('first+redraw+every2')), 'redraw+every2');
    assert.equal(variantConfig('top').select, 'top');
    assert.equal(variantLabel(variantConfig('first')), 'first-defaults');
    assert.equal(variantLabel(variantConfig('default')), 'redraw+mix20+weighted');
    assert.equal(variantLabel(variantConfig('noredraw')), 'mix20+weighted');
    assert.equal(variantLabel(variantConfig('top')), 'top');
    assert.equal(variantConfig('default').keep, 0.3);
    assert.throws(() => variantConfig('fast'), /unknown change 'fast'/);
    assert.throws(() => variantConfig('top+redraw'), /redraw/);
    const c = variantConfig('redraw+mix50+weighted');
    assert.equal(c.mix, 0.5);
    assert.equal(c.weighted, true);
    assert.equal(variantLabel(c), 'redraw+mix50+weighted');
    assert.throws(() => variantConfig('top+mix20'), /mix/);
    assert.throws(() => variantConfig('top+weighted'), /weighted/);
  });

  it('session 10 variants: anneal, cached and the learning-rate raise', () => {
    const a = parseVariant('anneal4+cached+lr2');
    assert.equal(a.config.anneal, 4);
    assert.equal(a.config.cachedScores, true);
    assert.equal(a.lrMult, 2);
    assert.equal(variantLabel(a.config), 'redraw+mix20+weighted+anneal4+cached');
    const settings = { dataset: 'mnist', optimizer: 'momentum', lr: 0.02, lrMult: 2 } as const;
    assert.equal(
      runLabel({ ...settings, config: a.config }),
      'redraw+mix20+weighted+anneal4+cached+lr2+momentum@0.02+mnist',
    );
    // Off by default: no keys, so the defaults' records keep their identity.
    assert.deepEqual(Object.keys(parseVariant('default').config).includes('anneal'), false);
    assert.equal(parseVariant('default').lrMult, 1);
    assert.equal(parseVariant('lr0.5').lrMult, 0.5);
    assert.throws(() => parseVariant('lr0'), /lr<x> needs x > 0/);
  });

  it('equalAccuracyStepsGain: plain steps to the method accuracy over the method steps', () => {
    const pt = (steps: number, acc: number) => ({ seconds: steps, steps, acc });
    // Plain rises 0.1 per 100 steps; the method is where plain is at twice its steps.
    const plain = [100, 200, 300, 400, 500, 600].map((s) => pt(s, s / 1000));
    const sl = [100, 150, 200, 250, 300].map((s) => pt(s, (2 * s) / 1000));
    // Both smoothed over 2 evaluations: plain's smoothed a(s) = (s - 50) / 1000 past the first;
    // the method's smoothed accuracies past 100 steps: 0.25, 0.35, 0.45, 0.55.
    const want = [0.25, 0.35, 0.45, 0.55].map((a, i) => (a * 1000 + 50) / [150, 200, 250, 300][i]);
    const got = equalAccuracyStepsGain(plain, sl);
    assert.ok(Math.abs(got - want.reduce((x, y) => x + y, 0) / 4) < 1e-9, `${got}`);
    assert.ok(Number.isNaN(equalAccuracyStepsGain(plain, [pt(100, 0.9), pt(200, 0.99)])));
  });

  it('the MNIST round: chosen by its rule on seeds 1-2, reported on seeds 10-13 only', () => {
    const curve = (k: number) =>
      [1, 2, 3, 4, 5, 6, 7, 8].map((e) => ({
        seconds: e * k,
        cpuSeconds: e * k,
        steps: e * 80,
        acc: 0.9 + e / 100,
      }));
    const run = (variant: string, seed: number, cpu: number | null, drop: number, plainK = 10) =>
      ({
        seed,
        dataset: 'mnist',
        optimizer: 'adam',
        lr: 3e-3,
        lrMult: 1,
        variant,
        config: variantConfig(variant),
        plainEpochs: 8,
        swiftlearnEpochs: 12,
        trainImages: 5000,
        date: '',
        loadAverage: 1,
        plain: curve(plainK),
        swiftlearn: curve(4),
        target: 0.975,
        speedup: cpu,
        cpuSpeedup: cpu,
        dropPts: drop,
        equalEpochTimeRatio: 2,
        cpuEqualEpochTimeRatio: 2,
        deltaAtPlainTimePts: 0,
        scoringSeconds: 0,
      }) as SwiftLearnRun;
    const tuning = [1, 2].flatMap((s) => [
      run('default', s, 1.8, 0.1),
      run('wk50', s, s === 1 ? 2.2 : 2.4, 0.2),
      run('cached', s, 2.9, 0.9), // mean drop over 0.5
      run('wk50+cached', s, s === 1 ? null : 3, 0), // seed 1 misses the target
    ]);
    const c = mnistChoice(tuning);
    assert.equal(c.chosen, 'wk50');
    const byName = Object.fromEntries(c.candidates.map((x) => [x.variant, x]));
    assert.ok(Math.abs((byName.wk50.meanCpuSpeedup as number) - 2.3) < 1e-9);
    assert.ok(Math.abs((byName.wk50.defaultMeanCpuSpeedup as number) - 1.8) < 1e-9);
    assert.equal(byName.cached.qualifies, false);
    assert.equal(byName['wk50+cached'].qualifies, false);
    // Not above 2, or no defaults' record of the same run (another plain curve): nothing chosen.
    const slow = tuning.map((r) => (r.variant === 'wk50' ? { ...r, cpuSpeedup: 1.95 } : r));
    assert.equal(mnistChoice(slow).chosen, null);
    const apart = tuning.map((r) => (r.variant === 'default' ? { ...r, plain: curve(9) } : r));
    assert.equal(mnistChoice(apart).chosen, null);
    // The chosen keys: the chosen variant on the report seeds only (not seed 3, not the defaults).
    const all = [
      ...tuning,
      run('wk50', 3, 5, 0),
      run('wk50', 10, 2.1, 0.3),
      run('wk50', 11, 2.5, 0.1),
      run('default', 10, 1.5, 0),
    ];
    const h = swiftlearnSection.summarize(all).headline;
    assert.equal(h.swiftlearnMnistChosenSeeds, 2);
    assert.ok(Math.abs((h.swiftlearnMnistChosenCpuSpeedup as number) - 2.3) < 1e-9);
    assert.ok(Math.abs((h.swiftlearnMnistChosenDropPts as number) - 0.2) < 1e-9);
    const none = swiftlearnSection.summarize(
      all.map((r) => (r.variant === 'wk50' && r.seed < 3 ? { ...r, dropPts: 0.8 } : r)),
    ).headline;
    assert.equal(
      Object.keys(none).some((k) => k.startsWith('swiftlearnMnistChosen')),
      false,
    );
  });
});
