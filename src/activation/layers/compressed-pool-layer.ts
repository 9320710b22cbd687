import type * as tf from '@tensorflow/tfjs';
import { configWith } from '../../models/layers/layer-config.js';
import type { ConvPadding } from '../backward/conv-grad.js';
import { CompressedLayer, type CompressedLayerArgs } from './compressed-layer.js';
import { pooledShape, windowArgs } from './window-args.js';

export interface CompressedPoolLayerArgs extends CompressedLayerArgs {
  poolSize?: number | [number, number];
  strides?: number | [number, number] | null;
  padding?: ConvPadding;
}

/** Base of the compressed 2-D poolings (NHWC): their window (2x2 and its own strides by default). */
export abstract class CompressedPoolLayer extends CompressedLayer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: ConvPadding;

  constructor(args: CompressedPoolLayerArgs) {
    super(args);
    const win = windowArgs(this.name, 'poolSize', args, [2, 2]);
    [this.poolSize, this.strides, this.padding] = [win.size, win.strides, win.padding];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return pooledShape(inputShape, {
      size: this.poolSize,
      strides: this.strides,
      padding: this.padding,
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['poolSize', 'strides', 'padding']);
  }
}
