import * as tf from '@tensorflow/tfjs';
import { type AddWeight, AttentionProjections, groupedAttention } from './attention-parts.js';
import { configWith } from './layer-config.js';
import { fromSeededConfig } from './seeded-config.js';

export interface GroupedAttentionArgs {
  numHeads: number;
  /** Decoder-style attention: position i attends only to positions <= i. */
  causal?: boolean;
  seed?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Base of the self-attention layers over [batch, length, dModel] computed by `groupedAttention`
 * (MultiHeadSelfAttention, GqkvaAttention): `numHeads` heads from `queryGroups` query and
 * `kvGroups` key/value projections. Weights: query, key, value and output projections (kernel,
 * bias), in that order.
 */
export abstract class GroupedAttentionLayer extends tf.layers.Layer {
  readonly numHeads: number;
  readonly causal: boolean;
  readonly seed: number | undefined;
  private readonly projections = new AttentionProjections();

  constructor(args: GroupedAttentionArgs) {
    super(args);
    this.numHeads = args.numHeads;
    this.causal = args.causal ?? false;
    this.seed = args.seed;
  }

  /** The query and key/value projection counts. */
  protected abstract groups(): { queryGroups: number; kvGroups: number };

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const add: AddWeight = (n, shape, init) => this.addWeight(n, shape, 'float32', init);
    const heads = { numHeads: this.numHeads, ...this.groups() };
    this.projections.build(add, this.name, inputShape, heads, this.seed);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    const { w, bias } = this.projections.read();
    const { queryGroups, kvGroups } = this.groups();
    return groupedAttention(x, w, bias, this.numHeads, queryGroups, kvGroups, this.causal);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['numHeads', 'causal'], { seed: this.seed ?? null });
  }

  static override fromConfig = fromSeededConfig;
}
