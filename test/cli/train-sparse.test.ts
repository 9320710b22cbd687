import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../temp-dir.js';
import { runCli as cli, frugal, trainAndSave } from './run-cli.js';

const dir = tempDir('frugal-cli-sparse-');

describe('frugal train --grad-sparsity', () => {
  it('trains a cnn with mvue24 gradients, reports the converted layers, saves plain layers', async () => {
    const { report, modelJson } = await trainAndSave(
      dir,
      '--model cnn --dataset synthetic --train-count 64 --test-count 32 --batch 16 --max-steps 2 --grad-sparsity mvue24',
    );
    assert.equal(report.gradSparsity.preset, 'mvue24');
    assert.deepEqual(
      report.gradSparsity.converted.map((c: { from: string }) => c.from),
      ['Conv2D', 'Conv2D', 'Dense', 'Dense'],
    );
    assert.doesNotMatch(modelJson, /FrugalSparseGrad/);
    assert.match(modelJson, /"class_name":"Conv2D"/);
  });

  it('trains an mlp with stochastic pruning at --grad-prune-rate 0.8 and reports the zeros reached', async () => {
    const out = join(dir, 'stoch.json');
    const r =
      await frugal`train --model mlp --dataset synthetic --train-count 64 --test-count 32 --batch 16 --max-steps 2 --grad-sparsity stochastic --grad-prune-rate 0.8 --out ${out} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.gradSparsity.preset, 'stochastic');
    assert.deepEqual(report.gradSparsity.spec, { kind: 'stochastic', p: 0.8 });
    const z = report.gradSparsity.zeroFraction;
    assert.equal(typeof z, 'number');
    assert.ok(z > 0.3 && z < 1, `zero fraction ${z}`);
  });

  it('with --act-bits 2 the compressed layers prune their gradients too: trains, reports both, zeros counted', async () => {
    const out = join(dir, 'act.json');
    const save = join(dir, 'act-model');
    const r =
      await frugal`train --model cnn --dataset synthetic --train-count 64 --test-count 32 --batch 16 --max-steps 2 --grad-sparsity mvue24 --act-bits 2 --out ${out} --save ${save} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(report.activations.config.bits, 2);
    const to = Object.fromEntries(
      report.activations.converted.map((c: { from: string; to: string }) => [c.from, c.to]),
    );
    assert.equal(to.FrugalSparseGradConv2D, 'FrugalCompressedConv2D');
    assert.equal(to.FrugalSparseGradDense, 'FrugalCompressedDense');
    assert.equal(report.gradSparsity.converted.length, 4);
    const z = report.gradSparsity.zeroFraction;
    // 2 of every 4 entries are zero, plus ReLU's zeros
    assert.ok(typeof z === 'number' && z >= 0.5 && z < 1, `zero fraction ${z}`);
    const json = readFileSync(join(save, 'model.json'), 'utf8');
    assert.match(json, /"grad_sparsity":\{"n":2,"m":4,"kind":"mvue"\}/);
  });

  it('stochastic without --grad-prune-rate uses p = 0.9', async () => {
    const out = join(dir, 'stoch-default.json');
    const r =
      await frugal`train --model mlp --dataset synthetic --train-count 32 --test-count 16 --batch 16 --max-steps 1 --grad-sparsity stochastic --out ${out} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).gradSparsity.spec, {
      kind: 'stochastic',
      p: 0.9,
    });
  });

  const bad: [string[], RegExp][] = [
    [
      ['--grad-sparsity', 'mvue44'],
      /expected one of mvue24, mvue12, magnitude24, stochastic, got 'mvue44'/,
    ],
    [
      ['--grad-prune-rate', '0.9'],
      /--grad-prune-rate 0.9 applies to --grad-sparsity stochastic: give/,
    ],
    [
      ['--grad-sparsity', 'mvue24', '--grad-prune-rate', '0.5'],
      /--grad-prune-rate 0.5 applies to --grad-sparsity stochastic, not mvue24/,
    ],
    [
      ['--grad-sparsity', 'stochastic', '--grad-prune-rate', '1'],
      /expected a prune rate in \(0, 1\), got '1'/,
    ],
    [
      ['--grad-sparsity', 'stochastic', '--grad-prune-rate', 'lots'],
      /expected a prune rate in \(0, 1\), got 'lots'/,
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
