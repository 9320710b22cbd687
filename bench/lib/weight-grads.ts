import * as tf from '@tensorflow/tfjs';

/**
 * The softmax cross-entropy gradients (model applied in training mode to `x`, one-hot labels `y`)
 * of the trainable weights of `model` that `keep` selects (all unless told), keyed by each
 * weight's original name (`layer/kernel`), as arrays; no tensor is left behind.
 */
export function weightGrads(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  keep: (w: tf.LayerVariable) => boolean = () => true,
): Map<string, Float32Array> {
  const ws = model.trainableWeights.filter(keep);
  const vars = ws.map((w) => w.read() as tf.Variable);
  const { grads, value } = tf.variableGrads(
    () =>
      tf.losses.softmaxCrossEntropy(
        y,
        model.apply(x, { training: true }) as tf.Tensor,
      ) as tf.Scalar,
    vars,
  );
  const out = new Map<string, Float32Array>();
  ws.forEach((w, i) => {
    out.set(w.originalName, grads[vars[i].name].dataSync() as Float32Array);
  });
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}
