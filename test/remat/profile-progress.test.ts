import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildChain } from '../../src/remat/chain.js';
import { planRemat } from '../../src/remat/plan-model.js';
import { profileChain } from '../../src/remat/profile.js';
import type { TaskProgress } from '../../src/train/progress.js';
import { withTinyTransformer } from './fixtures.js';

describe('profiling progress', () => {
  it('profileChain reports each stage as it is measured, 0 to n', () =>
    withTinyTransformer((model, batch) => {
      const chain = buildChain(model);
      const events: TaskProgress[] = [];
      profileChain(chain, batch, { repeats: 1, onProgress: (e) => events.push(e), label: 'x' });
      const n = chain.stages.length;
      assert.ok(n > 2);
      assert.deepEqual(
        events.map((e) => e.done),
        Array.from({ length: n + 1 }, (_, i) => i),
      );
      assert.ok(events.every((e) => e.total === n && e.task === `profiling ${n} stages (x)`));
      assert.deepEqual(
        events.slice(1).map((e) => e.item),
        chain.stages.map((s) => s.name),
      );
    }));

  it('planRemat reports one task per chain it profiles, naming the chain', () =>
    withTinyTransformer((model, batch) => {
      const tasks = new Map<string, TaskProgress[]>();
      planRemat(model, batch, 1e9, {
        repeats: 1,
        onProgress: (e) => tasks.set(e.task, [...(tasks.get(e.task) ?? []), e]),
      });
      const names = [...tasks.keys()];
      assert.equal(names.length, 2, names.join('; '));
      assert.match(names[0], /^profiling \d+ stages \(blocks chain\)$/);
      assert.match(names[1], /^profiling \d+ stages \(layers chain\)$/);
      for (const events of tasks.values()) {
        const last = events[events.length - 1];
        assert.equal(last.done, last.total, 'each task finishes');
      }
    }));
});
