import * as tf from '@tensorflow/tfjs';

/**
 * Gradient of Tile as one reshape and one sum: dy [r0*s0, r1*s1, ...] viewed as
 * [r0, s0, r1, s1, ...] summed over the repetition axes. Stock tfjs adds one slice of dy per
 * repetition (a layer-norm's tiled gamma over a [64, 28, 64] activation is 1,792 slices and adds,
 * most of the zoo Transformer's backward time), and supports rank <= 4 only.
 */
export const tileGradConfig: tf.GradConfig = {
  kernelName: 'Tile',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const reps = attrs.reps as number[];
    const g = dy as tf.Tensor;
    return {
      x: () => {
        const split = x.shape.flatMap((s, i) => [reps[i], s]);
        const repAxes = x.shape.map((_, i) => 2 * i).filter((_, i) => reps[i] !== 1);
        if (repAxes.length === 0) return g.clone();
        return tf.sum(g.reshape(split), repAxes).reshape(x.shape);
      },
    };
  },
};
