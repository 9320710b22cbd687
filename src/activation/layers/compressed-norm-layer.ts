import * as tf from '@tensorflow/tfjs';
import { type CompressedOp, compressedOp, type SaveTensors } from '../backward/custom-grad.js';
import { CompressedLayer, type CompressedLayerArgs, single } from './compressed-layer.js';
import { lastDimension } from './layer-args.js';

export interface CompressedNormLayerArgs extends CompressedLayerArgs {
  epsilon?: number;
}

/** A normalization layer's input `x`, scale `gamma` and shift `beta`. */
export interface NormOperands {
  x: tf.Tensor;
  gamma: tf.Tensor;
  beta: tf.Tensor;
}

/**
 * Base of the compressed normalizations over the last axis (batch and layer normalization):
 * `epsilon` and the scale `gamma` and shift `beta`, as tfjs-layers names them, and a call that
 * runs `inference` outside training and `trainingOp`'s custom gradient in training.
 */
export abstract class CompressedNormLayer extends CompressedLayer {
  readonly epsilon: number;
  protected gamma?: tf.LayerVariable;
  protected beta?: tf.LayerVariable;

  constructor(args: CompressedNormLayerArgs) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-3;
    if (!(this.epsilon > 0)) throw new Error(`${this.name}: epsilon must be positive`);
  }

  /** Adds gamma (ones) and beta (zeros) over the last axis (`what` names it); returns its size. */
  protected addScaleAndShift(inputShape: tf.Shape | tf.Shape[], what: string): number {
    const d = lastDimension(this.name, inputShape, what);
    this.gamma = this.addWeight('gamma', [d], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [d], 'float32', tf.initializers.zeros());
    return d;
  }

  /** The output outside training. */
  protected abstract inference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor;

  /** The training forward and backward of the layer on its input and weights. */
  protected abstract trainingOp(save: SaveTensors, operands: NormOperands): CompressedOp;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const gamma = this.gamma!.read();
      const beta = this.beta!.read();
      if (!CompressedLayer.isTraining(kwargs)) return this.inference(x, gamma, beta);
      return compressedOp([x, gamma, beta], (save) => this.trainingOp(save, { x, gamma, beta }));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
