import * as tf from '@tensorflow/tfjs';
import {
  checkCodec,
  codecWeightSpecs,
  decodeKernel,
  type EncodedKernel,
  type KernelCodec,
} from './kernel-codec.js';

export interface PackedLayerArgs {
  /** Kernel shape as the float layer had it ([in, out] or [kh, kw, in, out]). */
  kernelShape: number[];
  codec: KernelCodec;
  useBias?: boolean;
  /** Any tfjs activation name ('linear', 'relu', 'gelu', ...). */
  activation?: string;
  /**
   * Keep the decoded float kernel as a tensor between calls (default true): inference as fast as
   * the float layer, at the float kernel's memory. False decodes on every call.
   */
  cacheDecoded?: boolean;
  name?: string;
  trainable?: boolean;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
}

/**
 * Shared part of layers whose kernel is stored packed (quantized codes and/or N:M values). The
 * weights are the codec's arrays then the bias; `call` decodes the kernel (exact integer
 * unpacking in JS, which every backend can feed) and runs the float op. Packed weights are not
 * trainable; fine-tune before packing. The decoded kernel is cached (a tfjs tensor, so memory
 * meters see it) until the packed weights change, unless `cacheDecoded` is false.
 */
export abstract class PackedLayerBase extends tf.layers.Layer {
  readonly kernelShape: number[];
  readonly codec: KernelCodec;
  readonly useBias: boolean;
  readonly activationName: string;
  protected readonly activationLayer: tf.layers.Layer;
  protected packedWeights: tf.LayerVariable[] = [];
  protected bias: tf.LayerVariable | null = null;
  readonly cacheDecoded: boolean;
  private cached: { kernel: tf.Tensor; sources: unknown[] } | null = null;

  constructor(args: PackedLayerArgs) {
    super({ ...args, trainable: false });
    const where = `${this.getClassName()} '${this.name}'`;
    if (
      !Array.isArray(args.kernelShape) ||
      args.kernelShape.some((d) => !Number.isInteger(d) || d < 1)
    ) {
      throw new Error(`${where}: kernelShape must be positive integers, got ${args.kernelShape}`);
    }
    checkCodec(args.codec, where);
    this.kernelShape = [...args.kernelShape];
    this.codec = { ...args.codec };
    this.useBias = args.useBias ?? true;
    this.activationName = args.activation ?? 'linear';
    this.cacheDecoded = args.cacheDecoded ?? true;
    this.activationLayer = tf.layers.activation({
      activation: this.activationName as 'linear',
    });
  }

  get outChannels(): number {
    return this.kernelShape[this.kernelShape.length - 1];
  }

  get inChannels(): number {
    return this.kernelShape[this.kernelShape.length - 2];
  }

  protected addPackedWeights(): void {
    this.packedWeights = codecWeightSpecs(this.codec, this.kernelShape).map((s) =>
      this.addWeight(s.name, s.shape, s.dtype, tf.initializers.zeros(), undefined, false),
    );
    if (this.useBias) {
      this.bias = this.addWeight(
        'bias',
        [this.outChannels],
        'float32',
        tf.initializers.zeros(),
        undefined,
        false,
      );
    }
  }

  /** The decoded float kernel (pruned weights are 0). */
  kernelValues(): Float32Array {
    return decodeKernel(
      this.packedWeights.map((w) => w.read().dataSync() as Float32Array | Int32Array),
      this.kernelShape,
      this.codec,
    );
  }

  /** The decoded kernel as a tensor of `kernelShape` (the cached one while weights are unchanged). */
  protected kernelTensor(): tf.Tensor {
    const sources = this.packedWeights.map((w) => w.read().dataId);
    const c = this.cached;
    if (c && c.sources.length === sources.length && c.sources.every((s, i) => s === sources[i])) {
      return c.kernel;
    }
    const kernel = tf.tensor(this.kernelValues(), this.kernelShape);
    if (!this.cacheDecoded) return kernel;
    this.dropCache();
    this.cached = { kernel: tf.keep(kernel), sources };
    return kernel;
  }

  private dropCache(): void {
    this.cached?.kernel.dispose();
    this.cached = null;
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    this.dropCache();
    return super.dispose();
  }

  /** Sets the packed arrays (from `encodeKernel`) and the bias. */
  setPacked(encoded: EncodedKernel, bias?: Float32Array): void {
    const tensors = encoded.map((a, i) =>
      tf.tensor(
        a,
        this.packedWeights[i].shape as number[],
        a instanceof Int32Array ? 'int32' : 'float32',
      ),
    );
    if (this.useBias) tensors.push(tf.tensor1d(bias ?? new Float32Array(this.outChannels)));
    this.setWeights(tensors);
    tf.dispose(tensors);
  }

  biasValues(): Float32Array | null {
    return this.bias ? (this.bias.read().dataSync() as Float32Array) : null;
  }

  protected finish(y: tf.Tensor): tf.Tensor {
    const withBias = this.bias ? tf.add(y, this.bias.read()) : y;
    return this.activationLayer.apply(withBias) as tf.Tensor;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      kernelShape: this.kernelShape,
      codec: { ...this.codec },
      useBias: this.useBias,
      activation: this.activationName,
      cacheDecoded: this.cacheDecoded,
    };
  }
}
