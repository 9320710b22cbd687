import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { type CompressCommandOptions, compressCommand } from '../../src/cli/commands/compress.js';
import { trainCommand } from '../../src/cli/commands/train.js';
import { loadModel, saveModel } from '../../src/io/model-files.js';
import { checkModelDir, checkOutputFile } from '../../src/io/output-paths.js';
import { useBackend } from '../helpers.js';
import { tempDir } from '../temp-dir.js';

// Every test writes next to files frugal did not write and checks them byte for byte afterwards.
const root = tempDir('frugal-output-safety-');
const UNRELATED = { 'notes.txt': 'my notes\n', 'package.json': '{"name":"mine"}\n' };

function projectDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(UNRELATED)) writeFileSync(join(dir, f), text);
  return dir;
}

function assertUnrelatedIntact(dir: string): void {
  for (const [f, text] of Object.entries(UNRELATED))
    assert.equal(readFileSync(join(dir, f), 'utf8'), text, `${f} in ${dir} was changed or removed`);
}

function tinyModel(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [3], units: 2 }));
  return m;
}

const opts: CompressCommandOptions = {
  out: '',
  backend: 'cpu',
  seed: 0,
  calibrationCount: 8,
  progress: false,
};

before(async () => {
  await useBackend('cpu');
});

describe('saving never removes what frugal did not write', () => {
  it('refuses a non-empty folder that holds no model, and leaves its files alone', async () => {
    const dir = projectDir('project');
    await assert.rejects(saveModel(tinyModel(), dir), /not empty and not a model directory/);
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(UNRELATED).sort());
    assertUnrelatedIntact(dir);
  });

  it('with overwrite writes only model.json and weights.bin beside the other files', async () => {
    const dir = projectDir('overwrite');
    await saveModel(tinyModel(), dir, { overwrite: true });
    assert.deepEqual(
      readdirSync(dir).sort(),
      [...Object.keys(UNRELATED), 'model.json', 'weights.bin'].sort(),
    );
    assertUnrelatedIntact(dir);
    assert.equal((await loadModel(dir)).layers.length, 1);
  });

  it('replacing a saved model keeps every other file of its folder (the old save removed the folder)', async () => {
    const dir = join(root, 'model');
    await saveModel(tinyModel(), dir);
    for (const [f, text] of Object.entries(UNRELATED)) writeFileSync(join(dir, f), text);
    await saveModel(tinyModel(), dir);
    assertUnrelatedIntact(dir);
    assert.equal((await loadModel(dir)).layers.length, 1);
  });

  it('checks output paths and names them: empty, a file where a folder must be, a virtual file system', () => {
    const file = join(projectDir('paths'), 'notes.txt');
    assert.throws(() => checkModelDir('', { label: '--save' }), /--save is empty/);
    assert.throws(() => checkModelDir(file, { label: '--save' }), /--save .*not a directory/);
    assert.throws(() => checkOutputFile(join(file, 'r.json'), '--out'), /is a file/);
    assert.throws(() => checkOutputFile('', '--out'), /--out is empty/);
    assert.throws(
      () => checkModelDir('/proc/frugal-model', { label: '--save' }),
      /virtual file system/,
    );
  });

  it('frugal compress refuses --out in a project folder and --out equal to the input, before any work', async () => {
    const modelDir = join(root, 'input-model');
    await saveModel(tinyModel(), modelDir);
    const before = readFileSync(join(modelDir, 'weights.bin'));
    const project = projectDir('compress-project');
    await assert.rejects(
      compressCommand(modelDir, { ...opts, method: 'int8', out: project }),
      /--out .*not empty and not a model directory/,
    );
    assertUnrelatedIntact(project);
    assert.deepEqual(readdirSync(project).sort(), Object.keys(UNRELATED).sort());
    await assert.rejects(
      compressCommand(modelDir, { ...opts, method: 'int8', out: modelDir }),
      /is the input model's directory/,
    );
    assert.deepEqual(readFileSync(join(modelDir, 'weights.bin')), before);
  });

  it('frugal train checks --save and --out before it trains', async () => {
    const project = projectDir('train-project');
    const t0 = Date.now();
    await assert.rejects(
      trainCommand({
        model: 'mlp',
        dataset: 'synthetic',
        epochs: 50,
        batch: 32,
        lr: 1e-3,
        optimizer: 'adam',
        backend: 'cpu',
        seed: 0,
        maxSteps: 0,
        progress: false,
        fastKernels: true,
        save: project,
      } as unknown as Parameters<typeof trainCommand>[0]),
      /--save .*not empty and not a model directory/,
    );
    assert.ok(Date.now() - t0 < 5000, 'the check ran after training');
    assertUnrelatedIntact(project);
    assert.deepEqual(readdirSync(project).sort(), Object.keys(UNRELATED).sort());
  });
});
