import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { pairedSummary } from '../../bench/lib/paired.js';
import type { CnnRun } from '../../bench/lib/sparse-cnn.js';
import { summarizeCnn } from '../../bench/lib/sparse-cnn.js';
import { CONFIRM_SEEDS, carriedParts, onlyPart, PARTS } from '../../bench/lib/sparse-only.js';
import { summarizePart } from '../../bench/lib/sparse-parts.js';
import {
  mergeResnet,
  pooled2x2,
  resnetHeadline,
  summarizeResnet,
} from '../../bench/lib/sparse-resnet.js';

const run = (method: string, seed: number, accuracy: number): CnnRun => ({
  method,
  seed,
  accuracy,
  meanStepMs: 1,
});

function resnetResult() {
  const runs = [
    run('dense', 0, 0.93),
    run('mvue 1:2', 0, 0.925),
    run('magnitude 2:4', 0, 0.9),
    run('dense', 1, 0.94),
    run('mvue 1:2', 1, 0.93),
    run('magnitude 2:4', 1, 0.92),
  ];
  const summary = summarizeCnn(runs, 'dense');
  const paired = Object.fromEntries(
    summary
      .filter((r) => r.method !== 'dense')
      .map((r) => [r.method, pairedSummary(r.dropPtsBySeed)]),
  );
  return {
    schedule: {
      train: 64,
      test: 32,
      epochs: 1,
      batch: 16,
      learningRate: 0.01,
      seeds: [0, 1],
      steps: 4,
    },
    model: 'a resnet',
    summary,
    paired,
    runs,
    seconds: 1,
  };
}

