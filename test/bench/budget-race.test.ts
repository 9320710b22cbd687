import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { budgetRace, RaceClock } from '../../bench/lib/budget-race.js';
import { syntheticClassification } from '../../src/data/synthetic.js';
import { makeOptimizer } from '../../src/train/optimizer.js';
import { tinyCnn } from '../tiny-models.js';

describe('bench: budget race', () => {
  it('on the CPU clock each arm gets the budget in process CPU time, in slices, the schedule clock follows', async () => {
    const d = syntheticClassification({
      sampleShape: [8, 8, 1],
      numClasses: 3,
      trainCount: 400,
      testCount: 24,
      seed: 1,
    });
    const arms = [1, 2].map((seed) => ({
      name: `arm${seed}`,
      model: tinyCnn([2, 3], 8, seed),
      optimizer: makeOptimizer('adam', 1e-3),
      clock: new RaceClock('cpu'),
    }));
    const seen: number[] = [];
    const hooks = { beforeStep: () => seen.push(arms[0].clock.ms()) };
    const before = tf.memory().numTensors;
    const res = await budgetRace([{ ...arms[0], hooks }, arms[1]], d, {
      budgetMs: 600,
      sliceMs: 200,
      batchSize: 8,
      learningRate: 1e-3,
      seed: 1,
      clock: 'cpu',
    });
    for (const r of res) {
      const cpu = r.cpuSeconds as number;
      // The budget, overshot by at most the last step (a few ms here; 100 ms of slack).
      assert.ok(cpu >= 0.6 && cpu < 0.7, `${r.name}: ${cpu} s cpu`);
      assert.ok(r.curve.length >= 3, `${r.name}: ${r.curve.length} slices`);
      assert.ok(r.steps > 0);
      for (let i = 1; i < r.curve.length; i++)
        assert.ok((r.curve[i].cpuSeconds as number) > (r.curve[i - 1].cpuSeconds as number));
    }
    // The arm's clock (which a budget schedule reads) rises from 0 to the budget.
    assert.ok(seen[0] < 50 && seen[seen.length - 1] < 700);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
    // The stop flag that ends a CPU slice is cleared after it.
    for (const a of arms)
      assert.equal((a.model as unknown as { stopTraining: boolean }).stopTraining, false);
    for (const a of arms) {
      a.optimizer.dispose();
    }
    assert.ok(tf.memory().numTensors <= before);
    for (const a of arms) a.model.dispose();
  });
});
