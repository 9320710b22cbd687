import * as tf from '@tensorflow/tfjs';
import { configWith } from '../../models/layers/layer-config.js';
import { dequantizeRowwise, quantizeRowwise } from '../quantize/embedding-rowwise.js';
import { packedWords } from '../quantize/pack.js';

export interface QuantizedEmbeddingArgs {
  inputDim: number;
  outputDim: number;
  bits?: number;
  name?: string;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

/**
 * Embedding whose table is stored row-wise quantized (default 4-bit codes + an fp16 scale and
 * bias per row, all in int32 words). Looks rows up from the decoded table (cached as a tensor
 * until the stored weights change).
 */
export class QuantizedEmbedding extends tf.layers.Layer {
  static className = 'FrugalQuantizedEmbedding';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly bits: number;
  private codes: tf.LayerVariable | null = null;
  private scaleBias: tf.LayerVariable | null = null;
  private cached: { table: tf.Tensor2D; sources: unknown[] } | null = null;

  constructor(args: QuantizedEmbeddingArgs) {
    super({ ...args, trainable: false });
    for (const [k, v] of [
      ['inputDim', args.inputDim],
      ['outputDim', args.outputDim],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`QuantizedEmbedding: ${k} must be a positive integer, got ${v}`);
    }
    this.inputDim = args.inputDim;
    this.outputDim = args.outputDim;
    this.bits = args.bits ?? 4;
    if (!Number.isInteger(this.bits) || this.bits < 2 || this.bits > 8)
      throw new Error(`QuantizedEmbedding: bits must be an integer from 2 to 8, got ${this.bits}`);
  }

  override build(): void {
    const zeros = tf.initializers.zeros();
    this.codes = this.addWeight(
      'codes',
      [packedWords(this.inputDim * this.outputDim, this.bits)],
      'int32',
      zeros,
      undefined,
      false,
    );
    this.scaleBias = this.addWeight(
      'scale_bias',
      [this.inputDim],
      'int32',
      zeros,
      undefined,
      false,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [...(inputShape as tf.Shape), this.outputDim];
  }

  /** Quantizes a float table [inputDim, outputDim] into this layer (greedy row ranges). */
  setTable(table: ArrayLike<number>): void {
    const q = quantizeRowwise(table, this.inputDim, this.outputDim, { bits: this.bits });
    const tensors = [tf.tensor1d(q.codes, 'int32'), tf.tensor1d(q.scaleBias, 'int32')];
    this.setWeights(tensors);
    tf.dispose(tensors);
  }

  tableValues(): Float32Array {
    if (!this.codes || !this.scaleBias)
      throw new Error(`QuantizedEmbedding '${this.name}' is not built`);
    return dequantizeRowwise({
      rows: this.inputDim,
      dim: this.outputDim,
      bits: this.bits,
      codes: this.codes.read().dataSync() as Int32Array,
      scaleBias: this.scaleBias.read().dataSync() as Int32Array,
    });
  }

  private table(): tf.Tensor2D {
    const sources = [this.codes?.read().dataId, this.scaleBias?.read().dataId];
    if (this.cached?.sources.every((s, i) => s === sources[i])) return this.cached.table;
    this.cached?.table.dispose();
    const table = tf.keep(tf.tensor2d(this.tableValues(), [this.inputDim, this.outputDim]));
    this.cached = { table, sources };
    return table;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const ids = (Array.isArray(inputs) ? inputs[0] : inputs).toInt();
      const flat = tf.gather(this.table(), ids.flatten());
      return flat.reshape([...ids.shape, this.outputDim]);
    });
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    this.cached?.table.dispose();
    this.cached = null;
    return super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['inputDim', 'outputDim', 'bits']);
  }
}
tf.serialization.registerClass(QuantizedEmbedding);
