import type * as tf from '@tensorflow/tfjs';
import { storedValues } from '../packed/kernel-codec.js';
import { PackedConv2D } from '../packed/packed-conv2d.js';
import { PackedLayerBase } from '../packed/packed-layer-base.js';

/** A layer that knows its own cost (e.g. a decomposed layer from another module). */
export interface SelfCostingLayer {
  frugalFlops(): number;
}

function hasOwnFlops(layer: unknown): layer is SelfCostingLayer {
  return typeof (layer as Partial<SelfCostingLayer>).frugalFlops === 'function';
}

function outputSpatial(layer: tf.layers.Layer): number {
  const shape = layer.outputShape as (number | null)[];
  return shape.slice(1, -1).reduce<number>((a, d) => a * (d ?? 1), 1);
}

/**
 * Multiply-add FLOPs (2 per MAC) of one sample through a layer's matmul or convolution; N:M
 * layers count only kept weights (what N:M hardware would run). Other layers count 0.
 */
export function layerFlops(layer: tf.layers.Layer): number {
  if (hasOwnFlops(layer)) return layer.frugalFlops();
  const cls = layer.getClassName();
  if (layer instanceof PackedLayerBase) {
    const macs = storedValues(layer.codec, layer.kernelShape);
    return 2 * macs * (layer instanceof PackedConv2D ? outputSpatial(layer) : outputSpatial(layer));
  }
  if (
    cls === 'Dense' ||
    cls === 'Conv2D' ||
    cls === 'DepthwiseConv2D' ||
    cls === 'SeparableConv2D'
  ) {
    const macs = layer
      .getWeights()
      .reduce((s, w, i) => (i === 0 || w.rank > 1 ? s + w.size : s), 0);
    return 2 * macs * outputSpatial(layer);
  }
  return 0;
}

/** Logical parameters: weights the layer computes with (N:M layers: kept ones) plus biases. */
export function layerParameters(layer: tf.layers.Layer): number {
  if (layer instanceof PackedLayerBase) {
    return storedValues(layer.codec, layer.kernelShape) + (layer.useBias ? layer.outChannels : 0);
  }
  return layer.countParams();
}

/** Bytes the layer's weights take in `weights.bin` (float32 and int32 are 4 bytes each). */
export function layerBytes(layer: tf.layers.Layer): number {
  return layer.weights.reduce(
    (s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1) * 4,
    0,
  );
}

/** FLOPs of one sample through all matmul/conv layers of a model. */
export function modelFlops(model: tf.LayersModel): number {
  return model.layers.reduce((s, l) => s + layerFlops(l), 0);
}
