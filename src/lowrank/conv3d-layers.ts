// Trainable layers for video on 4D tensors: an exact Conv3D replacement (the kernel is stored in
// its 2D form [kh, kw, kd*Cin, Cout]) and the spatial/temporal split block of arXiv 2407.16514
// (2D spatial conv on [B*T, H, W, C], temporal conv on [B, T, H*W, F], Add or Cat fusion).
import * as tf from '@tensorflow/tfjs';
import {
  type Conv3dOptions,
  checkPadding,
  conv3dAs2dWith2dKernel,
  conv3dKernelTo2d,
  type Triple,
  triple,
} from './conv3d.js';

type Activation = 'linear' | 'relu';

function act(x: tf.Tensor, a: Activation): tf.Tensor {
  return a === 'relu' ? tf.relu(x) : x;
}

function checkActivation(name: string, a: unknown): Activation {
  if (a !== 'linear' && a !== 'relu')
    throw new Error(`${name}: activation must be 'linear' or 'relu', got ${JSON.stringify(a)}`);
  return a;
}

/** What both layers take besides their own fields. */
interface CommonArgs {
  activation?: Activation;
  seed?: number;
  name?: string;
  inputShape?: tf.Shape;
  trainable?: boolean;
}

/** A layer's own fields as stored: every one resolved (defaults filled in), the seed optional. */
type StoredArgs<A> = Required<Omit<A, keyof CommonArgs>> & {
  activation: Activation;
  seed?: number;
};

export interface Conv3dAs2dArgs extends CommonArgs {
  filters: number;
  kernelSize: Triple;
  strides?: Triple;
  padding?: 'valid' | 'same';
  dilations?: Triple;
  useBias?: boolean;
}

