import type * as tf from '@tensorflow/tfjs';
import type { KernelCodec } from '../compress/packed/kernel-codec.js';
import { packedReplacement } from '../compress/packed/layer-kernels.js';
import { type LayerEdit, rewriteModel } from '../rewrite/rewrite-model.js';
import { EmaActQuant } from './ema-act-quant.js';
import { LsqQuant } from './lsq.js';
import { QatBnLayer } from './qat-bn-layer.js';
import { QatLayer } from './qat-layers.js';

/**
 * Turns every `QatLayer` into compress's packed layer (FrugalPackedDense / FrugalPackedConv2D)
 * storing the codes the fake-quant forward used (a `QatBnLayer`: its folded kernel and bias,
 * with the moving statistics), so the result saves as a standard model.json
 * that `tf.loadLayersModel` reads once frugal is imported. Activation fake-quant layers
 * (`EmaActQuant`, `LsqQuant`) are kept as they are, with their range / learned step (frozen at
 * inference: only training calls move an EMA range), so the converted model rounds its
 * activations onto the grid training saw; they are listed in `activations`. The input model is
 * not modified.
 */
export function convertQat(model: tf.LayersModel): {
  model: tf.LayersModel;
  converted: string[];
  activations: string[];
} {
  const edits = new Map<string, LayerEdit>();
  const converted: string[] = [];
  const activations: string[] = [];
  for (const layer of model.layers) {
    if (layer instanceof EmaActQuant || layer instanceof LsqQuant) activations.push(layer.name);
    if (!(layer instanceof QatLayer)) continue;
    const codec: KernelCodec = {
      bits: layer.bits,
      scheme: layer.scheme,
      granularity: 'channel',
      n: 0,
      m: 0,
    };
    // freeze-then-fold: the folded kernel and bias, the same tensors its inference computes
    const read = (t: tf.Tensor) => {
      const v = t.dataSync() as Float32Array;
      t.dispose();
      return v;
    };
    const bn = layer instanceof QatBnLayer;
    const kernel = bn
      ? read(layer.foldedKernel())
      : ((layer.kernel as tf.LayerVariable).read().dataSync() as Float32Array);
    const bias = bn
      ? read(layer.foldedBias())
      : layer.bias
        ? (layer.bias.read().dataSync() as Float32Array)
        : null;
    const view = {
      layer,
      kind: layer.kind,
      kernelShape: layer.kernelShape,
      codec,
      kernel: () => kernel,
      bias: () => bias,
      activation: layer.activationName,
    };
    edits.set(layer.name, { replace: [packedReplacement(view, codec)] });
    converted.push(layer.name);
  }
  if (converted.length === 0)
    throw new Error('convertQat: the model has no QAT layers (run prepareQat first)');
  return { model: rewriteModel(model, edits).model, converted, activations };
}
