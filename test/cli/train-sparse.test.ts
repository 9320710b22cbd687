import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { runCli as cli } from './run-cli.js';

const dir = tempDir('frugal-cli-sparse-');

describe('frugal train --grad-sparsity', () => {
  it('trains a cnn with mvue24 gradients, reports the converted layers, saves plain layers', async () => {
    const out = join(dir, 'report.json');
    const save = join(dir, 'model');
    const r = await cli(
      'train',
      '--model',
      'cnn',
      '--dataset',
      'synthetic',
      '--train-count',
      '64',
      '--test-count',
      '32',
      '--batch',
      '16',
      '--max-steps',
      '2',
      '--grad-sparsity',
      'mvue24',
      '--out',
      out,
      '--save',
      save,
      '--no-progress',
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.gradSparsity.preset, 'mvue24');
    assert.deepEqual(
      report.gradSparsity.converted.map((c: { from: string }) => c.from),
      ['Conv2D', 'Conv2D', 'Dense', 'Dense'],
    );
    const json = readFileSync(join(save, 'model.json'), 'utf8');
    assert.doesNotMatch(json, /FrugalSparseGrad/);
    assert.match(json, /"class_name":"Conv2D"/);
  });

  const bad: [string[], RegExp][] = [
    [['--grad-sparsity', 'mvue44'], /expected one of mvue24, mvue12, magnitude24, got 'mvue44'/],
    [
      ['--grad-sparsity', 'mvue24', '--act-bits', '2'],
      /--grad-sparsity cannot be combined with --act-\* options/,
    ],
    [
      ['--grad-sparsity', 'mvue12', '--memory-budget', '64MB'],
      /--grad-sparsity cannot be combined with --memory-budget/,
    ],
  ];
  for (const [args, message] of bad)
    it(`rejects ${args.join(' ')}`, async () => {
      const r = await cli('train', '--dataset', 'synthetic', ...args, '--no-progress');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    });
});
