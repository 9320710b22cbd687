import * as tf from '@tensorflow/tfjs';
import {
  type AddWeight,
  addProjections,
  attentionWidth,
  groupedAttention,
} from './attention-parts.js';
import { fromSeededConfig } from './seeded-config.js';

export interface MultiHeadSelfAttentionArgs {
  numHeads: number;
  /** Decoder-style attention: position i attends only to positions <= i. */
  causal?: boolean;
  seed?: number;
  name?: string;
  trainable?: boolean;
}

/**
 * Multi-head self-attention over [batch, length, dModel] (tfjs layers has none). Weights: query,
 * key, value and output projections [dModel, dModel] with biases.
 */
export class MultiHeadSelfAttention extends tf.layers.Layer {
  static className = 'FrugalMultiHeadSelfAttention';
  readonly numHeads: number;
  readonly causal: boolean;
  readonly seed: number | undefined;
  private kernels: tf.LayerVariable[] = [];
  private biases: tf.LayerVariable[] = [];

  constructor(args: MultiHeadSelfAttentionArgs) {
    super(args);
    if (!Number.isInteger(args.numHeads) || args.numHeads < 1) {
      throw new Error(`numHeads must be a positive integer, got ${args.numHeads}`);
    }
    this.numHeads = args.numHeads;
    this.causal = args.causal ?? false;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = attentionWidth(this.name, inputShape as tf.Shape, this.numHeads);
    const add: AddWeight = (n, shape, init) => this.addWeight(n, shape, 'float32', init);
    ({ kernels: this.kernels, biases: this.biases } = addProjections(
      add,
      d,
      [d, d, d, d],
      this.seed,
    ));
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    const w = this.kernels.map((k) => k.read() as tf.Tensor2D);
    const bias = this.biases.map((v) => v.read());
    const h = this.numHeads;
    return groupedAttention(x, w, bias, h, h, h, this.causal);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      causal: this.causal,
      seed: this.seed ?? null,
    };
  }

  static override fromConfig = fromSeededConfig;
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