describe('bench sparse-grad --only parts', () => {
  it('resnet headline: paired drops by method, null where a method did not run', () => {
    const h = resnetHeadline(resnetResult());
    assert.equal(h.resnetModel, 'a resnet');
    assert.ok(Math.abs((h.resnetMvue12DropPts as number) - 0.75) < 1e-9);
    assert.ok(Math.abs((h.resnetMagnitude24DropPts as number) - 2.5) < 1e-9);
    // drops 0.5 and 1: SE 0.25, t(1) 12.706
    assert.ok(Math.abs((h.resnetMvue12DropSe as number) - 0.25) < 1e-9);
    assert.ok(Math.abs((h.resnetMvue12DropCi95Hi as number) - (0.75 + 12.706 * 0.25)) < 1e-9);
    assert.equal(h.resnetMvue24DropPts, null);
    assert.equal(h.resnetSeeds, 2);
    assert.ok(Math.abs((h.resnetDenseAcc as number) - 0.935) < 1e-9);
    const long = resnetHeadline(resnetResult(), 'resnetLong');
    assert.equal(long.resnetLongModel, 'a resnet');
    assert.equal(long.resnetLongMvue12DropPts, h.resnetMvue12DropPts);
    assert.ok(!('resnetMvue12DropPts' in long));
  });

  it('resnetConverged --seeds: merges seeds that reproduce, refuses other schedules or changed seeds', () => {
    const r = resnetResult();
    const part = (seeds: number[], lr = 0.01, bump = 0) =>
      summarizeResnet(
        { ...r.schedule, learningRate: lr, seeds },
        r.runs
          .filter((x) => seeds.includes(x.seed))
          .map((x) => ({ ...x, accuracy: x.accuracy + (x.seed === 0 ? bump : 0) })),
        1,
        'how',
      );
    const both = mergeResnet(part([0]), part([1, 0]));
    assert.match(both.note, /seeds 1 added to 0; seeds 0 rerun and reproduced exactly/);
    assert.deepEqual(both.result.schedule.seeds, [0, 1]);
    assert.equal(both.result.runs.length, 6);
    // The merged figures are those of one run over both seeds.
    assert.deepEqual(both.result.paired, r.paired);
    assert.equal(both.result.seconds, 2);
    assert.match(mergeResnet(part([0]), part([1], 0.02)).note, /another schedule/);
    const changed = mergeResnet(part([0]), part([0, 1], 0.01, 0.01));
    assert.match(changed.note, /0\/dense, 0\/mvue 1:2, 0\/magnitude 2:4 did not reproduce/);
    assert.deepEqual(changed.result.schedule.seeds, [0, 1]);
    assert.equal(mergeResnet(undefined, part([1])).result.schedule.seeds[0], 1);
    // Later seeds with fewer methods: each method keeps its own seeds, the text says which.
    const fewer = summarizeResnet(
      { ...r.schedule, seeds: [1] },
      r.runs.filter((x) => x.seed === 1 && x.method !== 'magnitude 2:4'),
      1,
      'how',
    );
    const uneven = mergeResnet(part([0]), fewer).result;
    assert.equal(uneven.paired['mvue 1:2'].n, 2);
    assert.equal(uneven.paired['magnitude 2:4'], undefined);
    assert.match(uneven.model, /seeds by method: dense 0, 1; mvue 1:2 0, 1; magnitude 2:4 0$/);
    assert.equal(resnetHeadline(uneven).resnetMvue12Seeds, 2);
    assert.ok(PARTS.resnetConverged.paired && PARTS.resnetConverged.merge);
    const h = PARTS.resnetConverged.headline(both.result as never);
    assert.match(String(h.resnetConvergedMvue12Verdict), /^target <= 0.5: /);
    assert.equal(h.resnetConvergedMvue24Verdict, null);
  });

  it('a full run carries the resnet and confirmatory sections; an old resnet section gives no figures', () => {
    const confirm = summarizePart(
      'x',
      { train: 64, test: 32, epochs: 2, batch: 16, seeds: [20, 21], steps: 8 },
      [run('dense', 20, 0.9), run('x', 20, 0.89), run('dense', 21, 0.9), run('x', 21, 0.88)],
      1,
      5,
    );
    const c = carriedParts({ resnet: resnetResult(), transposableConfirm: confirm, partRuns: {} });
    assert.equal(c.headline.resnetModel, 'a resnet');
    assert.ok(Math.abs((c.headline.transposable24ConfirmDropPts as number) - 1.5) < 1e-9);
    assert.match(String(c.headline.transposable24ConfirmMethod), /pre-registered.*seeds 20-29/);
    assert.deepEqual(Object.keys(c.sections).sort(), ['resnet', 'transposableConfirm']);
    const old = carriedParts({ resnet: { summary: [], runs: [] } });
    assert.equal(old.headline.resnetModel, undefined);
  });

  it('the confirmatory part has its seeds fixed: --seeds is refused before any work', async () => {
    assert.deepEqual(CONFIRM_SEEDS, [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    assert.equal(PARTS.transposableConfirm.paired, false);
    await assert.rejects(
      onlyPart('transposableConfirm', 'cpu', [30]),
      /--seeds applies to the paired parts/,
    );
    await assert.rejects(onlyPart('resnet', 'cpu', [3]), /--seeds applies to the paired parts/);
  });

  it('pools 28x28 images 2x2 to 14x14 (averages)', () => {
    const x = Float32Array.from({ length: 2 * 28 * 28 }, (_, i) => i % 7);
    const data = {
      sampleShape: [28, 28, 1],
      numClasses: 2,
      train: { x, y: Int32Array.from([0, 1]), count: 2 },
      test: { x, y: Int32Array.from([0, 1]), count: 2 },
    };
    const before = tf.memory().numTensors;
    const p = pooled2x2(data as never);
    assert.deepEqual(p.sampleShape, [14, 14, 1]);
    assert.equal(p.train.x.length, 2 * 14 * 14);
    const at = (r: number, c: number) => x[r * 28 + c];
    const want = (at(2, 4) + at(2, 5) + at(3, 4) + at(3, 5)) / 4;
    assert.ok(Math.abs(p.train.x[1 * 14 + 2] - want) < 1e-6);
    assert.equal(tf.memory().numTensors, before);
  });
});
