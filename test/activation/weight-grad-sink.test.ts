// chunkWeightProduct (src/activation/backward/weight-grad-sink.ts): whether a chunk defers its
// product depends on the full chunk's rows, so a smaller last chunk does what the others do (the
// split forward's 6 + 2 rows once deferred the 2 and dropped them); deferred rows come back in
// chunk 0's product (on wasm written transposed into one buffer as the chunks arrive).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  type ChunkContext,
  chunkWeightProduct,
} from '../../src/activation/backward/weight-grad-sink.js';
import { BACKENDS, maxAbsDiff, useBackend } from '../helpers.js';

/** Contexts of chunks of `rows` samples over a batch of `total`. */
function contexts(rows: number, total: number): ChunkContext[] {
  const count = Math.ceil(total / rows);
  const shared = { count, rows, total, sums: new Map(), zeros: new Map(), factors: new Map() };
  return Array.from({ length: count }, (_, index) => ({
    ...shared,
    index,
    first: index * rows,
    samples: Math.min(rows, total - index * rows),
  }));
}

/** A weight of [inDim, outDim], random factors of `rows` rows and their product a^T b. */
function operands(rows: number, inDim: number, outDim: number, seed: number) {
  const a = tf.randomNormal([rows, inDim], 0, 1, 'float32', seed) as tf.Tensor2D;
  const b = tf.randomNormal([rows, outDim], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
  return { w: tf.zeros([inDim, outDim]), a, b, want: tf.matMul(a, b, true) };
}

for (const backend of BACKENDS)
  describe(`chunkWeightProduct (${backend})`, () => {
    it('a smaller last chunk does not defer where the full chunks would not', async () => {
      await useBackend(backend);
      // in 8, out 3, chunks of 6 rows: 2 * 6 * 11 > 48, no deferral (2 rows alone would defer).
      const { w, a, b, want } = operands(2, 8, 3, 1);
      const [, last] = contexts(6, 8);
      const g = chunkWeightProduct(last, w, a.clone(), b.clone());
      assert.ok(g !== null, 'its own product');
      assert.ok(maxAbsDiff(g, want) < 1e-6);
      assert.equal(last.factors.size, 0);
      tf.dispose([g, want, a, b, w]);
    });

    it('deferred chunks, the last one smaller, come back in chunk 0: the whole product', async () => {
      await useBackend(backend);
      // in 256, out 128, 3 chunks of 3 rows (the last of 1): 3 * 3 * 384 <= 65536, deferred.
      const { w, a, b, want } = operands(7, 256, 128, 3);
      const chunks = contexts(3, 7);
      const before = tf.memory().numTensors;
      let g: tf.Tensor | null = null;
      for (const c of [...chunks].reverse()) {
        const rows = c.samples;
        g = chunkWeightProduct(
          c,
          w,
          a.slice([c.first, 0], [rows, 256]),
          b.slice([c.first, 0], [rows, 128]),
        );
        if (c.index > 0) assert.equal(g, null, `chunk ${c.index} defers`);
      }
      assert.ok(g !== null);
      assert.ok(maxAbsDiff(g, want) < 1e-4, 'the product of all 7 rows');
      assert.equal(chunks[0].factors.size, 0, 'nothing stashed is left');
      assert.equal(tf.memory().numTensors, before + 1, 'only the gradient is left');
      tf.dispose([g, want, a, b, w]);
    });
  });
