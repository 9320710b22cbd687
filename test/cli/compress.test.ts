import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { type CompressCommandOptions, compressCommand } from '../../src/cli/commands/compress.js';
import { saveModel } from '../../src/io/model-files.js';
import { buildModel } from '../../src/models/zoo.js';
import { train } from '../../src/train/loop.js';
import { quiet, useBackend } from '../helpers.js';
import { tempDir } from '../temp-dir.js';
import { tinyData } from '../tiny-data.js';
import { frugal } from './run-cli.js';

const dir = tempDir('frugal-cli-compress-');
const modelDir = join(dir, 'mlp');
const opts: CompressCommandOptions = {
  out: join(dir, 'unused'),
  backend: 'cpu',
  seed: 0,
  calibrationCount: 64,
  progress: false,
};

before(async () => {
  await useBackend('cpu');
  // the synthetic data set of the CLI: 12x12x1 images, 4 classes
  const data = tinyData([12, 12, 1], 512, 0, { testCount: 256, numClasses: 4 });
  const model = buildModel('mlp', {
    inputShape: [12, 12, 1],
    numClasses: 4,
    hidden: [64],
    seed: 1,
  });
  await train(model, data, { epochs: 2, batchSize: 32, learningRate: 5e-3, measureMemory: false });
  await saveModel(model, modelDir);
});

describe('frugal compress', () => {
  it('compresses by methods, prints the tables, writes model + report.json that load again', async () => {
    const out = join(dir, 'out');
    const r =
      await frugal`compress ${modelDir} --method nm,int4 --dataset synthetic --backend cpu --out ${out} --no-progress`;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /file bytes/);
    assert.match(r.stdout, /after\/before/);
    assert.match(r.stdout, /2:4 magnitude/);
    assert.deepEqual(readdirSync(out).sort(), ['model.json', 'report.json', 'weights.bin']);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.ok(report.filesOnDisk.after < report.filesOnDisk.before * 0.3);
    assert.equal(report.config.steps.length, 2);
    assert.ok(report.after.accuracy > 0.4);
    const again =
      await frugal`compress ${out} --method int8 --backend cpu --out ${join(dir, 'again')} --no-progress`;
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /output SQNR/);
  });

  it('takes a JSON config file', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ version: 1, steps: [{ method: 'int4', layers: { logits: { bits: 8 } } }] }),
    );
    const report = await quiet(() =>
      compressCommand(modelDir, { ...opts, config, out: join(dir, 'from-config') }),
    );
    assert.match(report.steps[0].layers.logits, /int8 symmetric per-channel/);
    assert.match(report.steps[0].layers.dense1, /int4 symmetric per-channel/);
  });

  const bad: [string, Partial<CompressCommandOptions> & { input?: string }, RegExp][] = [
    ['a missing model', { input: join(dir, 'nope') }, /cannot load model .*model file not found/],
    ['an unknown method', { method: 'zip' }, /unknown compression method 'zip'/],
    [
      'bad options in a config',
      { config: 'CONFIG_BAD' },
      /steps\[0\] \(int4\) options: bits must be an integer from 2 to 8, got 1/,
    ],
    [
      'both --method and --config',
      { method: 'int8', config: 'CONFIG_BAD' },
      /either --method or --config/,
    ],
    [
      'a data set of the wrong shape',
      { dataset: 'mnist', trainCount: 100, testCount: 100 },
      /dataset mnist has samples \[28,28,1\] but the model expects \[12,12,1\]/,
    ],
    [
      'AdaQuant without data or batch-norm',
      { method: 'adaquant' },
      /no batch-norm layers to synthesise inputs from/,
    ],
    ['a malformed model file', { input: 'MALFORMED' }, /not valid JSON/],
  ];
  for (const [what, o, message] of bad) {
    it(`names the problem for ${what} and writes nothing`, async () => {
      const badConfig = join(dir, 'bad.json');
      writeFileSync(
        badConfig,
        JSON.stringify({ version: 1, steps: [{ method: 'int4', options: { bits: 1 } }] }),
      );
      const malformed = join(dir, 'malformed');
      rmSync(malformed, { recursive: true, force: true });
      await saveModel(buildModel('mlp', { inputShape: [4], numClasses: 2, seed: 1 }), malformed);
      writeFileSync(join(malformed, 'model.json'), '{"modelTopology": ');
      const out = join(dir, `bad-${what.replace(/\W+/g, '-')}`);
      const { input = modelDir, ...rest } = o;
      await assert.rejects(
        quiet(() =>
          compressCommand(input === 'MALFORMED' ? malformed : input, {
            ...opts,
            ...rest,
            config: rest.config === 'CONFIG_BAD' ? badConfig : rest.config,
            out,
          }),
        ),
        message,
      );
      assert.equal(existsSync(out), false, 'no output directory');
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.includes('staging')),
        [],
      );
    });
  }
});
