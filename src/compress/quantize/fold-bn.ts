import * as tf from '@tensorflow/tfjs';
import {
  consumers,
  inboundLayers,
  type LayerEdit,
  rewriteModel,
} from '../../rewrite/rewrite-model.js';

export interface FoldedPair {
  producer: string;
  batchNorm: string;
}

const FOLDABLE = new Set(['Conv2D', 'Dense']);

/** Batch-norm layers that directly follow a linear-activation Conv2D/Dense used only by them. */
export function foldablePairs(model: tf.LayersModel): FoldedPair[] {
  const pairs: FoldedPair[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const inbound = inboundLayers(layer);
    if (inbound.length !== 1) continue;
    const p = inbound[0];
    const cfg = p.getConfig();
    if (!FOLDABLE.has(p.getClassName())) continue;
    if ((cfg.activation ?? 'linear') !== 'linear') continue;
    if (consumers(p).length !== 1) continue;
    const axis = layer.getConfig().axis as number;
    const rank = (layer.inboundNodes[0].inputShapes as tf.Shape).length;
    if (axis !== -1 && axis !== rank - 1) continue;
    pairs.push({ producer: p.name, batchNorm: layer.name });
  }
  return pairs;
}

/**
 * Folded kernel and bias of `conv -> bn` (inference mode):
 * W' = W * g / sqrt(v + eps) per output channel, b' = (b - mean) * g / sqrt(v + eps) + beta.
 */
export function foldBatchNormWeights(
  kernel: tf.Tensor,
  bias: tf.Tensor | null,
  bn: { gamma: tf.Tensor | null; beta: tf.Tensor | null; mean: tf.Tensor; variance: tf.Tensor },
  epsilon: number,
): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const inv = tf.rsqrt(tf.add(bn.variance, epsilon));
    const factor = bn.gamma ? tf.mul(bn.gamma, inv) : inv;
    const b = bias ?? tf.zerosLike(bn.mean);
    const folded = tf.mul(tf.sub(b, bn.mean), factor);
    return [tf.mul(kernel, factor), bn.beta ? tf.add(folded, bn.beta) : folded];
  });
}

function bnWeights(layer: tf.layers.Layer) {
  const cfg = layer.getConfig();
  const w = layer.getWeights();
  let i = 0;
  const gamma = cfg.scale === false ? null : w[i++];
  const beta = cfg.center === false ? null : w[i++];
  return { gamma, beta, mean: w[i++], variance: w[i++], epsilon: cfg.epsilon as number };
}

/** Returns a new model with every foldable batch-norm folded into its conv/dense. */
export async function foldBatchNorm(
  model: tf.LayersModel,
  skip: (layerName: string) => boolean = () => false,
): Promise<{ model: tf.LayersModel; folded: FoldedPair[] }> {
  const pairs = foldablePairs(model).filter((p) => !skip(p.producer) && !skip(p.batchNorm));
  const owned: tf.Tensor[] = [];
  const edits = new Map<string, LayerEdit>();
  for (const p of pairs) {
    const conv = model.getLayer(p.producer);
    const bn = bnWeights(model.getLayer(p.batchNorm));
    const [kernel, bias] = conv.getWeights();
    const weights = foldBatchNormWeights(kernel, bias ?? null, bn, bn.epsilon);
    owned.push(...weights);
    const config = { ...conv.getConfig(), useBias: true };
    edits.set(p.producer, {
      replace: [{ className: conv.getClassName(), config, weights }],
      note: `folded ${p.batchNorm}`,
    });
    edits.set(p.batchNorm, { remove: true, note: `folded into ${p.producer}` });
  }
  try {
    return { model: rewriteModel(model, edits).model, folded: pairs };
  } finally {
    tf.dispose(owned);
  }
}
