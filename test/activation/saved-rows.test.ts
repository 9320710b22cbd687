import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { saveQuantized } from '../../src/activation/codec/saved.js';
import { rowSaver } from '../../src/activation/codec/saved-rows.js';
import { sliceRows } from '../../src/activation/execution/row-chunks.js';
import { seedActivationRng } from '../../src/engine/settings.js';
import { externalMemory } from '../../src/report/external-memory.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

for (const backend of BACKENDS) {
  describe(`rowSaver (${backend})`, () => {
    before(() => useBackend(backend));

    for (const bits of [2, 8, 32] as const) {
      it(`${bits} bits: rows given in chunks save what saveQuantized of the whole value saves`, () => {
        const x = tf.randomNormal([7, 5, 3, 4], 0, 1, 'float32', 4);
        seedActivationRng(3);
        const whole = saveQuantized(x, bits);
        seedActivationRng(3);
        const live = externalMemory.live;
        const saver = rowSaver(x.shape, bits);
        if (bits !== 32) assert.ok(externalMemory.live > live, 'the codes being built are counted');
        for (const [first, count] of [
          [0, 3],
          [3, 3],
          [6, 1],
        ]) {
          const rows = sliceRows(x, first, count);
          saver.add(first, rows);
          rows.dispose();
        }
        const chunked = saver.finish();
        assert.equal(externalMemory.live, live);
        if (bits !== 32) assert.throws(() => saver.finish(), /twice/);
        const [a, b] = [whole.restore(whole.tensors), chunked.restore(chunked.tensors)];
        assert.equal(maxAbsDiff(a, b), 0);
        const rowsB = chunked.restoreRows?.(chunked.tensors, 2, 3) as tf.Tensor;
        const rowsA = sliceRows(a, 2, 3);
        assert.equal(maxAbsDiff(rowsA, rowsB), 0);
        tf.dispose([x, a, b, rowsA, rowsB, ...whole.tensors, ...chunked.tensors]);
      });
    }
  });
}
