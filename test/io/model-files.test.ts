import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { writeJsonAtomic } from '../../src/io/atomic-write.js';
import { loadModel, saveModel } from '../../src/io/model-files.js';
import { buildModel } from '../../src/models/zoo.js';
import { train } from '../../src/train/loop.js';
import { maxAbsDiff, useBackend } from '../helpers.js';
import { tempDir } from '../temp-dir.js';
import { tinyData } from '../tiny-data.js';
import { tinyTransformer } from '../tiny-models.js';

const dir = tempDir('frugal-io-');

describe('model files', () => {
  it('round-trips a Transformer (custom layers) through model.json + weights.bin, then predicts and fits', async () => {
    await useBackend('cpu');
    const model = tinyTransformer(4, [6, 4]);
    const target = join(dir, 'tr');
    await saveModel(model, target);
    assert.deepEqual(readdirSync(target).sort(), ['model.json', 'weights.bin']);
    const loaded = await loadModel(target);
    const x = tf.randomNormal([2, 6, 4]);
    assert.equal(maxAbsDiff(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor), 0);
    const data = tinyData([6, 4], 32, 1);
    const r = await train(loaded, data, { epochs: 1, batchSize: 16 });
    assert.ok(Number.isFinite(r.history[0].meanLoss));
  });

  it('names the problem in malformed model files', async () => {
    const bad = join(dir, 'bad');
    const model = buildModel('mlp', { inputShape: [4], numClasses: 2, hidden: [3], seed: 1 });
    await saveModel(model, bad);
    writeFileSync(join(bad, 'weights.bin'), new Uint8Array(10));
    await assert.rejects(
      loadModel(bad),
      /weights manifest needs \d+ bytes but weight files hold 10/,
    );
    writeFileSync(join(bad, 'model.json'), '{"modelTopology": ');
    await assert.rejects(loadModel(bad), /not valid JSON/);
    writeFileSync(join(bad, 'model.json'), '{}');
    await assert.rejects(loadModel(bad), /no modelTopology/);
    await assert.rejects(loadModel(join(dir, 'missing')), /model file not found/);
  });

  it('leaves no partial file when a write fails', () => {
    const target = join(dir, 'report.json');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => writeJsonAtomic(target, cyclic), /circular/);
    assert.equal(existsSync(target), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('report')),
      [],
    );
    writeJsonAtomic(target, { a: 1 });
    assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')), { a: 1 });
  });
});
