import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../engine/random.js';
import {
  dequantizeTensor,
  disposePacked,
  type PackedTensor,
  quantizeTensor,
} from './device-quantizer.js';
import type { StageTape } from './tape.js';

/** Saved tensors smaller than this stay exact (statistics, biases): compressing them saves nothing. */
export const MIN_COMPRESSED_ELEMENTS = 256;

interface Slot {
  saved: tf.Tensor[];
  index: number;
  packed: PackedTensor;
}

/**
 * A recorded stage whose saved activations are held quantized (packed int32 codes plus per-group
 * min and scale, ordinary tensors the memory meter counts) until its backward: the "keep
 * compressed" mode of the joint planner. Tensors whose buffer is shared (the stage's input and
 * output, which the step holds anyway), copies of weights, and small tensors stay exact.
 */
export class CompressedTape {
  constructor(
    private readonly tape: StageTape,
    private slots: Slot[],
  ) {}

  get output(): tf.Tensor {
    return this.tape.output;
  }

  /** Dequantizes the saved tensors back into the tape, ready for `backprop`. */
  restore(): StageTape {
    for (const s of this.slots) {
      s.saved[s.index] = tf.keep(dequantizeTensor(s.packed));
      disposePacked(s.packed);
    }
    this.slots = [];
    return this.tape;
  }

  dispose(): void {
    for (const s of this.slots) disposePacked(s.packed);
    this.slots = [];
    this.tape.dispose();
  }
}

/** Quantizes a recorded stage's exclusively held saved activations to `bits` bits. */
export function compressTape(
  tape: StageTape,
  bits: number,
  seed: number,
  weights: tf.Tensor[],
): CompressedTape {
  const rng = makeRng(seed);
  const weightShapes = new Set(weights.map((w) => w.shape.join('x')));
  const backend = tf.backend();
  const slots: Slot[] = [];
  for (const node of tape.nodes) {
    const saved = node.saved;
    if (!saved) continue;
    const weightInput = Object.values(node.inputs).some((t) => t instanceof tf.Variable);
    for (let i = 0; i < saved.length; i++) {
      const t = saved[i];
      if (t.isDisposed || t.dtype !== 'float32' || t.size < MIN_COMPRESSED_ELEMENTS) continue;
      if (backend.refCount(t.dataId) > 1) continue;
      if (weightInput && weightShapes.has(t.shape.join('x'))) continue;
      const packed = quantizeTensor(t, bits, rng);
      tf.keep(packed.words);
      tf.keep(packed.mins);
      tf.keep(packed.scales);
      slots.push({ saved, index: i, packed });
      t.dispose();
    }
  }
  return new CompressedTape(tape, slots);
}
