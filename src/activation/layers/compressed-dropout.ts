import * as tf from '@tensorflow/tfjs';
import { compressedOp } from '../backward/custom-grad.js';
import { scratch } from '../codec/js-memory.js';
import { codesToTensor, saveCodes } from '../codec/saved.js';
import { nextRng } from '../codec/seed.js';
import { CompressedLayer, type CompressedLayerArgs, single } from './compressed-layer.js';

export interface CompressedDropoutArgs extends CompressedLayerArgs {
  rate: number;
}

/** Dropout whose backward keeps its keep-mask as 1 bit per value instead of a float32 tensor. */
export class CompressedDropout extends CompressedLayer {
  static className = 'FrugalCompressedDropout';
  readonly rate: number;

  constructor(args: CompressedDropoutArgs) {
    super(args);
    if (!(args.rate >= 0 && args.rate < 1))
      throw new Error(`${this.name}: rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      if (!CompressedLayer.isTraining(kwargs) || this.rate === 0) return tf.clone(x);
      const keep = 1 - this.rate;
      return compressedOp([x], (save) => {
        const rng = nextRng();
        const saved = scratch(x.size, () => {
          const codes = new Uint8Array(x.size);
          for (let i = 0; i < codes.length; i++) codes[i] = rng() < keep ? 1 : 0;
          return saveCodes(codes, 1);
        });
        save(saved.tensors);
        this.lastSavedBytes = saved.tensors[0].size * 4;
        this.lastExactBytes = 4 * x.size;
        const mask = (s: tf.Tensor[]) => codesToTensor(saved, s, x.shape, (c) => c / keep);
        return {
          value: tf.mul(x, mask(saved.tensors)),
          gradFunc: (dy, s) => [tf.mul(dy, mask(s))],
        };
      });
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(CompressedDropout);
