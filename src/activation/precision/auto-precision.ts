import * as tf from '@tensorflow/tfjs';
import type { TaskProgressCallback } from '../../train/progress.js';
import { taskReporter } from '../../train/task-reporter.js';
import type { ActivationBits } from '../codec/bits.js';
import { CompressedActivation } from '../layers/compressed-activation.js';
import { CompressedDropout } from '../layers/compressed-dropout.js';
import { CompressedLayer } from '../layers/compressed-layer.js';
import { CompressedMaxPool2D } from '../layers/compressed-max-pool.js';
import { allocateBits } from './bit-allocation.js';

/** Compressed layers whose saved values are quantized (so their bits matter). */
export function quantizingLayers(model: tf.LayersModel): CompressedLayer[] {
  return model.layers.filter(
    (l): l is CompressedLayer =>
      l instanceof CompressedLayer &&
      !(l instanceof CompressedMaxPool2D) &&
      !(l instanceof CompressedDropout) &&
      !(l instanceof CompressedActivation && l.activation === 'relu') &&
      l.getClassName().startsWith('FrugalCompressed'),
  );
}

export interface SensitivityProbe {
  /** Returns the loss of the model on a fixed batch (a forward in training mode). */
  loss: () => tf.Scalar;
  variables: tf.Variable[];
}

function gradients(p: SensitivityProbe): Float32Array[] {
  return tf.tidy(() => {
    const { grads, value } = tf.variableGrads(p.loss, p.variables);
    value.dispose();
    return p.variables.map((v) => grads[v.name].dataSync() as Float32Array);
  });
}

/**
 * GACT-style sensitivity of each layer: with every other layer exact, two 1-bit backward passes
 * with different random roundings; C_i = ||g_a - g_b||^2 / 2 over all weight gradients is the
 * 1-bit gradient variance, and the variance at b bits is about C_i / (2^b - 1)^2.
 * Cost: 2 forward+backward passes per layer; `onProgress` hears of each layer probed.
 */
export function measureSensitivity(
  layers: CompressedLayer[],
  probe: SensitivityProbe,
  onProgress?: TaskProgressCallback,
): number[] {
  const saved = layers.map((l) => l.actBits);
  const tick = taskReporter(
    onProgress,
    `probing the sensitivity of ${layers.length} layer${layers.length === 1 ? '' : 's'}`,
    layers.length,
  );
  try {
    for (const l of layers) l.actBits = 32;
    return layers.map((l) => {
      l.actBits = 1;
      const a = gradients(probe);
      const b = gradients(probe);
      l.actBits = 32;
      let s = 0;
      for (let v = 0; v < a.length; v++)
        for (let i = 0; i < a[v].length; i++) s += (a[v][i] - b[v][i]) ** 2;
      tick(l.name);
      return s / 2;
    });
  } finally {
    layers.forEach((l, i) => {
      l.actBits = saved[i];
    });
  }
}

/**
 * Mixed precision for a compressed model: every `everySteps` steps, re-measures each layer's
 * sensitivity on the current batch and re-allocates bits under the average budget (ActNN's
 * greedy). Extra cost per re-allocation: 2 x (number of quantizing layers) forward+backward passes.
 */
export class AutoPrecision {
  private steps = 0;
  /** Bits chosen at the last allocation, by layer name. */
  lastBits: Record<string, ActivationBits> = {};

  constructor(
    private readonly model: tf.LayersModel,
    private readonly avgBits: number,
    private readonly everySteps: number,
  ) {}

  /** Call before each training step; re-allocates on the first step and every K steps. */
  maybeAllocate(probe: SensitivityProbe, onProgress?: TaskProgressCallback): boolean {
    const due = this.steps % this.everySteps === 0;
    this.steps++;
    if (!due) return false;
    this.allocate(probe, onProgress);
    return true;
  }

  allocate(
    probe: SensitivityProbe,
    onProgress?: TaskProgressCallback,
  ): Record<string, ActivationBits> {
    const layers = quantizingLayers(this.model);
    if (layers.length === 0) return {};
    // One forward fills each layer's lastExactBytes (values saved, its weight in the budget).
    tf.tidy(() => {
      tf.variableGrads(probe.loss, probe.variables);
    });
    const sens = measureSensitivity(layers, probe, onProgress);
    const bits = allocateBits(
      layers.map((l, i) => ({ sensitivity: sens[i], size: Math.max(1, l.lastExactBytes / 4) })),
      this.avgBits,
    );
    layers.forEach((l, i) => {
      l.actBits = bits[i];
      this.lastBits[l.name] = bits[i];
    });
    return this.lastBits;
  }
}
