import * as tf from '@tensorflow/tfjs';
import { CompressedLayer, type CompressedLayerArgs } from './compressed-layer.js';
import { lastDimension } from './layer-args.js';

export interface CompressedNormLayerArgs extends CompressedLayerArgs {
  epsilon?: number;
}

/**
 * Base of the compressed normalizations over the last axis (batch and layer normalization):
 * `epsilon` and the scale `gamma` and shift `beta`, as tfjs-layers names them.
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

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
