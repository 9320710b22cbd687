import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { runCli as cli, frugal } from './run-cli.js';

const dir = tempDir('frugal-cli-');

describe('frugal CLI', () => {
  it('--help explains every command', async () => {
    const r = await cli('--help');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /train/);
    const t = await cli('train', '--help');
    for (const opt of [
      '--model',
      '--dataset',
      '--epochs',
      '--batch',
      '--backend',
      '--out',
      '--no-fast-kernels',
    ])
      assert.match(t.stdout, new RegExp(opt));
  });

  const bad: [string[], RegExp][] = [
    [
      ['train', '--model', 'vgg'],
      /unknown model 'vgg': choose one of mlp, cnn, resnet, transformer/,
    ],
    [['train', '--dataset', 'cifar'], /unknown dataset 'cifar'/],
    [['train', '--backend', 'webgpu', '--dataset', 'synthetic'], /Unknown backend 'webgpu'/],
    [['train', '--epochs', 'two'], /expected a positive integer, got 'two'/],
    [['train', '--batch', '0'], /expected a positive integer, got '0'/],
    [['train', '--lr', '-1'], /expected a positive number, got '-1'/],
    [['train', '--workers', '0'], /expected a positive integer, got '0'/],
    [
      ['train', '--workers', '2', '--memory-budget', '64MB'],
      /--workers cannot be combined with --act-\* options or --memory-budget yet/,
    ],
    [
      ['train', '--train-count', '9999', '--test-count', '9999'],
      /19998 samples requested but only 10000 exist/,
    ],
  ];
  for (const [args, message] of bad) {
    it(`rejects ${args.slice(1).join(' ')} with a clear error`, async () => {
      const out = join(dir, `bad-${args[2]}.json`);
      const r = await cli(...args, '--out', out, '--no-progress');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
      assert.equal(existsSync(out), false, 'no report written');
    });
  }

  it('trains on synthetic data, prints the table and writes the JSON report', async () => {
    const out = join(dir, 'report.json');
    const r =
      await frugal`train --model mlp --dataset synthetic --epochs 2 --batch 32 --backend cpu --out ${out} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /test acc/);
    assert.match(r.stdout, /peak MB/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.model, 'mlp');
    assert.equal(report.backend, 'cpu');
    assert.equal(report.result.history.length, 2);
    assert.ok(report.result.memory.peakBytes > 0);
  });

  it('trains a conv model on wasm with the fast kernels by default, stock ones on request', async () => {
    const out = join(dir, 'cnn.json');
    const args = ['train', '--model', 'cnn', '--dataset', 'synthetic', '--train-count', '64'];
    const more = ['--test-count', '32', '--max-steps', '2', '--backend', 'wasm', '--no-progress'];
    const r = await cli(...args, ...more, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /fast/);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).fastKernels, true);
    const stock = await cli(
      ...args,
      ...more,
      '--out',
      join(dir, 'stock.json'),
      '--no-fast-kernels',
    );
    // Stock tfjs-backend-wasm has no kernel for the filter gradient of a convolution.
    assert.notEqual(stock.code, 0);
    assert.match(stock.stderr, /Conv2DBackpropFilter/);
  });

  it('trains data-parallel with --workers 2 and says so in the report', async () => {
    const out = join(dir, 'workers.json');
    const r =
      await frugal`train --model mlp --dataset synthetic --batch 32 --workers 2 --out ${out} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /workers/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.workers, 2);
    assert.equal(report.result.history.length, 1);
    assert.ok(report.result.testAccuracy > 0.5, `accuracy ${report.result.testAccuracy}`);
  });
});
