import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type PlanCommandOptions, planCommand } from '../../src/cli/commands/plan.js';
import {
  rematTapeBits,
  type TrainCommandOptions,
  trainCommand,
} from '../../src/cli/commands/train.js';
import { useStockKernels } from '../../src/kernels/index.js';
import { quiet } from '../helpers.js';
import { tempDir } from '../temp-dir.js';
import { runCli as cli, frugal } from './run-cli.js';

const dir = tempDir('frugal-plan-');

/**
 * Runs `f` with a clock that moves 1 ms per reading, so that every profiled time is the same
 * and plans depend on measured memory and the options alone (real timings are noisy).
 */
async function withCountingClock<T>(f: () => Promise<T>): Promise<T> {
  const now = performance.now;
  const cpuUsage = process.cpuUsage;
  let t = 0;
  performance.now = () => ++t;
  // The profile reads process CPU time on cpu/wasm in Node (profileChain clock 'auto'): a counter
  // too, one ms per read.
  let us = 0;
  process.cpuUsage = (prev?: NodeJS.CpuUsage) => {
    us += 1000;
    return prev ? { user: us - prev.user, system: 0 } : { user: us, system: 0 };
  };
  try {
    return await quiet(f);
  } finally {
    performance.now = now;
    process.cpuUsage = cpuUsage;
  }
}

const small = [
  '--model',
  'transformer',
  '--dataset',
  'synthetic',
  '--batch',
  '8',
  '--backend',
  'cpu',
];

describe('frugal plan and train --memory-budget', () => {
  it('rejects a budget written in bits before doing any work', async () => {
    const r = await cli('plan', ...small, '--memory-budget', '64Mb');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /'64Mb' reads as bits \(lowercase b\); write 64MB for bytes/);
  });

  it('prints the schedule and prediction, and names the least budget when infeasible', async () => {
    const out = join(dir, 'plan.json');
    const r = await cli(
      'plan',
      ...small,
      '--memory-budget',
      '50MB',
      '--repeats',
      '1',
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /schedule: Fall0 /);
    assert.match(r.stdout, /memory plan: budget 50\.00 MB, predicted activation peak/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.ok(report.plan.predicted.peakBytes <= 50e6);
    const least = report.plan.minimumBytes as number;
    const bad = join(dir, 'bad.json');
    const r2 = await cli(
      'plan',
      ...small,
      '--memory-budget',
      String(least - 1),
      '--repeats',
      '1',
      '--out',
      bad,
    );
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /is infeasible: the smallest budget any schedule fits in is/);
    assert.equal(existsSync(bad), false, 'no report written');
  });

  it('previews exactly the plan train --memory-budget trains with (kernels, profile, --act-bits)', async () => {
    // As in a fresh process: no kernels installed yet (train installs the fast ones).
    useStockKernels();
    const common = {
      model: 'transformer',
      dataset: 'synthetic',
      batch: 8,
      backend: 'wasm',
      seed: 0,
    };
    const planOptions: PlanCommandOptions = {
      ...common,
      memoryBudget: 1e9,
      optimizer: 'adam',
      repeats: 1,
      progress: false,
    };
    const plan = async (o: Partial<PlanCommandOptions>) =>
      (await withCountingClock(() => planCommand({ ...planOptions, ...o }))).plan;
    const trainRemat = async (o: Partial<TrainCommandOptions>) =>
      (
        await withCountingClock(() =>
          trainCommand({
            ...common,
            epochs: 1,
            lr: 1e-3,
            optimizer: 'adam',
            trainCount: 16,
            testCount: 8,
            maxSteps: 1,
            progress: false,
            memoryBudget: 1e9,
            ...o,
          }),
        )
      ).remat;
    const exact = await plan({ remat: 'exact' });
    const joint = await plan({ actBits: 4 });
    assert.ok(joint.minimumBytes < exact.minimumBytes, 'compressed tapes reach smaller budgets');
    const cases: [Partial<PlanCommandOptions>, number][] = [
      // Recomputation needed: between the least workable budget and keep-all.
      [{ remat: 'exact' }, Math.round((exact.minimumBytes + exact.keepAll.peakBytes) / 2)],
      // Only 4-bit tapes fit.
      [{ actBits: 4 }, Math.round((joint.minimumBytes + exact.minimumBytes) / 2)],
    ];
    for (const [o, memoryBudget] of cases) {
      const previewed = await plan({ ...o, memoryBudget });
      assert.deepEqual(previewed, await trainRemat({ ...o, memoryBudget }), JSON.stringify(o));
      assert.ok(previewed.predicted.peakBytes <= memoryBudget);
      assert.ok(previewed.recomputedForwards + previewed.compressedStages > 0, previewed.schedule);
    }
  });

  it("--act-bits with --memory-budget sets the joint planner's tape bits; conflicts name both options", () => {
    const o = { memoryBudget: 1e6 } as TrainCommandOptions;
    assert.deepEqual(rematTapeBits({ ...o, actBits: 4 }), { modes: 'joint', compressedBits: [4] });
    assert.deepEqual(rematTapeBits({ ...o, actBits: 32 }), { modes: 'exact' });
    assert.deepEqual(rematTapeBits({ ...o, remat: 'joint' }), { modes: 'joint' });
    assert.deepEqual(rematTapeBits({ actBits: 4 } as TrainCommandOptions), {});
    assert.throws(
      () => rematTapeBits({ ...o, actBits: 4, remat: 'exact' }),
      /--remat exact keeps tapes exact but --act-bits 4/,
    );
    assert.throws(
      () => rematTapeBits({ ...o, actBits: 1 }),
      /--act-bits 1 cannot be used with --memory-budget/,
    );
    assert.throws(
      () => rematTapeBits({ ...o, actLevel: 'L3', rmm: 0.5 }),
      /--memory-budget cannot be combined with --act-level, --rmm/,
    );
  });

  it('trains within the budget and records the plan in the report', async () => {
    const out = join(dir, 'train.json');
    const r =
      await frugal`train --model mlp --dataset synthetic --batch 8 --backend cpu --memory-budget 6MB --act-bits 2 --epochs 1 --max-steps 4 --out ${out} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /memory plan: budget 6\.00 MB/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.remat.budgetBytes, 6e6);
    assert.ok(
      report.result.memory.activationBytes <= 6e6,
      String(report.result.memory.activationBytes),
    );
  });
});
