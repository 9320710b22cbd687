import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { syntheticClassification } from '../../src/data/synthetic.js';
import { initEngine } from '../../src/engine/backend.js';
import { defaultSeed } from '../../src/engine/settings.js';
import { buildModel } from '../../src/models/zoo.js';
import { validateTrainConfig } from '../../src/train/config.js';

describe('engine', () => {
  it('initEngine sets the default seed used by models, data and training', async () => {
    await initEngine({ backend: 'cpu', seed: 11 });
    assert.equal(defaultSeed(), 11);
    assert.equal(validateTrainConfig({}).seed, 11);
    const a = syntheticClassification({ trainCount: 5, testCount: 1 });
    const b = syntheticClassification({ trainCount: 5, testCount: 1, seed: 11 });
    assert.deepEqual(a.train.x, b.train.x);
    const m1 = buildModel('mlp', { inputShape: [3], numClasses: 2 });
    const m2 = buildModel('mlp', { inputShape: [3], numClasses: 2, seed: 11 });
    assert.deepEqual(m1.getWeights()[0].dataSync(), m2.getWeights()[0].dataSync());
    await initEngine({ backend: 'cpu', seed: 0 });
  });

  it('rejects an unknown backend naming the registered ones', async () => {
    await assert.rejects(
      initEngine({ backend: 'webgl2' }),
      /Unknown backend 'webgl2': registered tfjs backends are .*cpu.*wasm/,
    );
  });
});
