import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CnnRun } from '../../bench/lib/sparse-cnn.js';
import { mergePart, parseSeedList } from '../../bench/lib/sparse-merge.js';
import { summarizePart } from '../../bench/lib/sparse-parts.js';

const schedule = (seeds: number[]) => ({
  train: 64,
  test: 32,
  epochs: 1,
  batch: 16,
  seeds,
  steps: 4,
});
const runs = (accs: Record<number, [number, number]>): CnnRun[] =>
  Object.entries(accs).flatMap(([seed, [d, m]]) => [
    { method: 'dense', seed: Number(seed), accuracy: d, meanStepMs: 1 },
    { method: 'x', seed: Number(seed), accuracy: m, meanStepMs: 2, zeroFraction: 0.5 },
  ]);
const part = (accs: Record<number, [number, number]>) =>
  summarizePart('x', schedule(Object.keys(accs).map(Number)), runs(accs), 1, 10);

describe('bench sparse-grad --seeds', () => {
  it('parses seed lists and rejects bad ones', () => {
    assert.deepEqual(parseSeedList('0,5-9'), [0, 5, 6, 7, 8, 9]);
    assert.deepEqual(parseSeedList('3'), [3]);
    assert.throws(() => parseSeedList('5-3'), /backwards/);
    assert.throws(() => parseSeedList('1,1'), /repeats/);
    assert.throws(() => parseSeedList('a'), /expected a list/);
  });

  it('merges new seeds when the shared ones reproduce; the summary covers the union', () => {
    const prev = part({ 0: [0.9, 0.89], 1: [0.9, 0.88] });
    const now = part({ 0: [0.9, 0.89], 2: [0.9, 0.9], 3: [0.91, 0.9] });
    const { result, merge } = mergePart(prev, now);
    assert.equal(merge?.merged, true);
    assert.deepEqual(result.schedule.seeds, [0, 1, 2, 3]);
    assert.equal(result.drop.n, 4);
    const want = [1, 2, 0, 1];
    result.dropPtsBySeed.forEach((d, i) => {
      assert.ok(Math.abs(d - want[i]) < 1e-9, `seed ${i}: ${d}`);
    });
    assert.equal(result.runs.length, 8);
    assert.equal(result.seconds, 20);
  });

  it('does not merge when a shared seed differs or the schedule differs', () => {
    const prev = part({ 0: [0.9, 0.89], 1: [0.9, 0.88] });
    const now = part({ 0: [0.9, 0.87], 2: [0.9, 0.9] });
    const r = mergePart(prev, now);
    assert.equal(r.merge?.merged, false);
    assert.match(r.merge?.note ?? '', /seeds 0 did not reproduce/);
    assert.equal(r.result, now);
    const other = { ...part({ 2: [0.9, 0.9], 3: [0.9, 0.9] }) };
    other.schedule = { ...other.schedule, steps: 8 };
    assert.match(mergePart(prev, other).merge?.note ?? '', /another method or schedule/);
  });
});
