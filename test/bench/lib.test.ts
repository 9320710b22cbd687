import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  bootstrapMedianCi,
  firstRows,
  interleavedTimes,
  interleavedWallCpu,
  mean,
  median,
  numberArg,
  pairedOverheads,
  quantile,
  randomBatch,
  spreadOf,
  upperMedian,
  writeResults,
} from '../../bench/lib/index.js';
import { mnistShape, zooModelsArg } from '../../bench/lib/zoo.js';
import { ZOO_MODELS } from '../../src/models/zoo.js';
import { tempDir } from '../temp-dir.js';
import { tinyData } from '../tiny-data.js';

describe('bench/lib', () => {
  it('median averages the middle pair; upperMedian takes the upper one', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(upperMedian([3, 1, 2]), 2);
    assert.equal(upperMedian([4, 1, 3, 2]), 3);
    assert.ok(Number.isNaN(median([])));
    assert.equal(mean([1, 2, 6]), 3);
    const xs = [3, 1, 2];
    upperMedian(xs);
    assert.deepEqual(xs, [3, 1, 2], 'the input is not sorted in place');
  });

  it('interleavedTimes runs warm-up rounds untimed, in order or rotated, cleanup after the clock', () => {
    const order: string[] = [];
    const step = (name: string) => () => {
      order.push(name);
      return () => order.push(`free ${name}`);
    };
    const times = interleavedTimes([step('a'), step('b'), step('c')], { rounds: 2, warmup: 1 });
    assert.deepEqual(
      times.map((t) => t.length),
      [2, 2, 2],
    );
    assert.deepEqual(order.filter((o) => !o.startsWith('free')).join(''), 'abcabcabc');
    assert.equal(order[1], 'free a', 'the cleanup runs right after its step');
    order.length = 0;
    interleavedTimes([step('a'), step('b'), step('c')], { rounds: 3, rotate: true });
    assert.deepEqual(order.filter((o) => !o.startsWith('free')).join(''), 'abcbcacab');
    assert.throws(() => interleavedTimes([step('a')], { rounds: 0 }), /rounds must be a positive/);
  });

  it('quantile interpolates; spreadOf gives quartiles and extremes; pairedOverheads pairs rounds', () => {
    assert.equal(quantile([4, 1, 3, 2], 0), 1);
    assert.equal(quantile([4, 1, 3, 2], 1), 4);
    assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
    assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
    assert.throws(() => quantile([1], 1.5), /q must be in/);
    assert.deepEqual(spreadOf([5, 1, 3, 2, 4]), { median: 3, q1: 2, q3: 4, min: 1, max: 5, n: 5 });
    assert.deepEqual(pairedOverheads([2, 3], [1, 2]), [1, 0.5]);
    assert.throws(() => pairedOverheads([1], [1, 2]), /1 method rounds, 2 baseline/);
  });

  it('bootstrapMedianCi brackets the median, narrows with more values, repeats with its seed', () => {
    const spread = (n: number) => Array.from({ length: n }, (_, i) => ((i * 37) % n) / n);
    const small = bootstrapMedianCi(spread(11));
    const large = bootstrapMedianCi(spread(401));
    for (const [ci, xs] of [
      [small, spread(11)],
      [large, spread(401)],
    ] as const) {
      assert.ok(
        ci.lo <= median(xs) && median(xs) <= ci.hi,
        `${ci.lo} <= ${median(xs)} <= ${ci.hi}`,
      );
    }
    assert.ok(large.hi - large.lo < small.hi - small.lo);
    assert.deepEqual(bootstrapMedianCi(spread(11)), small);
    assert.deepEqual(bootstrapMedianCi([2, 2, 2]), { lo: 2, hi: 2 });
    assert.ok(Number.isNaN(bootstrapMedianCi([]).lo));
    assert.throws(() => bootstrapMedianCi([1], { level: 1 }), /level must be in/);
  });

  it('interleavedWallCpu times the last run of each block, wall and CPU, rotated', () => {
    const order: string[] = [];
    // Spins until both `ms` of process CPU time and `ms` of wall time have passed (CPU time counts
    // every thread, so other threads' work can reach it before the wall clock does; on a loaded
    // machine the wall clock runs ahead).
    const spin = (ms: number) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (;;) {
        const c = process.cpuUsage(c0);
        if ((c.user + c.system) / 1000 >= ms && performance.now() - t0 >= ms) return;
      }
    };
    const step = (name: string) => () => {
      order.push(name);
      spin(order.filter((o) => o === name).length % 2 === 0 ? 8 : 0);
    };
    const t = interleavedWallCpu([step('a'), step('b')], { rounds: 2, rotate: true, block: 2 });
    assert.equal(order.join(''), 'aabbbbaa');
    for (const times of [t.wall, t.cpu])
      assert.deepEqual(
        times.map((x) => x.length),
        [2, 2],
      );
    // Only the second run of each visit spins: the timed one.
    for (const c of t.cpu.flat()) assert.ok(c >= 8, `timed run used ${c} ms of CPU`);
    for (const w of t.wall.flat()) assert.ok(w >= 8, `timed run took ${w} ms`);
    assert.throws(() => interleavedWallCpu([step('a')], { rounds: 1, block: 0 }), /block must be/);
  });

  it('writeResults puts bench, date and headline first and writes a non-finite figure as null', () => {
    const dir = tempDir('frugal-bench-lib-');
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (m: string) => warnings.push(m);
    try {
      const path = writeResults(
        'demo',
        { headline: { speedup: 1.5, missing: Number.NaN }, rows: [1] },
        { dir, file: 'demo-x2' },
      );
      const back = JSON.parse(readFileSync(path, 'utf8'));
      assert.deepEqual(Object.keys(back), ['bench', 'date', 'headline', 'rows']);
      assert.equal(back.bench, 'demo');
      assert.deepEqual(back.headline, { speedup: 1.5, missing: null });
      assert.match(path, /demo-x2\.json$/);
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, ['demo: headline.missing is NaN, written as null']);
  });

  it('numberArg reads --name <value> and rejects a value that is not a number', () => {
    const argv = process.argv;
    try {
      process.argv = ['node', 'x.ts', '--batch', '16', '--steps', 'many'];
      assert.equal(numberArg('batch', 32), 16);
      assert.equal(numberArg('other', 7), 7);
      assert.throws(() => numberArg('steps', 3), /--steps must be a number, got 'many'/);
      process.argv = ['node', 'x.ts', '--batch'];
      assert.throws(() => numberArg('batch', 3), /--batch needs a value/);
    } finally {
      process.argv = argv;
    }
  });

  it('zooModelsArg reads --models (default all, unknown names rejected); mnistShape by layout', () => {
    const argv = process.argv;
    try {
      process.argv = ['node', 'x.ts'];
      assert.deepEqual(zooModelsArg(), [...ZOO_MODELS]);
      process.argv = ['node', 'x.ts', '--models', 'cnn, transformer'];
      assert.deepEqual(zooModelsArg(), ['cnn', 'transformer']);
      process.argv = ['node', 'x.ts', '--models', 'cnn,lenet'];
      assert.throws(() => zooModelsArg(), /--models: unknown model 'lenet'/);
    } finally {
      process.argv = argv;
    }
    assert.deepEqual(mnistShape('cnn'), [28, 28, 1]);
    assert.deepEqual(mnistShape('transformer'), [28, 28]);
  });

  it('randomBatch is seeded; firstRows takes training rows in order, wrapping', async () => {
    await tf.setBackend('cpu');
    const a = randomBatch([2, 3], 4, 7);
    const b = randomBatch([2, 3], 4, 7);
    assert.deepEqual(a.xs.shape, [4, 2, 3]);
    assert.deepEqual(a.xs.dataSync(), b.xs.dataSync());
    assert.deepEqual(a.labels, b.labels);
    const data = tinyData([3], 3, 1, { numClasses: 2 });
    const rows = firstRows(data, 5);
    assert.deepEqual(
      Array.from(rows.labels),
      [0, 1, 2, 0, 1].map((i) => data.train.y[i]),
    );
    tf.dispose([a.xs, a.ys, b.xs, b.ys, rows.xs, rows.ys]);
  });
});
