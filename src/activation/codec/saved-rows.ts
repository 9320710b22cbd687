import type * as tf from '@tensorflow/tfjs';
import { externalMemory } from '../../report/external-memory.js';
import { rowWriter } from '../execution/row-writer.js';
import type { ActivationBits } from './bits.js';
import { quantizeChunk } from './codec-kernel.js';
import { tensorFromJs, withValues } from './js-memory.js';
import { allocateGroups, quantizedBytes } from './quantize.js';
import { type Saved, savedAsQuantized, saveExact } from './saved.js';
import { nextRng } from './seed.js';

/** A save of a tensor built a chunk of rows at a time, for a value that never exists in full. */
export interface RowSaver {
  /** Saves `rows` as rows `first` .. of the value (chunks in order); the caller keeps `rows`. */
  add(first: number, rows: tf.Tensor): void;
  /** The finished save (what `saveQuantized` of the whole value gives). */
  finish(): Saved<tf.Tensor>;
}

/**
 * `saveQuantized(v, bits)` of a float32 value of `shape` given as row chunks: the codes and
 * per-group mins and scales are written as the rows arrive (the JS arrays counted in
 * `externalMemory` while they are built), with one generator drawn when the saver is made, so
 * the codes equal those of `saveQuantized` on the whole value drawn at the same point of the
 * activation stream. At 32 bits the rows go into one float32 tensor (an exact save).
 */
export function rowSaver(shape: number[], bits: ActivationBits): RowSaver {
  if (bits === 32) {
    const writer = rowWriter(shape);
    return {
      add: (first, rows) => writer.write(first, rows.clone()),
      finish: () => saveExact(writer.finish()),
    };
  }
  const n = shape[0];
  const q = allocateGroups(
    n,
    shape.slice(1).reduce((a, b) => a * b, 1),
    bits,
  );
  const rng = nextRng();
  const bytes = quantizedBytes(q);
  externalMemory.track(bytes);
  let done = false;
  return {
    add: (first, rows) => {
      withValues(rows, (v) => quantizeChunk(v, q, first, rng));
    },
    finish: () => {
      if (done) throw new Error('rowSaver: finish called twice');
      done = true;
      const meta = new Float32Array(q.mins.length * 2);
      meta.set(q.mins, 0);
      meta.set(q.scales, q.mins.length);
      const words = tensorFromJs(q.words, [q.words.length], 'int32');
      const m = tensorFromJs(meta, [meta.length]);
      externalMemory.release(bytes);
      return savedAsQuantized(words, m, bits, shape);
    },
  };
}
