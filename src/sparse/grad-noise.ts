/**
 * The variance that MVUE 1:2 masking of dz (along the batch, as SparseGradDense / SparseGradConv2D
 * prune it) adds to a weight gradient, in closed form. A group is the pair of samples (2i, 2i+1)
 * at one output position and channel, values a and b: MVUE keeps a with probability
 * |a| / (|a| + |b|) as sign(a)(|a| + |b|), else b likewise. Its error on the filter entry that
 * multiplies the inputs x_a, x_b is |b|(s_a x_a - s_b x_b) or -|a|(s_a x_a - s_b x_b) (s = sign),
 * so its variance is |ab| (s_a x_a - s_b x_b)^2 = |ab| (x_a^2 + x_b^2) - 2 ab x_a x_b. Groups are
 * drawn independently, so the weight gradient's variance is the sum of that over the groups: three
 * weight-gradient products of the even and odd samples,
 *   Var dW = G(x_e^2, |ab|) + G(x_o^2, |ab|) - 2 G(x_e x_o, ab),
 * G the layer's weight-gradient product (x^T dz for Dense, Conv2DBackpropFilter for Conv2D). An
 * odd last sample is a padded group whose value is always kept: it adds nothing and is dropped.
 */
import * as tf from '@tensorflow/tfjs';

/** The even and odd samples (pairs 2i, 2i+1) of `t` along axis 0, an odd last one dropped. */
function halves(t: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const pairs = Math.floor(t.shape[0] / 2);
  if (pairs === 0) throw new Error(`grad-noise: a batch of ${t.shape[0]} has no pair to mask`);
  const rest = t.shape.slice(1);
  const r = t.slice(0, 2 * pairs).reshape([pairs, 2, ...rest]);
  const e = r.slice([0, 0], [pairs, 1]).reshape([pairs, ...rest]);
  const o = r.slice([0, 1], [pairs, 1]).reshape([pairs, ...rest]);
  return [e, o];
}

function combine(
  x: tf.Tensor,
  dz: tf.Tensor,
  product: (xs: tf.Tensor, d: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    const [xe, xo] = halves(x);
    const [ae, ao] = halves(dz);
    const ab = tf.mul(ae, ao);
    const absAb = tf.abs(ab);
    return tf.sub(
      tf.add(product(tf.square(xe), absAb), product(tf.square(xo), absAb)),
      tf.mul(2, product(tf.mul(xe, xo), ab)),
    );
  });
}

/** Per-entry variance of a Dense kernel gradient x^T dz ([in, out]) under MVUE 1:2 on dz. */
export function mvue12DenseGradVariance(x: tf.Tensor2D, dz: tf.Tensor2D): tf.Tensor2D {
  if (x.shape[0] !== dz.shape[0])
    throw new Error(`grad-noise: x has ${x.shape[0]} samples, dz ${dz.shape[0]}`);
  return combine(x, dz, (xs, d) =>
    tf.matMul(xs as tf.Tensor2D, d as tf.Tensor2D, true, false),
  ) as tf.Tensor2D;
}

/** Per-entry variance of a Conv2D (NHWC) filter gradient under MVUE 1:2 on dz. */
export function mvue12ConvGradVariance(
  x: tf.Tensor4D,
  dz: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: 'same' | 'valid',
): tf.Tensor4D {
  if (x.shape[0] !== dz.shape[0])
    throw new Error(`grad-noise: x has ${x.shape[0]} samples, dz ${dz.shape[0]}`);
  return combine(
    x,
    dz,
    (xs, d) =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy: d }, {
        strides,
        pad,
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
  ) as tf.Tensor4D;
}
