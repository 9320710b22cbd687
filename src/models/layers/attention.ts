import * as tf from '@tensorflow/tfjs';

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
    const shape = inputShape as tf.Shape;
    const d = shape[shape.length - 1];
    if (d == null || d % this.numHeads !== 0) {
      throw new Error(
        `${this.name}: model width ${d} is not divisible by numHeads ${this.numHeads}`,
      );
    }
    ['query', 'key', 'value', 'output'].forEach((n, i) => {
      const seed = this.seed === undefined ? undefined : this.seed + i;
      this.kernels.push(
        this.addWeight(`${n}_kernel`, [d, d], 'float32', tf.initializers.glorotUniform({ seed })),
      );
      this.biases.push(this.addWeight(`${n}_bias`, [d], 'float32', tf.initializers.zeros()));
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [b, l, d] = x.shape;
      const h = this.numHeads;
      const dh = d / h;
      const flat = x.reshape([b * l, d]);
      const project = (i: number) =>
        tf.add(tf.matMul(flat, this.kernels[i].read() as tf.Tensor2D), this.biases[i].read());
      const heads = (t: tf.Tensor) => t.reshape([b, l, h, dh]).transpose([0, 2, 1, 3]);
      const q = heads(project(0));
      const k = heads(project(1));
      const v = heads(project(2));
      let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
      if (this.causal) {
        const mask = tf.linalg.bandPart(tf.ones([l, l]), -1, 0);
        scores = tf.add(scores, tf.mul(tf.sub(1, mask), -1e9));
      }
      const attended = tf
        .matMul(tf.softmax(scores), v)
        .transpose([0, 2, 1, 3])
        .reshape([b * l, d]);
      const out = tf.add(
        tf.matMul(attended, this.kernels[3].read() as tf.Tensor2D),
        this.biases[3].read(),
      );
      return out.reshape([b, l, d]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numHeads: this.numHeads,
      causal: this.causal,
      seed: this.seed ?? null,
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls({ ...config, seed: config.seed ?? undefined });
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

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls({ ...config, seed: config.seed ?? undefined });
  }
}
tf.serialization.registerClass(PositionEmbedding);
