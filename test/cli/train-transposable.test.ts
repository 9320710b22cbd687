import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isTransposableNMMask } from '../../src/compress/sparsity/transposable.js';
import { loadModel } from '../../src/io/model-files.js';
import { tempDir } from '../temp-dir.js';
import { runCli as cli, frugal, trainAndSave } from './run-cli.js';

const dir = tempDir('frugal-cli-transposable-');

describe('frugal train --transposable', () => {
  it('trains a cnn with transposable 2:4 weights (default recipe) and saves kernels N:M both ways', async () => {
    const { run, report, save } = await trainAndSave(
      dir,
      '--model cnn --dataset synthetic --train-count 64 --test-count 32 --batch 16 --max-steps 3 --transposable 2:4',
    );
    assert.match(run.stdout, /cnn \(transposable 2:4\)/);
    const t = report.transposable;
    // the default recipe: every step, SR-STE 0.02, ramp over 3/4 of the 3 planned steps
    assert.deepEqual(
      { n: t.n, m: t.m, every: t.recomputeEvery, decay: t.decay, ramp: t.rampSteps },
      { n: 2, m: 4, every: 1, decay: 0.02, ramp: 2 },
    );
    assert.equal(t.steps, 3);
    assert.equal(t.recomputes, 3);
    assert.deepEqual(
      t.layers.map((l: { name: string }) => l.name),
      ['conv2', 'dense1', 'logits'],
    );
    assert.deepEqual(
      t.skipped.map((s: { name: string }) => s.name),
      ['conv1'],
    );
    const loaded = await loadModel(save);
    for (const { name, shape } of t.layers as { name: string; shape: number[] }[]) {
      const w = loaded.getLayer(name).getWeights()[0];
      assert.deepEqual(w.shape, shape);
      const nonzero = Uint8Array.from(w.dataSync(), (v) => (v !== 0 ? 1 : 0));
      assert.ok(isTransposableNMMask(nonzero, shape, 2, 4), `${name}: not transposable 2:4`);
    }
    // the skipped layer stays dense
    const conv1 = loaded.getLayer('conv1').getWeights()[0].dataSync();
    assert.ok(conv1.every((v) => v !== 0));
    loaded.dispose();
  });

  it('fixed masks without decay (--transposable-every 0 --transposable-ramp 0) on an mlp with --grad-sparsity mvue24', async () => {
    const out = join(dir, 'fixed.json');
    const r =
      await frugal`train --model mlp --dataset synthetic --train-count 32 --test-count 16 --batch 16 --max-steps 2 --transposable 1:2 --transposable-every 0 --transposable-ramp 0 --grad-sparsity mvue24 --out ${out} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const t = report.transposable;
    assert.equal(report.gradSparsity.preset, 'mvue24');
    // the sparse-gradient layers' kernels take the masks too
    assert.ok(t.layers.length > 0, JSON.stringify(t));
    assert.deepEqual(
      { n: t.n, m: t.m, every: t.recomputeEvery, decay: t.decay, ramp: t.rampSteps },
      { n: 1, m: 2, every: 0, decay: 0, ramp: 0 },
    );
    assert.equal(t.recomputes, 0);
    assert.equal(t.meanMaskChange, null);
  });

  const bad: [string[], RegExp][] = [
    [
      ['--transposable', '4:2'],
      /expected N:M with integers 1 <= N < M <= 16.*got '4:2' \(N must be below M/,
    ],
    [['--transposable', '2:2'], /got '2:2' \(N must be below M/],
    [['--transposable', '2-4'], /expected N:M .*got '2-4'/],
    [['--transposable', '2:32'], /expected N:M .*got '2:32'/],
    [['--transposable-every', '4'], /--transposable-every 4 applies to --transposable N:M/],
    [
      ['--transposable-decay', '0.1', '--transposable-ramp', '5'],
      /--transposable-decay 0.1, --transposable-ramp 5 apply to --transposable N:M/,
    ],
    [['--transposable', '2:4', '--transposable-decay', '-1'], /expected a decay >= 0.*got '-1'/],
    [
      ['--transposable', '2:4', '--transposable-every', 'x'],
      /expected a non-negative integer, got 'x'/,
    ],
    [
      [
        '--transposable',
        '2:4',
        '--transposable-every',
        '0',
        '--transposable-ramp',
        '0',
        '--transposable-decay',
        '0.02',
      ],
      /--transposable-decay 0.02 pulls pruned weights to 0, which changes nothing with fixed masks/,
    ],
    [
      ['--transposable', '2:4', '--max-steps', '4', '--transposable-ramp', '50'],
      /--transposable-ramp 50 is longer than the 2 planned steps/,
    ],
    [
      ['--transposable', '2:4', '--act-bits', '2'],
      /--transposable cannot be combined with --act-\* options/,
    ],
    [
      ['--transposable', '2:4', '--low-precision', '8'],
      /--transposable cannot be combined with --low-precision/,
    ],
    [['--transposable', '2:4', '--opt', 'cayley'], /--transposable cannot be combined with --opt/],
    [
      ['--transposable', '2:4', '--workers', '2'],
      /--transposable cannot be combined with --workers/,
    ],
    [
      ['--transposable', '2:4', '--memory-budget', '64MB'],
      /--transposable cannot be combined with --memory-budget/,
    ],
  ];
  it('refuses an over-long --transposable-ramp with --baseline before the baseline trains', async () => {
    const r = await cli(
      'train',
      ...'--dataset synthetic --train-count 32 --test-count 16 --batch 16 --max-steps 4'.split(' '),
      ...'--transposable 2:4 --transposable-ramp 50 --baseline'.split(' '),
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--transposable-ramp 50 is longer than the 2 planned steps/);
    // with progress on, a trained baseline would have printed its epoch line first
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /epoch 1\/1/);
  });
  for (const [args, message] of bad)
    it(`rejects ${args.join(' ')}`, async () => {
      const r = await cli(
        'train',
        '--dataset',
        'synthetic',
        '--train-count',
        '32',
        '--test-count',
        '16',
        '--batch',
        '16',
        ...args,
        '--no-progress',
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    });
});
