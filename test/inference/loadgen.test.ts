import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { earlyStoppingEstimate } from '../../src/inference/early-stopping.js';
import {
  type Clock,
  runScenario,
  type SystemUnderTest,
  scenarioSettings,
} from '../../src/inference/loadgen.js';

/** A simulated clock and a SUT whose queries take `cost(batchSize)` ms of simulated time. */
function simulated(cost: (n: number) => number): {
  clock: Clock;
  sut: SystemUnderTest;
  starts: number[];
  sizes: number[];
} {
  let t = 0;
  const starts: number[] = [];
  const sizes: number[] = [];
  const clock: Clock = {
    now: () => t,
    waitUntil: (u) => {
      t = Math.max(t, u);
    },
  };
  const sut: SystemUnderTest = {
    sampleCount: 100,
    run(indices) {
      for (const i of indices) assert.ok(i >= 0 && i < 100 && Number.isInteger(i));
      starts.push(t);
      sizes.push(indices.length);
      t += cost(indices.length);
    },
  };
  return { clock, sut, starts, sizes };
}

describe('loadgen scenarios', () => {
  it('single-stream runs until both minimums, reports the early-stopping p90', () => {
    let q = 0;
    const { clock, sut } = simulated(() => (q++ % 12 === 0 ? 5 : 1));
    const s = scenarioSettings('single-stream', { minQueryCount: 100, minDurationMs: 500 });
    const r = runScenario(sut, s, clock);
    assert.ok(r.durationMs >= 500 && r.queries >= 100);
    const lat: number[] = [];
    while (lat.length < 100 || lat.reduce((a, b) => a + b, 0) < 500)
      lat.push(lat.length % 12 ? 1 : 5);
    assert.equal(r.queries, lat.length, 'stops at the first query that reaches 500 ms');
    assert.equal(r.percentileMs, earlyStoppingEstimate(lat, 0.9));
    assert.equal(r.latency.p90Ms, 1);
    assert.equal(r.percentileMs, 5, 'the estimate bounds the p90 from above: 8% are 5 ms');
    assert.equal(r.valid, false);
    assert.match(r.invalidBecause.join(), /below MLPerf LoadGen rules/);
  });

  it('multi-stream issues 8 samples per query', () => {
    const { clock, sut, sizes } = simulated((n) => n * 0.5);
    const r = runScenario(
      sut,
      scenarioSettings('multi-stream', { minQueryCount: 500, minDurationMs: 1 }),
      clock,
    );
    assert.ok(sizes.every((n) => n === 8));
    assert.equal(r.samples, 8 * r.queries);
    assert.equal(r.percentileMs, 4);
  });

  it('server arrivals are Poisson at the target rate, seeded', () => {
    const run = (seed: number) => {
      const sim = simulated(() => 0);
      const s = scenarioSettings('server', {
        minQueryCount: 4000,
        minDurationMs: 1,
        targetQps: 100,
        latencyBoundMs: 10,
        seed,
      });
      return { r: runScenario(sim.sut, s, sim.clock), starts: sim.starts };
    };
    const { r, starts } = run(3);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length);
    // Exponential gaps: mean 10 ms and standard deviation 10 ms (4000 draws: 1.6% error of mean).
    assert.ok(Math.abs(mean - 10) < 0.6, `mean gap ${mean}`);
    assert.ok(Math.abs(sd - 10) < 1, `sd ${sd}`);
    assert.equal(r.percentileMs, 0);
    assert.deepEqual(run(3).starts, starts, 'same seed, same arrivals');
    assert.notDeepEqual(run(4).starts.slice(0, 10), starts.slice(0, 10));
  });

  it('server latency includes queueing; overload breaks the latency bound', () => {
    const sim = simulated((n) => 8 + n);
    const s = scenarioSettings('server', {
      minQueryCount: 600,
      minDurationMs: 1,
      targetQps: 200,
      latencyBoundMs: 15,
      serverMaxBatch: 4,
    });
    const r = runScenario(sim.sut, s, sim.clock);
    assert.ok(
      sim.sizes.some((n) => n > 1),
      'queued queries are batched',
    );
    assert.ok(Math.max(...sim.sizes) <= 4);
    assert.ok((r.percentileMs as number) > 15);
    assert.match(r.invalidBecause.join(), /exceeds the bound 15 ms/);
  });

  it('offline runs at least the minimum samples in batches and reports throughput', () => {
    const { clock, sut, sizes } = simulated((n) => n * 0.25);
    const r = runScenario(
      sut,
      scenarioSettings('offline', { minQueryCount: 1000, minDurationMs: 1, offlineBatch: 64 }),
      clock,
    );
    assert.ok(r.samples >= 1000 && sizes.every((n) => n === 64));
    assert.equal(r.samplesPerSecond, 4000);
  });

  it('rejects impossible settings with clear errors', () => {
    assert.throws(
      () => scenarioSettings('single-stream', { minDurationMs: 0 }),
      /minimum duration must be a positive/,
    );
    assert.throws(
      () => scenarioSettings('server', { targetQps: -5, latencyBoundMs: 10 }),
      /target QPS must be a positive number, got -5/,
    );
    assert.throws(
      () => scenarioSettings('server', { targetQps: 5 }),
      /latency bound must be a positive/,
    );
    assert.throws(() => scenarioSettings('offline', { targetQps: 5 }), /server scenario only/);
    assert.throws(
      () => scenarioSettings('single-stream', { samplesPerQuery: 4 }),
      /multi-stream only/,
    );
    assert.throws(() => scenarioSettings('batch'), /Unknown scenario 'batch'/);
    assert.throws(
      () => scenarioSettings('offline', { minQueryCount: 0 }),
      /minQueryCount must be an integer >= 1/,
    );
  });
});
