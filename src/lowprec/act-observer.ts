import type * as tf from '@tensorflow/tfjs';
import type { QuantScheme } from '../compress/quantize/uniform.js';
import { paramsFromRanges } from '../compress/quantize/uniform.js';
import { fakeQuant } from './fake-quant.js';

/**
 * Per-tensor EMA range observer for activation fake-quant: lo/hi track the batch min/max with
 * lo <- m * lo + (1 - m) * batchMin (the first batch sets them). `frozen` stops the updates
 * (freeze observers before the last fine-tune steps, then fold). Eager only.
 */
export class EmaRangeObserver {
  lo = 0;
  hi = 0;
  seen = false;
  frozen = false;
  constructor(
    readonly bits: number,
    readonly scheme: QuantScheme = 'affine',
    readonly momentum = 0.9,
  ) {
    if (!Number.isInteger(bits) || bits < 2 || bits > 8)
      throw new Error(`activations.bits must be an integer in 2-8, got ${bits}`);
    if (!(momentum >= 0 && momentum < 1))
      throw new Error(`activations.momentum must be in [0, 1), got ${momentum}`);
  }

  observe(x: tf.Tensor): void {
    if (this.frozen) return;
    const v = x.dataSync();
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < v.length; i++) {
      if (v[i] < lo) lo = v[i];
      if (v[i] > hi) hi = v[i];
    }
    if (!this.seen) {
      this.lo = lo;
      this.hi = hi;
      this.seen = true;
    } else {
      this.lo = this.momentum * this.lo + (1 - this.momentum) * lo;
      this.hi = this.momentum * this.hi + (1 - this.momentum) * hi;
    }
  }

  /** Observes `x` (when training and not frozen), then fake-quantizes it with the STE. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor {
    if (training) this.observe(x);
    if (!this.seen)
      throw new Error('EmaRangeObserver: no range observed yet (run a training batch)');
    const params = paramsFromRanges([this.lo], [this.hi], this.bits, this.scheme);
    return fakeQuant(x, params, this.scheme);
  }
}
