import * as tf from '@tensorflow/tfjs';
import { makeRng } from '../../engine/random.js';
import type { KernelLayer } from '../packed/layer-kernels.js';

/**
 * A layer seen as a linear regression on calibration data: rows of its input (for a conv, the
 * patches of sampled output positions, laid out like the kernel [kh*kw*in]) and the float
 * layer's pre-activation outputs. Conv layers become matmuls, so optimising them needs no conv
 * gradient kernels (which stock wasm lacks).
 */
export interface RegressionData {
  /** [rows, fanIn] */
  inputs: tf.Tensor2D;
  /** [rows, out]: inputs @ kernel + bias of the float layer. */
  targets: tf.Tensor2D;
  dispose(): void;
}

/** The layer's input on the calibration samples, computed with the model's own layers. */
export function layerInput(model: tf.LayersModel, layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor {
  const input = layer.input as tf.SymbolicTensor;
  if (model.inputs.includes(input)) return x.clone();
  const sub = tf.model({ inputs: model.inputs, outputs: input });
  return sub.predict(x, { batchSize: 64 }) as tf.Tensor;
}

function sampleRows(total: number, rows: number, seed: number): Int32Array {
  if (rows >= total) return Int32Array.from({ length: total }, (_, i) => i);
  const rng = makeRng(seed);
  return Int32Array.from({ length: rows }, () => Math.floor(rng() * total));
}

function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  return typeof v === 'number' ? [v, v] : [1, 1];
}

/** im2col of sampled output positions of a channels-last conv, in JS (exact, any backend). */
function convPatches(
  x: tf.Tensor,
  kernelShape: number[],
  cfg: tf.serialization.ConfigDict,
  rows: number,
  seed: number,
): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const [kh, kw] = kernelShape;
  const [sh, sw] = pair(cfg.strides);
  const [dh, dw] = pair(cfg.dilationRate);
  const same = cfg.padding === 'same';
  const effH = (kh - 1) * dh + 1;
  const effW = (kw - 1) * dw + 1;
  const oh = same ? Math.ceil(h / sh) : Math.floor((h - effH) / sh) + 1;
  const ow = same ? Math.ceil(w / sw) : Math.floor((w - effW) / sw) + 1;
  const padTop = same ? Math.floor(Math.max((oh - 1) * sh + effH - h, 0) / 2) : 0;
  const padLeft = same ? Math.floor(Math.max((ow - 1) * sw + effW - w, 0) / 2) : 0;
  const data = x.dataSync();
  const picks = sampleRows(n * oh * ow, rows, seed);
  const fanIn = kh * kw * c;
  const out = new Float32Array(picks.length * fanIn);
  picks.forEach((p, r) => {
    const b = Math.floor(p / (oh * ow));
    const oy = Math.floor(p / ow) % oh;
    const ox = p % ow;
    let o = r * fanIn;
    for (let i = 0; i < kh; i++) {
      const y = oy * sh - padTop + i * dh;
      for (let j = 0; j < kw; j++, o += c) {
        const xx = ox * sw - padLeft + j * dw;
        if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
        const at = ((b * h + y) * w + xx) * c;
        out.set(data.subarray(at, at + c), o);
      }
    }
  });
  return tf.tensor2d(out, [picks.length, fanIn]);
}

export function layerRegressionData(
  model: tf.LayersModel,
  k: KernelLayer,
  calibration: tf.Tensor,
  rows: number,
  seed: number,
): RegressionData {
  const x = layerInput(model, k.layer, calibration);
  let inputs: tf.Tensor2D;
  try {
    if (k.kind === 'conv2d') {
      inputs = convPatches(x, k.kernelShape, k.layer.getConfig(), rows, seed);
    } else {
      const fanIn = k.kernelShape[0];
      const flat = x.reshape([-1, fanIn]);
      const picks = sampleRows(flat.shape[0], rows, seed);
      inputs = tf.tidy(() => tf.gather(flat, tf.tensor1d(picks, 'int32')) as tf.Tensor2D);
      flat.dispose();
    }
  } finally {
    x.dispose();
  }
  const fanIn = inputs.shape[1];
  const out = k.kernelShape[k.kernelShape.length - 1];
  const bias = k.bias();
  const targets = tf.tidy(() => {
    const y = tf.matMul(inputs, tf.tensor2d(k.kernel(), [fanIn, out]));
    return (bias ? tf.add(y, tf.tensor1d(bias)) : y) as tf.Tensor2D;
  });
  return { inputs, targets, dispose: () => tf.dispose([inputs, targets]) };
}
