import * as tf from '@tensorflow/tfjs';
import { type ClassificationData, gatherBatch } from '../data/dataset.js';
import { AUTO_FORWARD_CHUNK_BYTES } from '../engine/settings.js';
import { type Loss, resolveLoss } from '../train/loss.js';
import type { TaskProgressCallback } from '../train/progress.js';
import { type ForwardFn, trainableVariables } from '../train/step.js';
import type { ActConfig } from './config.js';
import { type CompressActivationsResult, compressActivations } from './convert.js';
import {
  batchDependentLayers,
  chunkedForward,
  chunkRowsFor,
  forwardSplit,
} from './execution/chunked-execution.js';
import { streamingForward } from './execution/streaming-forward.js';
import { AutoPrecision } from './precision/auto-precision.js';

export interface CompressedTraining extends CompressActivationsResult {
  /** Layer-by-layer forward that frees intermediates (pass as `train`'s `forward`). */
  forward: ForwardFn;
  /** Samples per chunk of the chunked forward (null: the whole batch at once). */
  chunkRows: number | null;
  /** Mixed precision controller (null unless the config asks for it). */
  auto: AutoPrecision | null;
  /** Call after every training step: re-allocates bits every K steps in mixed mode. */
  afterStep: () => void;
  /** Frees the probe batch kept for sensitivity measurements. */
  dispose: () => void;
}

/**
 * Everything needed to train `model` with compressed activations: the converted model (weights
 * kept), its streaming forward (chunked over the batch unless `forwardChunk` is 'off' or a layer
 * mixes samples: with 'auto' a model with batch norm runs unchunked), and for mixed precision a probe batch of `probeSize` training
 * samples on which sensitivities are measured before training and every K steps (`onProgress`
 * hears of the first measurement, which runs here).
 */
export async function compressForTraining(
  model: tf.LayersModel,
  config: Partial<ActConfig>,
  data: ClassificationData,
  options: {
    probeSize?: number;
    /** The loss of the sensitivity probes (default: the one the model's output calls for). */
    loss?: Loss;
    warn?: (m: string) => void;
    onProgress?: TaskProgressCallback;
  } = {},
): Promise<CompressedTraining> {
  const r = await compressActivations(model, config, { warn: options.warn });
  const chunkRows = forwardChunkRows(r.model, r.config.forwardChunk);
  // Chunked: the narrow layers at the end in larger chunks (forwardSplit).
  const split = chunkRows === null ? null : forwardSplit(r.model);
  const streaming = streamingForward(r.model, split ? { layers: [0, split.cut] } : {});
  const forward =
    chunkRows === null
      ? streaming
      : chunkedForward(
          streaming,
          chunkRows,
          split
            ? {
                forward: streamingForward(r.model, {
                  layers: [split.cut, r.model.layers.length],
                }),
                group: split.group,
              }
            : undefined,
        );
  const done = { ...r, forward, chunkRows };
  if (!r.config.mixed) return { ...done, auto: null, afterStep: () => {}, dispose: () => {} };
  const n = Math.min(options.probeSize ?? 32, data.train.count);
  const rows = Int32Array.from({ length: n }, (_, i) => i);
  const probe = gatherBatch(data.train, data.sampleShape, data.numClasses, rows, 0, n);
  const auto = new AutoPrecision(r.model, r.config.mixed.avgBits, r.config.mixed.everySteps);
  const loss = options.loss ?? resolveLoss(r.model);
  const p = {
    loss: () => loss.mean(probe.ys, forward(probe.xs, true)),
    variables: trainableVariables(r.model),
  };
  auto.maybeAllocate(p, options.onProgress);
  return {
    ...done,
    auto,
    afterStep: () => {
      auto.maybeAllocate(p);
    },
    dispose: () => tf.dispose([probe.xs, probe.ys]),
  };
}

function forwardChunkRows(
  model: tf.LayersModel,
  setting: ActConfig['forwardChunk'],
): number | null {
  if (setting === 'off') return null;
  const mixing = batchDependentLayers(model);
  if (mixing.length > 0) {
    const why = `layers that mix samples (${mixing.join(', ')}) would see chunk statistics`;
    if (setting !== 'auto') throw new Error(`activation config: forwardChunk ${setting}: ${why}`);
    return null;
  }
  return setting === 'auto' ? chunkRowsFor(model, AUTO_FORWARD_CHUNK_BYTES) : setting;
}
