import * as tf from '@tensorflow/tfjs';
import { type ClassificationData, gatherBatch } from '../data/dataset.js';
import { classificationLoss, type ForwardFn, trainableVariables } from '../train/step.js';
import { AutoPrecision } from './auto-precision.js';
import type { ActConfig } from './config.js';
import { type CompressResult, compressActivations } from './convert.js';
import { streamingForward } from './streaming-forward.js';

export interface CompressedTraining extends CompressResult {
  /** Layer-by-layer forward that frees intermediates (pass as `train`'s `forward`). */
  forward: ForwardFn;
  /** Mixed precision controller (null unless the config asks for it). */
  auto: AutoPrecision | null;
  /** Call after every training step: re-allocates bits every K steps in mixed mode. */
  afterStep: () => void;
  /** Frees the probe batch kept for sensitivity measurements. */
  dispose: () => void;
}

/**
 * Everything needed to train `model` with compressed activations: the converted model (weights
 * kept), its streaming forward, and for mixed precision a probe batch of `probeSize` training
 * samples on which sensitivities are measured before training and every K steps.
 */
export async function compressForTraining(
  model: tf.LayersModel,
  config: Partial<ActConfig>,
  data: ClassificationData,
  options: { probeSize?: number; warn?: (m: string) => void } = {},
): Promise<CompressedTraining> {
  const r = await compressActivations(model, config, { warn: options.warn });
  const forward = streamingForward(r.model);
  if (!r.config.mixed) return { ...r, forward, auto: null, afterStep: () => {}, dispose: () => {} };
  const n = Math.min(options.probeSize ?? 32, data.train.count);
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const probe = gatherBatch(data.train, data.sampleShape, data.numClasses, rows, 0, n);
  const auto = new AutoPrecision(r.model, r.config.mixed.avgBits, r.config.mixed.everySteps);
  const p = {
    loss: () => classificationLoss(probe.ys, forward(probe.xs, true)),
    variables: trainableVariables(r.model),
  };
  auto.maybeAllocate(p);
  return {
    ...r,
    forward,
    auto,
    afterStep: () => {
      auto.maybeAllocate(p);
    },
    dispose: () => tf.dispose([probe.xs, probe.ys]),
  };
}
