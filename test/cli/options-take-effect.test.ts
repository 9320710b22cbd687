import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkTrainOptionsTakeEffect,
  type TrainCommandOptions,
} from '../../src/cli/commands/train.js';
import { tempDir } from '../temp-dir.js';
import { frugal, runCli } from './run-cli.js';

const plain = { model: 'mlp', dataset: 'synthetic' } as TrainCommandOptions;

describe('train options that would change nothing are errors', () => {
  const cases: [string, Partial<TrainCommandOptions>, RegExp][] = [
    ['--baseline on a plain run', { baseline: true }, /--baseline .*plain already/],
    ['--remat without a budget', { remat: 'joint' }, /--remat joint applies to --memory-budget/],
    [
      '--rmm-kind without --rmm',
      { rmmKind: 'rademacher' },
      /--rmm-kind rademacher applies to --rmm/,
    ],
    ['--act-bits with --act-level', { actBits: 2, actLevel: 'L3' }, /both set the saved bits/],
    ['--per-sample-bits at 32 bits', { perSampleBits: true, actBits: 32 }, /--per-sample-bits/],
  ];
  for (const [what, extra, message] of cases) {
    it(what, () => {
      assert.throws(() => checkTrainOptionsTakeEffect({ ...plain, ...extra }), message);
    });
  }

  it('accepts the combinations that do something', () => {
    for (const extra of [
      {},
      { baseline: true, actBits: 2 },
      { baseline: true, memoryBudget: 30e6 },
      { remat: 'joint', memoryBudget: 30e6, actBits: 4 },
      { rmm: 0.3, rmmKind: 'rademacher' },
      { perSampleBits: true, actLevel: 'L3' },
    ] as Partial<TrainCommandOptions>[]) {
      checkTrainOptionsTakeEffect({ ...plain, ...extra });
    }
  });

  it('the CLI refuses a batch larger than the data before training', async () => {
    const r =
      await frugal`train --model mlp --dataset synthetic --train-count 16 --test-count 16 --batch 64 --backend cpu --no-progress`;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--batch 64 is larger than the 16 training samples/);
  });
});

describe('short runs say why step time is n/a', () => {
  it('--max-steps 2 prints the reason and no NaN', async () => {
    const r = await runCli(
      'train',
      '--model',
      'mlp',
      '--dataset',
      'synthetic',
      '--train-count',
      '256',
      '--test-count',
      '64',
      '--max-steps',
      '2',
      '--act-bits',
      '2',
      '--baseline',
      '--backend',
      'cpu',
      '--no-progress',
      '--out',
      join(tempDir('frugal-short-'), 'r.json'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /NaN/);
    assert.match(r.stdout, /step time n\/a: the first step warms up/);
    assert.match(r.stdout, /step time n\/a \(too few steps to time\)/);
  });
});
