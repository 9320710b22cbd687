import * as tf from '@tensorflow/tfjs';
import { type GroupedAttentionArgs, GroupedAttentionLayer } from './grouped-attention-layer.js';
import { fromSeededConfig } from './seeded-config.js';

export type MultiHeadSelfAttentionArgs = GroupedAttentionArgs;

/**
 * Multi-head self-attention over [batch, length, dModel] (tfjs layers has none). Weights: query,
 * key, value and output projections [dModel, dModel] with biases.
 */
export class MultiHeadSelfAttention extends GroupedAttentionLayer {
  static className = 'FrugalMultiHeadSelfAttention';

  constructor(args: MultiHeadSelfAttentionArgs) {
    if (!Number.isInteger(args.numHeads) || args.numHeads < 1) {
      throw new Error(`numHeads must be a positive integer, got ${args.numHeads}`);
    }
    super(args);
  }

  /** One query and one key/value projection per head. */
  protected override groups(): { queryGroups: number; kvGroups: number } {
    return { queryGroups: this.numHeads, kvGroups: this.numHeads };
  }
}
tf.serialization.registerClass(MultiHeadSelfAttention);

/** Adds a learned position embedding [length, dModel] to [batch, length, dModel] inputs. */
export class PositionEmbedding extends tf.layers.Layer {
  static className = 'FrugalPositionEmbedding';
  readonly seed: number | undefined;
  private table: tf.LayerVariable | undefined;

  constructor(args: { seed?: number; name?: string; trainable?: boolean } = {}) {
    super(args);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const [l, d] = [shape[1], shape[2]];
    if (l == null || d == null)
      throw new Error(`${this.name}: needs a fixed sequence length and width`);
    this.table = this.addWeight(
      'embedding',
      [l, d],
      'float32',
      tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: this.seed }),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(Array.isArray(inputs) ? inputs[0] : inputs, this.table!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed ?? null };
  }

  static override fromConfig = fromSeededConfig;
}
tf.serialization.registerClass(PositionEmbedding);
