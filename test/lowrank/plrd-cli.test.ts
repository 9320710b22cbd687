import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { plrdCompressCommand } from '../../src/cli/commands/compress-plrd.js';
import { loadModel, saveModel } from '../../src/io/model-files.js';
import { buildModel } from '../../src/models/zoo.js';
import { quiet, useBackend } from '../helpers.js';
import { tempDir } from '../temp-dir.js';

test('frugal compress --method plrd writes every member (model + report) and plrd.json; ranks decrease', async () => {
  await useBackend('cpu');
  const dir = tempDir('frugal-plrd-');
  const input = join(dir, 'mlp');
  const model = buildModel('mlp', {
    inputShape: [12, 12, 1],
    numClasses: 4,
    hidden: [32],
    seed: 1,
  });
  await saveModel(model, input);
  const out = join(dir, 'family');
  await quiet(() =>
    plrdCompressCommand(input, {
      out,
      dataset: 'synthetic',
      backend: 'cpu',
      seed: 0,
      trainCount: 64,
      testCount: 32,
      fractions: '0.5,0.25',
    }),
  );
  const summary = JSON.parse(readFileSync(join(out, 'plrd.json'), 'utf8'));
  assert.equal(summary.members.length, 2);
  const [a, b] = summary.members;
  for (const n of Object.keys(a.ranks)) assert.ok(b.ranks[n] < a.ranks[n]);
  assert.ok(b.params < a.params && a.params < summary.params);
  for (const d of ['plrd-50', 'plrd-25']) {
    assert.ok(existsSync(join(out, d, 'report.json')));
    const m = await loadModel(join(out, d));
    assert.equal(
      m.countParams(),
      JSON.parse(readFileSync(join(out, d, 'report.json'), 'utf8')).params,
    );
    m.dispose();
  }
  await assert.rejects(
    plrdCompressCommand(input, { out: join(dir, 'x'), backend: 'cpu', seed: 0 }),
    /give --dataset/,
  );
  await assert.rejects(
    plrdCompressCommand(input, {
      out: join(dir, 'x'),
      backend: 'cpu',
      seed: 0,
      dataset: 'synthetic',
      fractions: '0.5,abc',
    }),
    /--fractions must be comma-separated numbers/,
  );
  model.dispose();
});
