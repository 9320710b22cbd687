import type * as tf from '@tensorflow/tfjs';
import type { PackedBits } from '../activation/codec/bits.js';
import { makeRng } from '../engine/random.js';
import { recordTape, type StageTape } from '../engine/tape.js';
import type { Stage } from './chain.js';
import { type CompressedTape, recordCompressed, TAPE_BITS } from './tape-compression.js';

/** A stage recorded for its backward: exact, or with its saved activations quantized. */
export type RecordedStage = StageTape | CompressedTape;

/** Checks a keep mode's bit width: 32 (exact) or one of `TAPE_BITS`. */
export function checkTapeBits(bits: number): 32 | PackedBits {
  if (bits === 32) return 32;
  const b = TAPE_BITS.find((t) => t === bits);
  if (b === undefined)
    throw new Error(`tape bits must be 32 (exact) or one of ${TAPE_BITS.join(', ')}, got ${bits}`);
  return b;
}

/**
 * Runs a stage's forward recording what its backward needs, at `bits` bits per saved value
 * (32: exact). `restoreState` puts batch-norm statistics back (a recomputation). `seed` seeds
 * the stochastic rounding. `carried`: the stage's carried tensors (see `Stage.carried`).
 */
export function recordStage(
  stage: Stage,
  x: tf.Tensor,
  restoreState: boolean,
  bits: number,
  seed: number,
  carried: tf.Tensor[] = [],
): RecordedStage {
  const b = checkTapeBits(bits);
  if (b === 32) return recordTape(() => stage.run(x, true, restoreState, undefined, carried));
  return recordCompressed(
    (afterLayer) => stage.run(x, true, restoreState, afterLayer, carried),
    b,
    makeRng(seed),
  );
}
