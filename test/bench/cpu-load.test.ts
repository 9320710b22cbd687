import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { CoreProbe } from '../../bench/lib/core-probe.js';
import { withCpuLoad } from '../../bench/lib/cpu-load.js';

function spin(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

describe('bench/lib cpu load', () => {
  it('withCpuLoad passes the value through and counts this thread as busy', async () => {
    const t = await withCpuLoad(() => spin(120) > 0);
    assert.equal(t.value, true);
    assert.ok(t.ms >= 120, `wall ${t.ms} ms`);
    // Process CPU time: the spinning thread's plus the runtime's own threads (GC, the loader),
    // so it may pass one core's worth, but never every core's.
    const cores = availableParallelism();
    assert.ok(t.cpuMs > 0 && t.cpuMs <= t.ms * cores + 50, `cpu ${t.cpuMs} ms over ${t.ms} ms`);
    if (process.platform === 'linux')
      assert.ok(t.othersCores >= 0 && t.othersCores <= availableParallelism());
  });

  it('an idle wait uses almost no CPU', async () => {
    const t = await withCpuLoad(() => new Promise((r) => setTimeout(r, 100)));
    assert.ok(t.cpuMs < t.ms * 0.5, `cpu ${t.cpuMs} ms over ${t.ms} ms of waiting`);
  });

  it('CoreProbe measures the cores its spinning threads get', async () => {
    const probe = new CoreProbe(2);
    try {
      const one = await probe.cores(1, 120);
      const two = await probe.cores(2, 120);
      // A spinning thread gets some CPU and at most about a core; two at most about two (the
      // process's figure also counts the runtime's own threads: slack of half a core).
      assert.ok(one > 0.02 && one < 1.5, `1 thread: ${one} cores`);
      assert.ok(two > 0.02 && two < 2.5, `2 threads: ${two} cores`);
      await assert.rejects(probe.cores(3, 10), /k must be in 1\.\.2/);
    } finally {
      await probe.close();
    }
    assert.throws(() => new CoreProbe(0), /threads must be a positive integer/);
  });
});
