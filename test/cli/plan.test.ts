import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { rematTapeBits, type TrainCommandOptions } from '../../src/cli/commands/train.js';
import { tempDir } from '../temp-dir.js';
import { runCli as cli } from './run-cli.js';

const dir = tempDir('frugal-plan-');

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
    const r = await cli(
      'train',
      '--model',
      'mlp',
      '--dataset',
      'synthetic',
      '--batch',
      '8',
      '--backend',
      'cpu',
      '--memory-budget',
      '6MB',
      '--act-bits',
      '2',
      '--epochs',
      '1',
      '--max-steps',
      '4',
      '--out',
      out,
      '--no-progress',
    );
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
