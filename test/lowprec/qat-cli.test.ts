import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { saveModel } from '../../src/io/model-files.js';
import { buildModel } from '../../src/models/zoo.js';
import { runCli as cli } from '../cli/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'frugal-qat-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('frugal compress --method qat', () => {
  it('fine-tunes with fake-quant and writes packed int2 layers; --bits needs --method', async () => {
    const modelDir = join(dir, 'in');
    await saveModel(
      buildModel('mlp', { inputShape: [12, 12, 1], numClasses: 4, hidden: [16], seed: 1 }),
      modelDir,
    );
    const out = join(dir, 'out');
    const r = await cli(
      'compress',
      modelDir,
      '--method',
      'qat',
      '--bits',
      '2',
      '--dataset',
      'synthetic',
      '--backend',
      'cpu',
      '--out',
      out,
      '--no-progress',
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.deepEqual(report.config.steps[0].options, { bits: 2 });
    assert.match(JSON.stringify(report), /fake-quant int2 symmetric/);
    assert.match(readFileSync(join(out, 'model.json'), 'utf8'), /FrugalPackedDense/);
    const bad = await cli(
      'compress',
      modelDir,
      '--bits',
      '4',
      '--backend',
      'cpu',
      '--out',
      join(dir, 'bad'),
      '--no-progress',
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--bits needs --method/);
  });
});
