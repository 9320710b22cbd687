import * as tf from '@tensorflow/tfjs';
import { activationRows } from '../backward/activation-rows.js';
import { compressedOp } from '../backward/custom-grad.js';
import { type ActivationName, applyActivation, layerActivation } from '../codec/activation-fns.js';
import { splitSaved } from '../codec/saved.js';
import { isDonated } from '../execution/donated-inputs.js';
import { overwriteRows } from '../execution/row-writer.js';
import { CompressedLayer, type CompressedLayerArgs, single } from './compressed-layer.js';

export interface CompressedActivationArgs extends CompressedLayerArgs {
  activation: string;
}

/**
 * A pointwise activation (ReLU, GELU, SiLU, tanh, sigmoid, ELU, softplus) whose backward keeps a
 * 1-bit mask (ReLU), few-bit interval codes, or the quantized input.
 */
export class CompressedActivation extends CompressedLayer {
  static className = 'FrugalCompressedActivation';
  readonly activation: ActivationName;

  constructor(args: CompressedActivationArgs) {
    super(args);
    this.activation = layerActivation(this.name, args.activation);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      if (!CompressedLayer.isTraining(kwargs) || this.activation === 'linear')
        return applyActivation(this.activation, x);
      return compressedOp([x], (save) => {
        const act = this.saveActivation(this.activation, x);
        this.recordSaved(save, [act], 4 * x.size);
        return {
          // Written over x where the caller frees x next and only a copy of it is kept (mask).
          value:
            (this.activation === 'relu' && this.actBits !== 32 && isDonated(x)
              ? overwriteRows(x, (r) => applyActivation(this.activation, r))
              : null) ?? applyActivation(this.activation, x),
          // A chunk of rows at a time: the mask (or codes) is expanded for those rows only, and
          // dx goes into dy's buffer where it may (chunkedBackward).
          gradFunc: (dy, saved, freeDy, dyOwned, addTo) => {
            const s = splitSaved(saved, [act])[0];
            if (dy.rank === 0) return [act.restore(s)(dy)];
            return [activationRows(act, s, dy, freeDy, dyOwned, addTo)];
          },
        };
      });
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), activation: this.activation };
  }
}
tf.serialization.registerClass(CompressedActivation);
