import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mergeCommand } from '../../src/cli/commands/merge.js';
import { loadModel, saveModel } from '../../src/io/model-files.js';
import { buildModel } from '../../src/models/zoo.js';
import { quiet, useBackend } from '../helpers.js';
import { tempDir } from '../temp-dir.js';

test('frugal merge writes the merged model and report; different architectures and a bad --out are refused', async () => {
  await useBackend('cpu');
  const dir = tempDir('frugal-merge-');
  const mk = async (name: string, seed: number, hidden: number[]) => {
    const m = buildModel('mlp', { inputShape: [12, 12, 1], numClasses: 4, hidden, seed });
    await saveModel(m, join(dir, name));
    m.dispose();
    return join(dir, name);
  };
  const a = await mk('a', 1, [8]);
  const b = await mk('b', 2, [8]);
  const c = await mk('c', 3, [9]);
  const out = join(dir, 'm');
  await quiet(async () => {
    const base = { backend: 'cpu', seed: 0, dataset: 'synthetic', samples: 32 };
    await mergeCommand(a, b, { ...base, out, steps: 3, rank: 2 });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.tool, 'frugal merge');
    assert.equal(report.steps, 3);
    const m = await loadModel(out);
    assert.deepEqual(m.outputs[0].shape, [null, 4]);
    m.dispose();
    const bad = join(dir, 'bad');
    await assert.rejects(
      mergeCommand(a, c, { ...base, out: bad, steps: 1 }),
      /different architectures at layer 2: 'dense1' Dense relu \[144,8\] \[8\] in the first model, 'dense1' Dense relu \[144,9\] \[9\]/,
    );
    assert.ok(!existsSync(join(bad, 'model.json')));
    await assert.rejects(mergeCommand(a, b, { ...base, out: join(a, 'model.json') }), /--out/);
    await assert.rejects(
      mergeCommand(a, b, { ...base, out: bad, init: 'random' }),
      /init must be one of/,
    );
    await assert.rejects(
      mergeCommand(a, b, { backend: 'cpu', seed: 0, out: bad }),
      /give --dataset/,
    );
  });
});
