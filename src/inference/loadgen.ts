import { makeRng } from '../engine/random.js';
import { earlyStoppingEstimate, percentileOf } from './early-stopping.js';

/**
 * MLPerf-style load generation (after MLPerf Inference LoadGen): a system under test (SUT) runs
 * queries of sample indices; the scenario decides when queries are issued and what is measured.
 * - single-stream: one sample per query, the next issued when the last completes; metric: the
 *   90th-percentile latency (early-stopping estimate).
 * - multi-stream: `samplesPerQuery` samples per query (8), issued back to back; metric: the
 *   99th-percentile query latency (early-stopping estimate).
 * - server: one-sample queries with Poisson arrivals at `targetQps` (seeded); queued queries are
 *   batched up to `serverMaxBatch`; latency includes queueing; valid when the 99th-percentile
 *   estimate is within `latencyBoundMs`.
 * - offline: all samples at once, run in batches of `offlineBatch`; metric: samples per second.
 * A run lasts until both the minimum query count and the minimum duration are reached.
 */
export const SCENARIOS = ['single-stream', 'multi-stream', 'server', 'offline'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface ScenarioSettings {
  scenario: Scenario;
  /** Minimum queries (offline: minimum samples in its one query). */
  minQueryCount: number;
  minDurationMs: number;
  /** Latency percentile of the metric (0.9 single-stream, 0.99 otherwise). */
  percentile: number;
  confidence: number;
  samplesPerQuery: number;
  targetQps: number;
  latencyBoundMs: number;
  serverMaxBatch: number;
  offlineBatch: number;
  seed: number;
}

/** LoadGen's defaults (MLPerf Inference rules; the server latency bound is model-specific). */
export const LOADGEN_DEFAULTS: Record<Scenario, Partial<ScenarioSettings>> = {
  'single-stream': { minQueryCount: 1024, minDurationMs: 600_000, percentile: 0.9 },
  'multi-stream': {
    minQueryCount: 662,
    minDurationMs: 600_000,
    percentile: 0.99,
    samplesPerQuery: 8,
  },
  server: { minQueryCount: 270_336, minDurationMs: 600_000, percentile: 0.99 },
  offline: { minQueryCount: 24_576, minDurationMs: 600_000, percentile: 0.99 },
};

export function scenarioSettings(
  scenario: string,
  overrides: Partial<Omit<ScenarioSettings, 'scenario'>> = {},
): ScenarioSettings {
  if (!(SCENARIOS as readonly string[]).includes(scenario)) {
    throw new Error(`Unknown scenario '${scenario}': choose one of ${SCENARIOS.join(', ')}`);
  }
  const s = scenario as Scenario;
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const settings: ScenarioSettings = {
    scenario: s,
    minQueryCount: 1024,
    minDurationMs: 600_000,
    percentile: 0.9,
    confidence: 0.99,
    samplesPerQuery: 1,
    targetQps: 0,
    latencyBoundMs: 0,
    serverMaxBatch: 8,
    offlineBatch: 32,
    seed: 1,
    ...LOADGEN_DEFAULTS[s],
    ...defined,
  };
  checkSettings(settings);
  return settings;
}

function checkSettings(s: ScenarioSettings): void {
  const where = `scenario ${s.scenario}`;
  const int = (name: keyof ScenarioSettings, min: number) => {
    const v = s[name] as number;
    if (!Number.isInteger(v) || v < min)
      throw new Error(`${where}: ${name} must be an integer >= ${min}, got ${v}`);
  };
  int('minQueryCount', 1);
  int('samplesPerQuery', 1);
  int('serverMaxBatch', 1);
  int('offlineBatch', 1);
  if (!(Number.isFinite(s.minDurationMs) && s.minDurationMs > 0))
    throw new Error(
      `${where}: the minimum duration must be a positive number of ms, got ${s.minDurationMs}`,
    );
  if (!(s.percentile > 0 && s.percentile < 1))
    throw new Error(`${where}: percentile must be in (0, 1), got ${s.percentile}`);
  if (!(s.confidence > 0 && s.confidence < 1))
    throw new Error(`${where}: confidence must be in (0, 1), got ${s.confidence}`);
  if (s.scenario === 'server') {
    if (!(Number.isFinite(s.targetQps) && s.targetQps > 0))
      throw new Error(`${where}: target QPS must be a positive number, got ${s.targetQps}`);
    if (!(Number.isFinite(s.latencyBoundMs) && s.latencyBoundMs > 0))
      throw new Error(
        `${where}: the latency bound must be a positive number of ms, got ${s.latencyBoundMs}`,
      );
  } else if (s.targetQps !== 0 || s.latencyBoundMs !== 0) {
    throw new Error(`${where}: target QPS and latency bound apply to the server scenario only`);
  }
  if (s.scenario !== 'multi-stream' && s.samplesPerQuery !== 1)
    throw new Error(`${where}: samples per query applies to multi-stream only`);
}

/** Runs one query (sample indices into the SUT's sample set) to completion, synchronously. */
export interface SystemUnderTest {
  sampleCount: number;
  run(indices: number[]): void;
}

export interface Clock {
  now(): number;
  /** Waits until `now() >= t`. */
  waitUntil(t: number): void;
}

const sleeper =
  typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : null;

/** Wall clock; waits sleep (Atomics.wait where allowed) then spin the last half millisecond. */
export const wallClock: Clock = {
  now: () => performance.now(),
  waitUntil(t: number) {
    for (;;) {
      const left = t - performance.now();
      if (left <= 0) return;
      if (left > 1 && sleeper) {
        try {
          Atomics.wait(sleeper, 0, 0, left - 0.5);
        } catch {
          // Not allowed here (browser main thread): spin.
        }
      }
    }
  },
};

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  mode: 'performance';
  settings: ScenarioSettings;
  queries: number;
  samples: number;
  durationMs: number;
  latency: LatencySummary;
  /** The scenario's percentile (early-stopping estimate), ms; null when too few queries. */
  percentileMs: number | null;
  samplesPerSecond: number;
  /** Achieved query rate (server). */
  queriesPerSecond: number;
  valid: boolean;
  /** Why the run is not valid under the settings (empty when valid). */
  invalidBecause: string[];
}

