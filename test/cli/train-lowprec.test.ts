import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import '../../src/lowprec/index.js';
import { loadModel } from '../../src/io/model-files.js';
import { tempDir } from '../temp-dir.js';
import { runCli as cli, trainAndSave } from './run-cli.js';

const dir = tempDir('frugal-cli-lowprec-');

describe('frugal train --low-precision', () => {
  it('trains a resnet with 8-bit layers and Range BN, reports the conversion, saves it', async () => {
    const { run, report, save, modelJson } = await trainAndSave(
      dir,
      '--model resnet --dataset synthetic --backend cpu --train-count 32 --test-count 16 --batch 8 --max-steps 2 --low-precision 8',
    );
    assert.match(run.stdout, /resnet \(8-bit training\)/);
    assert.deepEqual(report.lowPrecision.spec, { weights: 8, activations: 8, gradients: 8 });
    const to = (report.lowPrecision.converted as { from: string; to: string }[]).map(
      (c) => `${c.from}->${c.to}`,
    );
    assert.ok(to.includes('Conv2D->FrugalLowPrecision'));
    assert.ok(to.includes('Dense->FrugalLowPrecision'));
    assert.ok(to.includes('BatchNormalization->FrugalRangeBatchNorm'));
    assert.deepEqual(report.lowPrecision.unconverted, []);
    assert.ok(Number.isFinite(report.result.testAccuracy));
    assert.match(modelJson, /"class_name":"FrugalLowPrecision"/);
    assert.match(modelJson, /"class_name":"FrugalRangeBatchNorm"/);
    const loaded = await loadModel(save);
    assert.equal(loaded.getLayer('stem_conv').getClassName(), 'FrugalLowPrecision');
    loaded.dispose();
  });

  const bad: [string[], RegExp][] = [
    [['--low-precision', '9'], /expected an integer bit width in 2-8.*got '9'/],
    [['--low-precision', '8.5'], /expected an integer bit width in 2-8.*got '8.5'/],
    [
      ['--low-precision', '8', '--act-bits', '2'],
      /--low-precision cannot be combined with --act-\* options/,
    ],
    [
      ['--low-precision', '8', '--grad-sparsity', 'mvue24'],
      /--low-precision cannot be combined with --grad-sparsity/,
    ],
    [
      ['--low-precision', '8', '--memory-budget', '64MB'],
      /--low-precision cannot be combined with --memory-budget/,
    ],
    [
      ['--low-precision', '8', '--model', 'cnn', '--backend', 'wasm', '--no-fast-kernels'],
      /--low-precision: this backend has no Conv2D filter gradient/,
    ],
  ];
  for (const [args, message] of bad)
    it(`rejects ${args.join(' ')}`, async () => {
      const r = await cli('train', '--dataset', 'synthetic', ...args, '--no-progress');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    });
});
