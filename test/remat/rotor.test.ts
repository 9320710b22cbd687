import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, type Rng } from '../../src/engine/random.js';
import type { ChainCosts, KeepMode, StageCost } from '../../src/remat/costs.js';
import {
  InfeasibleBudgetError,
  minimumPeak,
  minimumPeakSchedule,
  planRotor,
} from '../../src/remat/rotor.js';
import { type Op, simulate } from '../../src/remat/schedule.js';
import { segmentSchedule } from '../../src/remat/segments.js';

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

function randomChain(rng: Rng, L: number, compressed: number[] = []): ChainCosts {
  const stages: StageCost[] = [];
  for (let i = 0; i < L; i++) {
    const x = i === 0 ? 0 : int(rng, 1, 10);
    const tape = int(rng, 2, 20);
    const exact: KeepMode = {
      bits: 32,
      allMs: int(rng, 1, 10),
      bwdMs: int(rng, 1, 20),
      tapeBytes: tape,
      allPeakBytes: tape + int(rng, 0, 3),
      bwdPeakBytes: int(rng, 0, 12),
    };
    const keep = [exact];
    for (const bits of compressed) {
      const t = Math.max(1, Math.round((tape * bits) / 32) + int(rng, 0, 2));
      keep.push({
        ...exact,
        bits,
        allMs: exact.allMs + int(rng, 0, 3),
        bwdMs: exact.bwdMs + int(rng, 0, 3),
        tapeBytes: t,
        allPeakBytes: tape + int(rng, 0, 3),
      });
    }
    stages.push({
      name: `s${i}`,
      fwdMs: int(rng, 1, 10),
      inputBytes: x,
      gradBytes: x,
      fwdPeakBytes: int(rng, 1, 12),
      keep,
    });
  }
  return { stages, fixedBytes: int(rng, 0, 5), updateBytes: int(rng, 0, 5) };
}

/** Every schedule of the Rotor family for stages a..b (decision trees), as op lists. */
function allSchedules(costs: ChainCosts, a: number, b: number): Op[][] {
  const out: Op[][] = [];
  costs.stages[a].keep.forEach((_, v) => {
    const subs = a < b ? allSchedules(costs, a + 1, b) : [[]];
    for (const s of subs)
      out.push([{ kind: 'fall', stage: a, mode: v }, ...s, { kind: 'b', stage: a, mode: v }]);
  });
  for (let j = a + 1; j <= b; j++) {
    const head: Op[] = [{ kind: 'fc', stage: a }];
    for (let k = a + 1; k < j; k++) head.push({ kind: 'fn', stage: k });
    const rights = allSchedules(costs, j, b);
    const lefts = allSchedules(costs, a, j - 1);
    for (const r of rights) for (const l of lefts) out.push([...head, ...r, ...l]);
  }
  return out;
}

function bruteForce(costs: ChainCosts, budget: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (const ops of allSchedules(costs, 0, costs.stages.length - 1)) {
    const p = simulate(costs, ops);
    if (p.peakBytes <= budget) best = Math.min(best, p.timeMs);
  }
  return best;
}

describe('Rotor planner', () => {
  it('matches brute-force search over all schedules on small chains (exact modes)', () => {
    const rng = makeRng(7);
    for (let trial = 0; trial < 40; trial++) {
      const costs = randomChain(rng, int(rng, 1, 5));
      const min = minimumPeak(costs);
      for (const extra of [0, 3, 10, 30, 200]) {
        const budget = min + extra;
        // One unit per byte: the program is exact, so it must find the brute-force optimum.
        const plan = planRotor(costs, budget, { units: budget });
        assert.equal(plan.predicted.timeMs, bruteForce(costs, budget), `trial ${trial} +${extra}`);
        assert.ok(plan.predicted.peakBytes <= budget);
      }
      assert.equal(bruteForce(costs, min - 1), Number.POSITIVE_INFINITY, 'minimum is tight');
    }
  });

  it('matches brute force with compressed keep modes (joint planner)', () => {
    const rng = makeRng(11);
    for (let trial = 0; trial < 25; trial++) {
      const costs = randomChain(rng, int(rng, 1, 4), [8, 2]);
      const min = minimumPeak(costs, { modes: 'joint' });
      for (const extra of [0, 4, 15, 100]) {
        const budget = min + extra;
        const plan = planRotor(costs, budget, { units: budget, modes: 'joint' });
        assert.equal(plan.predicted.timeMs, bruteForce(costs, budget), `trial ${trial} +${extra}`);
      }
      // Joint never does worse than recompute-only at the same budget.
      const exactMin = minimumPeak(costs);
      assert.ok(min <= exactMin);
      const b = exactMin + 5;
      assert.ok(
        planRotor(costs, b, { units: b, modes: 'joint' }).predicted.timeMs <=
          planRotor(costs, b, { units: b }).predicted.timeMs,
      );
    }
  });

  it('with coarse units stays within the budget and near the optimum', () => {
    const rng = makeRng(3);
    for (let trial = 0; trial < 20; trial++) {
      const costs = randomChain(rng, 5);
      const budget = minimumPeak(costs) + 20;
      const coarse = planRotor(costs, budget, { units: 10 });
      assert.ok(coarse.predicted.peakBytes <= budget);
      assert.ok(coarse.predicted.timeMs >= bruteForce(costs, budget));
    }
  });

  it('rejects an infeasible budget naming the smallest budget that works', () => {
    const costs = randomChain(makeRng(5), 6);
    const min = minimumPeak(costs);
    assert.throws(
      () => planRotor(costs, min - 1),
      (e: unknown) =>
        e instanceof InfeasibleBudgetError &&
        e.minimumBytes === min &&
        /infeasible: the smallest budget any schedule fits in is/.test(e.message),
    );
    // The minimum itself works, at any unit size.
    for (const units of [3, 50, 500]) {
      const plan = planRotor(costs, min, { units });
      assert.ok(plan.predicted.peakBytes <= min);
    }
    assert.equal(simulate(costs, minimumPeakSchedule(costs)).peakBytes, min);
    assert.throws(() => planRotor(costs, 0), /positive number of bytes/);
    assert.throws(() => planRotor(costs, Number.NaN), /positive number of bytes/);
  });

  it('plans a 100-stage chain in under a few seconds', () => {
    const costs = randomChain(makeRng(9), 100);
    const budget = Math.round(minimumPeak(costs) * 1.5);
    const t0 = performance.now();
    const plan = planRotor(costs, budget);
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `planning took ${ms.toFixed(0)} ms`);
    assert.ok(plan.predicted.peakBytes <= budget);
    assert.equal(plan.ops.filter((o) => o.kind === 'b').length, 100);
  });

  it('more memory never costs more time', () => {
    const costs = randomChain(makeRng(13), 12);
    const min = minimumPeak(costs);
    let last = Number.POSITIVE_INFINITY;
    for (let b = min; b < min * 3; b += Math.ceil(min / 8)) {
      const t = planRotor(costs, b, { units: b }).predicted.timeMs;
      assert.ok(t <= last);
      last = t;
    }
  });

  it('the simulator validates schedules', () => {
    const costs = randomChain(makeRng(1), 4);
    assert.doesNotThrow(() => simulate(costs, segmentSchedule(4, [0, 2])));
    assert.throws(
      () => simulate(costs, [{ kind: 'b', stage: 3, mode: 0 }]),
      /stage 3 was not recorded/,
    );
    assert.throws(() => simulate(costs, [{ kind: 'fn', stage: 0 }]), /does not own/);
    assert.throws(() => segmentSchedule(4, [1, 2]), /must start at stage 0/);
  });
});