function summarize(lat: number[]): LatencySummary {
  return {
    count: lat.length,
    minMs: Math.min(...lat),
    meanMs: lat.reduce((a, b) => a + b, 0) / lat.length,
    p50Ms: percentileOf(lat, 0.5),
    p90Ms: percentileOf(lat, 0.9),
    p99Ms: percentileOf(lat, 0.99),
    maxMs: lat.reduce((a, b) => Math.max(a, b), 0),
  };
}

/** Runs a scenario against a SUT (performance mode). */
export function runScenario(
  sut: SystemUnderTest,
  settings: ScenarioSettings,
  clock: Clock = wallClock,
): ScenarioResult {
  checkSettings(settings);
  if (!(Number.isInteger(sut.sampleCount) && sut.sampleCount > 0))
    throw new Error(`the system under test has no samples (${sut.sampleCount})`);
  const rng = makeRng(settings.seed);
  const pick = () => Math.floor(rng() * sut.sampleCount);
  const s = settings;
  const lat: number[] = [];
  let samples = 0;
  const t0 = clock.now();
  const enough = () => lat.length >= s.minQueryCount && clock.now() - t0 >= s.minDurationMs;
  if (s.scenario === 'single-stream' || s.scenario === 'multi-stream') {
    while (!enough()) {
      const q = Array.from({ length: s.samplesPerQuery }, pick);
      const start = clock.now();
      sut.run(q);
      lat.push(clock.now() - start);
      samples += q.length;
    }
  } else if (s.scenario === 'server') {
    // Poisson arrivals: exponential gaps with mean 1 / targetQps.
    let nextArrival = t0;
    const arrivals: number[] = [];
    const gap = () => (-Math.log(1 - rng()) / s.targetQps) * 1000;
    nextArrival += gap();
    while (!enough()) {
      if (arrivals.length === 0) {
        clock.waitUntil(nextArrival);
        arrivals.push(nextArrival);
        nextArrival += gap();
      }
      const now = clock.now();
      while (arrivals.length < s.serverMaxBatch && nextArrival <= now) {
        arrivals.push(nextArrival);
        nextArrival += gap();
      }
      const batch = arrivals.splice(0, s.serverMaxBatch);
      sut.run(batch.map(pick));
      const end = clock.now();
      for (const a of batch) lat.push(end - a);
      samples += batch.length;
    }
  } else {
    // Offline: one query of at least minQueryCount samples, repeated until the duration is met.
    while (samples < s.minQueryCount || clock.now() - t0 < s.minDurationMs) {
      const start = clock.now();
      sut.run(Array.from({ length: s.offlineBatch }, pick));
      lat.push(clock.now() - start);
      samples += s.offlineBatch;
    }
  }
  const durationMs = clock.now() - t0;
  const invalid: string[] = [];
  const est =
    s.scenario === 'offline' ? null : earlyStoppingEstimate(lat, s.percentile, s.confidence);
  if (s.scenario !== 'offline' && est === null)
    invalid.push(
      `${lat.length} queries are too few for an early-stopping estimate of p${s.percentile * 100}`,
    );
  if (s.scenario === 'server' && est !== null && est > s.latencyBoundMs)
    invalid.push(
      `p${s.percentile * 100} latency ${est.toFixed(2)} ms exceeds the bound ${s.latencyBoundMs} ms`,
    );
  const minima = LOADGEN_DEFAULTS[s.scenario];
  if (
    s.minQueryCount < (minima.minQueryCount ?? 0) ||
    s.minDurationMs < (minima.minDurationMs ?? 0)
  )
    invalid.push('minimum query count or duration below MLPerf LoadGen rules');
  return {
    scenario: s.scenario,
    mode: 'performance',
    settings: s,
    queries: s.scenario === 'offline' ? 1 : lat.length,
    samples,
    durationMs,
    latency: summarize(lat),
    percentileMs: est,
    samplesPerSecond: (samples / durationMs) * 1000,
    queriesPerSecond: s.scenario === 'offline' ? 0 : (lat.length / durationMs) * 1000,
    valid: invalid.length === 0,
    invalidBecause: invalid,
  };
}
