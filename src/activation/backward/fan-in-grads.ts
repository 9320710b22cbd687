import type * as tf from '@tensorflow/tfjs';

/**
 * When a tensor feeds several ops, tfjs's tape adds their input gradients (`add(sum, dx)`) and
 * frees the running sum but not `dx`: every contribution after the first stays alive until the
 * whole backward ends (a full-size buffer per residual shortcut). The compressed ops record the
 * input gradients they return, by input tensor id; when the backward reaches the op that made
 * that input (its output id), every contribution has been summed, so the ones the tape kept
 * aside, neither freed nor handed on as that op's upstream gradient, are freed.
 */
const returned = new Map<number, tf.Tensor[]>();

/** Records `grads[i]`, the gradient returned for `inputs[i]` (tensors only, not variables). */
export function recordInputGrads(inputs: tf.Tensor[], grads: tf.Tensor[], isVariable: boolean[]) {
  inputs.forEach((x, i) => {
    const g = grads[i];
    if (isVariable[i] || g === undefined) return;
    const list = returned.get(x.id);
    if (list) list.push(g);
    else returned.set(x.id, [g]);
  });
  for (const [id, list] of returned) if (list.every((t) => t.isDisposed)) returned.delete(id);
}

/**
 * Called as the backward of the op that produced tensor `outputId` starts, with the upstream
 * gradient `dy` the tape passed it: frees the contributions the tape summed and kept aside.
 */
export function freeSummedGrads(outputId: number, dy: tf.Tensor): void {
  const list = returned.get(outputId);
  if (!list) return;
  returned.delete(outputId);
  // A single contribution is dy itself (the tape passes it on); the first of several was freed by
  // the tape's first add; the later ones are neither.
  if (list.length < 2) return;
  for (const t of list) if (t !== dy && !t.isDisposed) t.dispose();
}
