import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildChain } from '../../src/remat/chain.js';
import { profileChain, usesCpuClock } from '../../src/remat/profile.js';
import { useBackend } from '../helpers.js';
import { withTinyTransformer } from './fixtures.js';

/** Busy-waits `ms` of wall time while sleeping most of it (CPU time well below wall time). */
function mostlyAsleep(ms: number): void {
  const end = performance.now() + ms;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (performance.now() < end) Atomics.wait(cell, 0, 0, 1);
}

describe('profile clock', () => {
  it("'auto' reads CPU time in Node on backends that compute on the calling thread", async () => {
    for (const backend of ['cpu', 'wasm']) {
      await useBackend(backend);
      assert.equal(usesCpuClock('auto'), true, backend);
      assert.equal(usesCpuClock('wall'), false, backend);
      assert.equal(usesCpuClock('cpu'), true, backend);
    }
  });

  it('CPU-clock stage times leave out time the process is not running', () =>
    withTinyTransformer((model, batch) => {
      const chain = buildChain(model);
      // A stage that sleeps 20 ms in its forward: wall time sees it, CPU time does not.
      const stage = chain.stages[0];
      const run = stage.run.bind(stage);
      stage.run = (...args: Parameters<typeof run>) => {
        mostlyAsleep(20);
        return run(...args);
      };
      const fwd = (clock: 'wall' | 'cpu') => {
        const p = profileChain(chain, batch, { repeats: 1, clock });
        assert.equal(p.clock, clock);
        return p.costs.stages[0].fwdMs;
      };
      assert.ok(fwd('wall') >= 19, 'wall clock counts the sleep');
      assert.ok(fwd('cpu') < 10, 'CPU clock does not');
    }));

  it('an unknown clock is an error naming it', () =>
    withTinyTransformer((model, batch) => {
      assert.throws(
        () =>
          profileChain(buildChain(model), batch, {
            repeats: 1,
            clock: 'sundial' as unknown as 'wall',
          }),
        /profile clock must be 'auto', 'wall' or 'cpu', got 'sundial'/,
      );
    }));
});
