import * as tf from '@tensorflow/tfjs';
import { configWith } from '../../models/layers/layer-config.js';
import type { IntLinear } from '../../wasm/int-linear.js';
import { packCodes } from '../quantize/pack.js';
import { integerGap, intLinearOf, unsignedCodes } from './int-kernel.js';
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
  /**
   * The integer kernel in wasm memory while the layer runs on it. Its codes then live there
   * only: the codes variable's tensor is disposed ("released") and re-created from wasm memory
   * when something reads or writes it (getWeights, save), then released again at the next call.
   */
  private int: { lin: IntLinear; codesId: unknown; others: unknown[] } | null = null;
  private codesReleased = false;

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
    if (this.codec.bits > 0) this.guardCodes(this.packedWeights[0]);
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

  /** Why this layer runs on the decoded float path now, or null when it runs on integers. */
  integerGap(): string | null {
    return integerGap(this.codec);
  }

  /** Bytes the layer's integer kernel holds in wasm memory (0 when it has none). */
  get integerKernelBytes(): number {
    return this.int ? this.int.lin.bytes : 0;
  }

  /** Reads and writes of a released codes variable first re-create its tensor from wasm. */
  private guardCodes(v: tf.LayerVariable): void {
    const read = v.read.bind(v);
    const write = v.write.bind(v);
    const dispose = v.dispose.bind(v);
    v.read = () => {
      this.restoreCodes();
      return read();
    };
    v.write = (t: tf.Tensor) => {
      this.restoreCodes();
      return write(t);
    };
    v.dispose = () => {
      if (this.codesReleased) this.codesReleased = false;
      else dispose();
    };
  }

  private codesVar(): { val: tf.Variable } {
    return this.packedWeights[0] as unknown as { val: tf.Variable };
  }

  private restoreCodes(): void {
    if (!this.codesReleased || !this.int) return;
    const v = this.packedWeights[0];
    const words = packCodes(unsignedCodes(this.int.lin, this.codec.bits), this.codec.bits);
    const t = tf.tensor(words, v.shape as number[], 'int32');
    const val = tf.variable(t, false, v.name, 'int32');
    t.dispose();
    this.codesVar().val = val;
    this.codesReleased = false;
    this.int.codesId = val.dataId;
  }

  private releaseCodes(): void {
    if (this.codesReleased) return;
    this.codesVar().val.dispose();
    this.codesReleased = true;
  }

  /**
   * The layer's integer kernel, built (or rebuilt after its weights changed) on first use; the
   * codes variable is released so the running layer holds its codes once, in wasm memory.
   */
  protected integerKernel(): IntLinear {
    const others = [...this.packedWeights.slice(1), ...(this.bias ? [this.bias] : [])].map(
      (w) => w.read().dataId,
    );
    const codesId = this.codesReleased ? this.int?.codesId : this.codesVar().val.dataId;
    const cur = this.int;
    if (
      !cur ||
      cur.codesId !== codesId ||
      cur.others.length !== others.length ||
      cur.others.some((d, i) => d !== others[i])
    ) {
      const [codes, scale, offset] = this.packedWeights.map(
        (w) => w.read().dataSync() as Int32Array | Float32Array,
      );
      const lin = intLinearOf(
        codes,
        scale,
        offset,
        this.kernelShape,
        this.codec,
        this.biasValues(),
      );
      this.dropInteger();
      this.int = { lin, codesId: this.codesVar().val.dataId, others };
      this.dropCache();
    }
    this.releaseCodes();
    return (this.int as { lin: IntLinear }).lin;
  }

  private dropInteger(): void {
    if (!this.int) return;
    this.restoreCodes();
    this.int.lin.dispose();
    this.int = null;
  }

  /**
   * The integer kernel when the layer runs on integers now (else null), with its fused ReLU, or
   * `finish` for an activation the kernel does not fuse (softmax, ...: applied by tfjs to the
   * kernel's output, as `call` does): the whole-model integer plan's view of the layer
   * (src/compress/packed/integer-plan.ts).
   */
  integerStep(): {
    lin: IntLinear;
    relu: boolean;
    finish: ((y: tf.Tensor) => tf.Tensor) | null;
  } | null {
    if (this.integerGap() !== null) return null;
    const fused = this.fusedRelu;
    return {
      lin: this.integerKernel(),
      relu: fused === true,
      finish: fused === null ? (y) => this.finishInteger(y) : null,
    };
  }

  /** Whether the activation is fused into the integer kernel's epilogue. */
  protected get fusedRelu(): boolean | null {
    if (this.activationName === 'relu') return true;
    if (this.activationName === 'linear') return false;
    return null;
  }

  /** The unfused activation of an integer kernel's output. */
  protected finishInteger(y: tf.Tensor): tf.Tensor {
    return this.fusedRelu === null ? (this.activationLayer.apply(y) as tf.Tensor) : y;
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    this.dropCache();
    const result = super.dispose();
    if (result.refCountAfterDispose === 0 && this.int) {
      this.int.lin.dispose();
      this.int = null;
      this.codesReleased = false;
    }
    return result;
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
    return configWith(super.getConfig(), this, ['kernelShape', 'useBias', 'cacheDecoded'], {
      codec: { ...this.codec },
      activation: this.activationName,
    });
  }
}
