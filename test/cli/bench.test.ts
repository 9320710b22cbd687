import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { benchCommand } from '../../src/cli/commands/bench.js';
import { useBackend } from '../helpers.js';
import { tempDir } from '../temp-dir.js';

const dir = tempDir('frugal-bench-');

describe('frugal bench', () => {
  it('times and measures each requested model and backend, writes JSON, leaks nothing', async () => {
    await useBackend('cpu');
    const out = join(dir, 'b.json');
    const before = tf.memory().numTensors;
    const rows = await benchCommand({ model: 'mlp', backend: 'cpu,wasm', batch: 8, steps: 2, out });
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.ok(
        r.result && r.result.stepMs > 0 && r.result.memory.peakBytes > r.result.memory.weightBytes,
      );
    }
    assert.deepEqual(
      JSON.parse(readFileSync(out, 'utf8')).rows.map((r: { backend: string }) => r.backend),
      ['cpu', 'wasm'],
    );
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects unknown models before doing any work', async () => {
    const out = join(dir, 'x.json');
    await assert.rejects(
      benchCommand({ model: 'mlp,vgg', backend: 'cpu', batch: 8, steps: 1, out }),
      /Unknown model 'vgg'/,
    );
    assert.equal(existsSync(out), false);
  });
});
