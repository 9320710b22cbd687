import * as tf from '@tensorflow/tfjs';
import { configWith } from '../layers/layer-config.js';
import { fromSeededConfig } from '../layers/seeded-config.js';
import { gatherRows } from './row-gather.js';

type Args = { seed?: number; name?: string; trainable?: boolean };

/** Prepends a learned class token [dModel] to [batch, tokens, dModel]: [batch, tokens + 1, dModel]. */
export class ClassToken extends tf.layers.Layer {
  static className = 'FrugalClassToken';
  readonly seed: number | undefined;
  private token: tf.LayerVariable | undefined;

  constructor(args: Args = {}) {
    super(args);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const d = shape[shape.length - 1];
    if (shape.length !== 3 || d == null)
      throw new Error(`${this.name}: needs [batch, tokens, width] inputs, got [${shape}]`);
    this.token = this.addWeight(
      'token',
      [1, 1, d],
      'float32',
      tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: this.seed }),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    return [s[0], s[1] == null ? null : s[1] + 1, s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const t = tf.tile(this.token!.read(), [x.shape[0], 1, 1]);
      return tf.concat([t, x], 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed ?? null };
  }

  static override fromConfig = fromSeededConfig;
}
tf.serialization.registerClass(ClassToken);

/** Takes the class token (position 0) of [batch, tokens, dModel]: [batch, dModel]. */
export class ClassTokenPool extends tf.layers.Layer {
  static className = 'FrugalClassTokenPool';

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    return [s[0], s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [b, , d] = x.shape;
      return x.slice([0, 0, 0], [b, 1, d]).reshape([b, d]);
    });
  }
}
tf.serialization.registerClass(ClassTokenPool);

/**
 * Token embedding with the output projection tied to it (GPT-2): applied to token ids
 * [batch, length] it returns their embeddings [batch, length, dModel]; applied (as the same
 * layer, shared) to hidden states [batch, length, dModel] it returns logits h E^T
 * [batch, length, vocab]. One table E [vocab, dModel] serves both.
 */
export class TiedEmbedding extends tf.layers.Layer {
  static className = 'FrugalTiedEmbedding';
  readonly vocabSize: number;
  readonly dModel: number;
  readonly seed: number | undefined;
  private table: tf.LayerVariable | undefined;

  constructor(args: Args & { vocabSize: number; dModel: number }) {
    super(args);
    for (const k of ['vocabSize', 'dModel'] as const) {
      if (!Number.isInteger(args[k]) || args[k] < 1)
        throw new Error(`TiedEmbedding: ${k} must be a positive integer, got ${args[k]}`);
    }
    this.vocabSize = args.vocabSize;
    this.dModel = args.dModel;
    this.seed = args.seed;
  }

  override build(): void {
    this.table = this.addWeight(
      'embedding',
      [this.vocabSize, this.dModel],
      'float32',
      tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: this.seed }),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    if (s.length === 2) return [s[0], s[1], this.dModel];
    if (s.length === 3) return [s[0], s[1], this.vocabSize];
    throw new Error(`${this.name}: takes ids [batch, length] or hidden states [batch, length, d]`);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const e = this.table!.read() as tf.Tensor2D;
      if (x.rank === 2) {
        const [b, l] = x.shape;
        return gatherRows(e, x.toInt().reshape([b * l]) as tf.Tensor1D).reshape([
          b,
          l,
          this.dModel,
        ]);
      }
      const [b, l, d] = x.shape;
      return tf
        .matMul(x.reshape([b * l, d]) as tf.Tensor2D, e, false, true)
        .reshape([b, l, this.vocabSize]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['vocabSize', 'dModel'], {
      seed: this.seed ?? null,
    });
  }

  static override fromConfig = fromSeededConfig;
}
tf.serialization.registerClass(TiedEmbedding);
