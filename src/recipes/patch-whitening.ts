// Input patch whitening (as in the HAET / airbench CIFAR recipes): the first conv's filters come
// from the eigendecomposition of the k x k x C patch covariance S = V diag(l) V^T of the training
// images: filter j = v_j / sqrt(l_j + eps), so the filter responses of the (centred) patches have
// covariance diag(l / (l + eps)), the identity up to eps. With more filters than the patch size d
// the filters repeat with alternating sign (w, -w: both halves survive a ReLU); with fewer, the
// top components are kept. A bias, if the layer has one, centres the responses.
import * as tf from '@tensorflow/tfjs';
import { fromArray } from '../compress/linalg/matrix.js';
import { symmetricEigen } from '../compress/linalg/symmetric-eigen.js';

export interface PatchStats {
  /** d = k * k * C values: the patch mean (order: row, column, channel). */
  mean: Float64Array;
  /** d x d covariance, row-major. */
  covariance: Float64Array;
  d: number;
}

/** The patches of `images` [N, H, W, C] as rows [M, k*k*C] (valid positions). */
export function extractPatches(images: tf.Tensor4D, k: number): tf.Tensor2D {
  const c = images.shape[3];
  const d = k * k * c;
  return tf.tidy(() => {
    const eye = tf.reshape(tf.eye(d), [k, k, c, d]) as tf.Tensor4D;
    return tf.reshape(tf.conv2d(images, eye, 1, 'valid'), [-1, d]) as tf.Tensor2D;
  });
}

export function patchStats(images: tf.Tensor4D, k: number): PatchStats {
  const p = extractPatches(images, k);
  const [m, d] = p.shape;
  const x = p.dataSync();
  p.dispose();
  const mean = new Float64Array(d);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= m;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = 0; b <= a; b++) cov[a * d + b] += ra * row[b];
    }
  }
  for (let a = 0; a < d; a++)
    for (let b = 0; b <= a; b++) {
      cov[a * d + b] /= m;
      cov[b * d + a] = cov[a * d + b];
    }
  return { mean, covariance: cov, d };
}

/** The whitening kernel [k, k, C, filters] and bias [filters] for patches with `stats`. */
export function whiteningFilters(
  stats: PatchStats,
  k: number,
  channels: number,
  filters: number,
  eps: number,
): { kernel: tf.Tensor4D; bias: tf.Tensor1D } {
  if (!(eps > 0)) throw new Error(`patch whitening: eps must be above 0, got ${eps}`);
  const { d } = stats;
  const eig = symmetricEigen(fromArray(d, d, stats.covariance));
  const w = new Float32Array(d * filters);
  const b = new Float32Array(filters);
  for (let f = 0; f < filters; f++) {
    const j = f % d;
    const sign = Math.floor(f / d) % 2 === 0 ? 1 : -1;
    const s = sign / Math.sqrt(Math.max(eig.values[j], 0) + eps);
    let dot = 0;
    for (let i = 0; i < d; i++) {
      const v = eig.vectors.data[i * d + j] * s;
      w[i * filters + f] = v;
      dot += v * stats.mean[i];
    }
    b[f] = -dot;
  }
  return {
    kernel: tf.tensor4d(w, [k, k, channels, filters]),
    bias: tf.tensor1d(b),
  };
}

export interface WhiteningResult {
  layer: string;
  kernelSize: number;
  filters: number;
  patchSize: number;
}

/**
 * Sets the first Conv2D of `model` to the whitening filters of `images` [N, H, W, C] (a sample of
 * the training split). The filters stay trainable.
 */
export function applyPatchWhitening(
  model: tf.LayersModel,
  images: tf.Tensor4D,
  eps = 1e-2,
): WhiteningResult {
  const layer = model.layers.find((l) => l.getClassName() === 'Conv2D');
  if (!layer)
    throw new Error('patch whitening: the model has no Conv2D layer to set (use a conv model)');
  const cfg = layer.getConfig() as { kernelSize: number[] | number; filters: number };
  const ks = Array.isArray(cfg.kernelSize) ? cfg.kernelSize : [cfg.kernelSize, cfg.kernelSize];
  if (ks[0] !== ks[1])
    throw new Error(`patch whitening: the first conv '${layer.name}' has a non-square kernel`);
  const k = ks[0];
  const c = images.shape[3];
  const stats = patchStats(images, k);
  const { kernel, bias } = whiteningFilters(stats, k, c, cfg.filters, eps);
  const weights = layer.getWeights();
  if (weights[0].shape.join() !== kernel.shape.join()) {
    tf.dispose([kernel, bias]);
    throw new Error(
      `patch whitening: '${layer.name}' kernel is [${weights[0].shape}], the images give [${kernel.shape}]`,
    );
  }
  layer.setWeights(weights.length > 1 ? [kernel, bias] : [kernel]);
  tf.dispose([kernel, bias]);
  return { layer: layer.name, kernelSize: k, filters: cfg.filters, patchSize: stats.d };
}
