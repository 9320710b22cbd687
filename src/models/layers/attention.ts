import * as tf from '@tensorflow/tfjs';
import { type AddWeight, addPositionTable } from './attention-parts.js';
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
    const add: AddWeight = (n, shape, init) => this.addWeight(n, shape, 'float32', init);
    this.table = addPositionTable(add, this.name, inputShape, this.seed);
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
