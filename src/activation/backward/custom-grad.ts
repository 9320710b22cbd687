import * as tf from '@tensorflow/tfjs';
import { noteGradient, siblingGradient } from '../execution/fork.js';
import { freeSummedGrads, recordInputGrads } from './fan-in-grads.js';
import { currentChunk, routeGrads, tapeInputs } from './weight-grad-sink.js';

export interface CompressedOp {
  value: tf.Tensor;
  /**
   * Tensors the backward reads that the op keeps itself instead of through `save` (tfjs copies
   * what `save` gets, so an op that saves much at once would hold it twice at that moment). While
   * the tape records they go on the op's tape node after the saved tensors (gradFunc gets them at
   * the end of `saved`; freed with it, or by tfjs at the end of the backward); otherwise they
   * are freed with the forward's other temporaries.
   */
  held?: tf.Tensor[];
  /**
   * Gradients for each input, in order. `freeDy` frees dy early (once no longer needed) when it
   * belongs to the backward pass; it is freed after gradFunc in any case. `dyOwned`: dy belongs
   * to the backward pass (no one reads it after this gradFunc), so its buffer may be reused for
   * an input gradient (see chunkedBackward). `addTo`: where the first input is one of several
   * views of a forked tensor (fork.ts), a gradient another reader already returned, into which
   * the first input's gradient may be added in place and returned (null: none). Under a chunked
   * forward a weight's gradient may be null: deferred to chunk 0 (`chunkWeightProduct`).
   */
  gradFunc: (
    dy: tf.Tensor,
    saved: tf.Tensor[],
    freeDy: () => void,
    dyOwned: boolean,
    addTo: tf.Tensor | null,
  ) => (tf.Tensor | null)[];
}

/** Hands tensors to the tape for the backward (a `tf.customGrad` save function). */
export type SaveTensors = (tensors: tf.Tensor[]) => void;

/**
 * Runs `body` as one `tf.customGrad` op over `inputs`: the tape keeps only what `body` passes to
 * `save`. The backward frees the upstream gradient once the input gradients exist, and the saved
 * state once consumed: the tape would otherwise hold both until the whole backward ends.
 */
export function compressedOp(
  inputs: tf.Tensor[],
  body: (save: SaveTensors) => CompressedOp,
): tf.Tensor {
  // Tensors made by the backward come after every forward tensor; a dy with a smaller id was
  // passed in by the caller (tf.grads(f)(x, dy)) and is not ours to free.
  let outputId = Number.POSITIVE_INFINITY;
  // Under a chunked forward, weight gradients are summed across chunks outside the tape.
  const chunk = currentChunk();
  const shown = tapeInputs(chunk, inputs);
  const engine = tf.engine() as unknown as TapeEngine;
  const recording = engine.isTapeOn();
  let held: tf.Tensor[] = [];
  const op = tf.customGrad((..._args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    // What `body` saves goes on the tape node with `held` (see below): tfjs's own save clones
    // each tensor, one engine kernel (Identity) and one more tensor per saved tensor per call (a
    // chunked CNN step: 130 of them). Only tensors made here are held as they are; an input or
    // the output (which others may dispose) is cloned as tfjs would.
    // Ids count up from tfjs's engine counter (no such counter: every tensor is cloned).
    const firstId =
      (engine.constructor as unknown as { nextTensorId?: number }).nextTensorId ??
      Number.POSITIVE_INFINITY;
    let saves: tf.Tensor[] = [];
    const {
      value,
      gradFunc,
      held: kept,
    } = body((tensors) => {
      saves = tensors;
    });
    outputId = value.id;
    if (recording)
      held = [
        ...saves.map((t) => tf.keep(t.id >= firstId && t !== value ? t : t.clone())),
        ...(kept ?? []).map((t) => tf.keep(t)),
      ];
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = Array.isArray(dy) ? dy[0] : dy;
        const owned = g.id > outputId;
        if (chunk === null) freeSummedGrads(outputId, g);
        // (tidy keeps tensors inside arrays; a deferred gradient is a null entry)
        const grads = tf.tidy(
          () =>
            gradFunc(
              g,
              saved,
              () => {
                if (owned) g.dispose();
              },
              owned,
              chunk === null ? siblingGradient(inputs[0]) : null,
            ) as tf.Tensor[],
        ) as (tf.Tensor | null)[];
        if (owned && !grads.includes(g)) g.dispose();
        // The saved state is consumed: free it now rather than when the whole backward ends.
        for (const t of saved) t.dispose();
        if (chunk === null) {
          const all = routeGrads(chunk, inputs, shown, grads);
          inputs.forEach((x, i) => {
            noteGradient(x, all[i]);
          });
          recordInputGrads(
            inputs,
            all,
            inputs.map((x) => x instanceof tf.Variable),
          );
          return all;
        }
        return routeGrads(chunk, inputs, shown, grads);
      },
    };
  });
  const value = op(...inputs.filter((_, i) => shown[i]));
  if (held.length > 0) {
    const node = engine.state.activeTape?.at(-1);
    if (!node?.outputs.some((t) => t.id === value.id)) {
      tf.dispose(held);
      throw new Error('compressedOp: the tape node of the op was not found');
    }
    node.saved.push(...held);
  }
  return value;
}

/** The engine's tape, as far as `held` tensors need it. */
interface TapeEngine {
  isTapeOn(): boolean;
  state: { activeTape: { outputs: tf.Tensor[]; saved: tf.Tensor[] }[] | null };
}
