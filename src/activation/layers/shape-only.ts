import * as tf from '@tensorflow/tfjs';
import { type AddWeight, addPositionTable } from '../../models/layers/attention-parts.js';
import { compressedOp } from '../backward/custom-grad.js';
import { isDonated } from '../execution/donated-inputs.js';
import { sliceRows } from '../execution/row-chunks.js';
import { overwriteRows } from '../execution/row-writer.js';
import { CompressedLayer, type CompressedLayerArgs, single } from './compressed-layer.js';

/**
 * Layers whose gradient needs only shapes. tfjs's own Add, Reshape and Mean gradients keep their
 * inputs alive on the tape (and the wasm backend copies them); these keep nothing.
 */
export class NoSaveAdd extends CompressedLayer {
  static className = 'FrugalNoSaveAdd';

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (inputShape as tf.Shape[])[0];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const xs = Array.isArray(inputs) ? inputs : [inputs];
      for (const x of xs)
        if (!tf.util.arraysEqual(x.shape, xs[0].shape))
          throw new Error(
            `${this.name}: inputs must have equal shapes, got [${x.shape}] and [${xs[0].shape}]`,
          );
      // The sum is written over an input the caller frees next, where that is allowed.
      const over = xs.find((x) => isDonated(x) && xs.indexOf(x) === xs.lastIndexOf(x));
      return compressedOp(xs, () => ({
        value:
          (over
            ? overwriteRows(over, (r, first) =>
                tf.addN(xs.map((x) => (x === over ? r : sliceRows(x, first, r.shape[0])))),
              )
            : null) ?? tf.addN(xs),
        // Views of dy (a reshape shares the buffer on every backend; clone copies on wasm): each
        // consumer frees its view, and the buffer goes with the last one.
        gradFunc: (dy) => xs.map(() => tf.reshape(dy, dy.shape)),
      }));
    });
  }
}
tf.serialization.registerClass(NoSaveAdd);

/** Flatten to [batch, -1] keeping nothing for backward. */
export class NoSaveFlatten extends CompressedLayer {
  static className = 'FrugalNoSaveFlatten';

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    const rest = s.slice(1);
    return [
      s[0],
      rest.some((d) => d == null) ? null : (rest as number[]).reduce((a, b) => a * b, 1),
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      return compressedOp([x], () => ({
        value: tf.reshape(x, [x.shape[0], -1]),
        gradFunc: (dy) => [tf.reshape(dy, x.shape)],
      }));
    });
  }
}
tf.serialization.registerClass(NoSaveFlatten);

/** Global average pooling over every axis between batch and channels, keeping nothing. */
export class NoSaveGlobalAveragePooling extends CompressedLayer {
  static className = 'FrugalNoSaveGlobalAveragePooling';

  constructor(args: CompressedLayerArgs = {}) {
    super(args);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    return [s[0], s[s.length - 1]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const axes = x.shape.map((_, i) => i).slice(1, -1);
      const count = axes.reduce((a, i) => a * x.shape[i], 1);
      const inner = [x.shape[0], ...axes.map(() => 1), x.shape[x.rank - 1]];
      return compressedOp([x], () => ({
        value: tf.mean(x, axes),
        gradFunc: (dy) => [tf.broadcastTo(tf.div(dy, count).reshape(inner), x.shape)],
      }));
    });
  }
}
tf.serialization.registerClass(NoSaveGlobalAveragePooling);

/** frugal's PositionEmbedding (adds a learned [length, d] table) keeping nothing for backward. */
export class NoSavePositionEmbedding extends CompressedLayer {
  static className = 'FrugalNoSavePositionEmbedding';
  readonly seed: number | undefined;
  private table?: tf.LayerVariable;

  constructor(args: CompressedLayerArgs & { seed?: number | null } = {}) {
    super(args);
    this.seed = args.seed ?? undefined;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const add: AddWeight = (n, shape, init) => this.addWeight(n, shape, 'float32', init);
    this.table = addPositionTable(add, this.name, inputShape, this.seed);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const t = this.table!.read();
      return compressedOp([x, t], () => ({
        value: tf.add(x, t),
        gradFunc: (dy) => [tf.clone(dy), tf.sum(dy, 0)],
      }));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed ?? null };
  }
}
tf.serialization.registerClass(NoSavePositionEmbedding);