/** Conv3D on [B, D, H, W, C] computed by one conv2d on 4D tensors (see conv3dAs2d). */
export class Conv3dAs2d extends tf.layers.Layer {
  static className = 'FrugalConv3dAs2d';
  readonly args: StoredArgs<Conv3dAs2dArgs>;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: Conv3dAs2dArgs) {
    super(args);
    const name = args.name ?? 'conv3dAs2d';
    if (!Number.isInteger(args.filters) || args.filters < 1)
      throw new Error(`${name}: filters must be a positive integer, got ${args.filters}`);
    if (
      !Array.isArray(args.kernelSize) ||
      args.kernelSize.length !== 3 ||
      args.kernelSize.some((k) => !Number.isInteger(k) || k < 1)
    )
      throw new Error(`${name}: kernelSize must be [kd, kh, kw] positive integers`);
    this.args = {
      filters: args.filters,
      kernelSize: args.kernelSize,
      strides: triple(args.strides, 'strides', name),
      padding: checkPadding(args.padding, name),
      dilations: triple(args.dilations, 'dilations', name),
      activation: checkActivation(name, args.activation ?? 'linear'),
      useBias: args.useBias ?? true,
      seed: args.seed,
    };
  }

  private opts(): Conv3dOptions {
    return {
      strides: this.args.strides,
      padding: this.args.padding,
      dilations: this.args.dilations,
    };
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    if (shape.length !== 5 || shape[4] == null)
      throw new Error(
        `${this.name}: input must be [batch, depth, height, width, channels], got [${shape}]`,
      );
    const [kd, kh, kw] = this.args.kernelSize;
    const cin = shape[4] as number;
    this.kernel = this.addWeight(
      'kernel',
      [kh, kw, kd * cin, this.args.filters],
      'float32',
      tf.initializers.glorotUniform({ seed: this.args.seed }),
    );
    if (this.args.useBias)
      this.bias = this.addWeight('bias', [this.args.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  /** Sets the weights from a tf.layers.conv3d's [kernel [kd,kh,kw,Cin,Cout], bias?]. */
  setConv3dWeights(weights: tf.Tensor[]): void {
    if (!this.kernel) throw new Error(`${this.name}: setConv3dWeights before build`);
    const [kh, kw, kc, cout] = this.kernel.shape as number[];
    const [kd] = this.args.kernelSize;
    const want = [kd, kh, kw, kc / kd, cout];
    const n = this.args.useBias ? 2 : 1;
    if (weights.length !== n)
      throw new Error(
        `${this.name}: setConv3dWeights takes ${n === 2 ? '[kernel, bias]' : '[kernel]'}, got ${weights.length} tensors`,
      );
    if (weights[0].shape.join(',') !== want.join(','))
      throw new Error(
        `${this.name}: the conv3d kernel is [${weights[0].shape}], expected [${want}] (kd, kh, kw, Cin, Cout)`,
      );
    if (n === 2 && weights[1].shape.join(',') !== String(cout))
      throw new Error(`${this.name}: the bias is [${weights[1].shape}], expected [${cout}]`);
    const k = conv3dKernelTo2d(weights[0] as tf.Tensor5D);
    this.setWeights(this.args.useBias ? [k, weights[1]] : [k]);
    k.dispose();
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    const out = [1, 2, 3].map((i) => {
      const size = s[i];
      if (size == null) return null;
      const k = this.args.kernelSize[i - 1];
      const st = this.args.strides[i - 1];
      const span = (k - 1) * this.args.dilations[i - 1] + 1;
      return this.args.padding === 'same'
        ? Math.ceil(size / st)
        : Math.floor((size - span) / st) + 1;
    });
    return [s[0], ...out, this.args.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (!this.kernel) throw new Error(`${this.name}: call before build`);
      let y = conv3dAs2dWith2dKernel(
        x,
        this.kernel.read() as tf.Tensor4D,
        this.args.kernelSize[0],
        this.opts(),
      );
      if (this.bias) y = tf.add(y, this.bias.read());
      return act(y, this.args.activation);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.args } as tf.serialization.ConfigDict;
  }
}
tf.serialization.registerClass(Conv3dAs2d);

export interface SplitBlockArgs extends CommonArgs {
  filters: number;
  /** Spatial kernel [kh, kw] (default [3, 3]). */
  spatialKernel?: [number, number];
  /** Temporal kernel length (default 3). */
  temporalKernel?: number;
  /** 'add': spatial + temporal(spatial); 'cat': both on the channel axis (2 x filters). */
  fusion?: 'add' | 'cat';
}

/**
 * Spatial/temporal split block on [B, T, H, W, C] with only 4D ops: s = conv2d on [B*T, H, W, C]
 * ('same'), t = conv2d with a [kt, 1] kernel on [B, T, H*W, F] ('same' in time), out = s + t or
 * [s, t] on channels, then the activation.
 */
export class SpatioTemporalBlock extends tf.layers.Layer {
  static className = 'FrugalSpatioTemporalBlock';
  readonly args: StoredArgs<SplitBlockArgs>;
  private ws: tf.LayerVariable[] = [];

  constructor(args: SplitBlockArgs) {
    super(args);
    const name = args.name ?? 'spatioTemporalBlock';
    if (!Number.isInteger(args.filters) || args.filters < 1)
      throw new Error(`${name}: filters must be a positive integer, got ${args.filters}`);
    const fusion = args.fusion ?? 'add';
    if (fusion !== 'add' && fusion !== 'cat')
      throw new Error(`${name}: fusion must be 'add' or 'cat', got ${JSON.stringify(fusion)}`);
    const kt = args.temporalKernel ?? 3;
    if (!Number.isInteger(kt) || kt < 1)
      throw new Error(`${name}: temporalKernel must be a positive integer, got ${kt}`);
    const sk = args.spatialKernel ?? [3, 3];
    if (!Array.isArray(sk) || sk.length !== 2 || sk.some((k) => !Number.isInteger(k) || k < 1))
      throw new Error(
        `${name}: spatialKernel must be [kh, kw] positive integers, got ${JSON.stringify(sk)}`,
      );
    this.args = {
      filters: args.filters,
      spatialKernel: sk,
      temporalKernel: kt,
      fusion,
      activation: checkActivation(name, args.activation ?? 'relu'),
      seed: args.seed,
    };
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = inputShape as tf.Shape;
    if (s.length !== 5 || s.slice(1).some((d) => d == null))
      throw new Error(
        `${this.name}: input must be [batch, time, height, width, channels] with known sizes, got [${s}]`,
      );
    const c = s[4] as number;
    const f = this.args.filters;
    const [kh, kw] = this.args.spatialKernel;
    const seed = this.args.seed;
    this.ws = [
      this.addWeight(
        'spatial_kernel',
        [kh, kw, c, f],
        'float32',
        tf.initializers.glorotUniform({ seed }),
      ),
      this.addWeight('spatial_bias', [f], 'float32', tf.initializers.zeros()),
      this.addWeight(
        'temporal_kernel',
        [this.args.temporalKernel, 1, f, f],
        'float32',
        tf.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 1 }),
      ),
      this.addWeight('temporal_bias', [f], 'float32', tf.initializers.zeros()),
    ];
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    return [
      s[0],
      s[1],
      s[2],
      s[3],
      this.args.fusion === 'cat' ? 2 * this.args.filters : this.args.filters,
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const [b, t, h, w, c] = x.shape;
      const f = this.args.filters;
      const [sk, sb, tk, tb] = this.ws.map((v) => v.read());
      const frames = tf.reshape(x, [b * t, h, w, c]) as tf.Tensor4D;
      const s = tf.add(tf.conv2d(frames, sk as tf.Tensor4D, 1, 'same'), sb); // [B*T, H, W, F]
      const seq = tf.reshape(s, [b, t, h * w, f]) as tf.Tensor4D;
      const tm = tf.add(tf.conv2d(seq, tk as tf.Tensor4D, 1, 'same'), tb); // [B, T, H*W, F]
      const fused = this.args.fusion === 'add' ? tf.add(seq, tm) : tf.concat([seq, tm], 3);
      return tf.reshape(act(fused, this.args.activation), [b, t, h, w, fused.shape[3] as number]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.args } as tf.serialization.ConfigDict;
  }
}
tf.serialization.registerClass(SpatioTemporalBlock);
