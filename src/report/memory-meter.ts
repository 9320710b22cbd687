import type * as tf from '@tensorflow/tfjs';
import { BufferMeter } from './buffer-meter.js';
import { externalMemory } from './external-memory.js';

/** Memory of one training step (forward + backward + update), in bytes. */
export interface StepMemory {
  /** All model weights, trainable and not. */
  weightBytes: number;
  /** One gradient per trainable weight. */
  gradientBytes: number;
  /** Optimizer slots (moments etc.) after the step. */
  optimizerBytes: number;
  /** The batch tensors fed to the step. */
  inputBytes: number;
  /**
   * Bytes saved for backward: tensors the gradient tape holds at the end of the forward pass,
   * plus tracked external buffers (packed activations) live at that moment.
   */
  savedActivationBytes: number;
  /** Peak of the step minus weights, gradients, optimizer state and inputs. */
  activationBytes: number;
  /**
   * Peak bytes of the step: weights, optimizer state (as before the step), inputs, and the peak
   * of the buffers the step allocates plus the tracked external buffers live at that moment.
   */
  peakBytes: number;
  /** Peak of tracked external (non-tensor) bytes during the step. */
  externalPeakBytes: number;
}

export function tensorBytes(t: tf.Tensor): number {
  const per = t.dtype === 'complex64' ? 8 : t.dtype === 'string' ? 0 : 4;
  return t.size * per;
}

export function sumBytes(ts: Iterable<tf.Tensor>): number {
  let s = 0;
  for (const t of ts) s += tensorBytes(t);
  return s;
}

/** Bytes held by an optimizer's slot variables (excluding its iteration counter). */
export async function optimizerStateBytes(optimizer: tf.Optimizer): Promise<number> {
  const named = await optimizer.getWeights();
  let bytes = 0;
  for (const w of named) {
    if (w.name === 'iter') w.tensor.dispose();
    else bytes += tensorBytes(w.tensor);
  }
  return bytes;
}

export interface MeteredStep {
  /** Trainable variables the step differentiates. */
  variables: tf.Variable[];
  /** Every weight the model holds (for weightBytes). */
  weights: tf.Tensor[];
  optimizer: tf.Optimizer;
  inputs: tf.Tensor[];
  /**
   * The whole step (gradients and update, e.g. the training seam's `applyStep`), returning the
   * loss tensor; it calls `markForwardEnd` at the end of each forward pass (a recipe may run
   * several).
   */
  run: (markForwardEnd: () => void) => tf.Scalar;
}

/** A metered step that has run: its loss tensor, and `finish` to complete its figures. */
export interface MeteredRun {
  /** The step's loss (the caller reads and disposes it). */
  loss: tf.Scalar;
  /** The step's memory, given the optimizer's slot bytes after the step. */
  finish(optimizerBytesAfter: number): StepMemory;
}

/**
 * The synchronous core of `measureStep`: runs the step under the buffer meter, given the
 * optimizer's slot bytes before the step (`optimizerStateBytes`, which is async). Used where a
 * step must run synchronously (a tfjs `model.fit` train function).
 */
export function meterStepSync(step: MeteredStep, optimizerBytesBefore: number): MeteredRun {
  const weightBytes = sumBytes(step.weights);
  const gradientBytes = sumBytes(step.variables);
  const inputBytes = sumBytes(step.inputs);
  const baseline = weightBytes + optimizerBytesBefore + inputBytes;
  const extBefore = externalMemory.live;
  externalMemory.resetPeak();
  const meter = new BufferMeter();
  let saved = Number.NaN;
  const mark = () => {
    const bytes = meter.current + (externalMemory.live - extBefore);
    if (!(bytes <= saved)) saved = bytes;
  };
  const loss = meter.run(() => step.run(mark));
  if (Number.isNaN(saved)) {
    loss.dispose();
    throw new Error('measureStep: the step never called markForwardEnd');
  }
  const externalPeakBytes = externalMemory.peak - extBefore;
  const peakBytes = baseline + meter.peakWithExternal;
  return {
    loss,
    finish: (optimizerBytes) => ({
      weightBytes,
      gradientBytes,
      optimizerBytes,
      inputBytes,
      savedActivationBytes: saved,
      activationBytes: peakBytes - weightBytes - gradientBytes - optimizerBytes - inputBytes,
      peakBytes,
      externalPeakBytes,
    }),
  };
}

/**
 * Runs one real training step and reports its memory, counting each tfjs data buffer once (see
 * `BufferMeter`) plus tracked external buffers. The step updates the weights like any other step.
 * Returns the loss value too. `savedActivationBytes` is taken at the end of the forward pass (the
 * largest, when the step runs several).
 */
export async function measureStep(
  step: MeteredStep,
): Promise<{ loss: number; memory: StepMemory }> {
  const run = meterStepSync(step, await optimizerStateBytes(step.optimizer));
  const loss = (await run.loss.data())[0];
  run.loss.dispose();
  return { loss, memory: run.finish(await optimizerStateBytes(step.optimizer)) };
}
