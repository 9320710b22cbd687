import * as tf from '@tensorflow/tfjs';

/** The base-layer fields a kernel layer takes from its config (others, such as dtype, are not). */
export interface KernelLayerArgs {
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
  name?: string;
  trainable?: boolean;
}

/** The shape of a layer's only input (tfjs may pass it as a one-element list). */
export function onlyShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
}

/**
 * The kernel shape [features, units] of a Dense-like layer `layer` (of class `what`) over inputs
 * [batch, features]; other ranks throw.
 */
export function denseKernelShape(
  layer: string,
  what: string,
  inputShape: tf.Shape | tf.Shape[],
  units: number,
): number[] {
  const shape = onlyShape(inputShape);
  if (shape.length !== 2)
    throw new Error(`${layer}: ${what} takes [batch, features], got [${shape}]`);
  return [shape[1] as number, units];
}

/** The output shape [batch, units] of a Dense-like layer over inputs [batch, features]. */
export function denseOutputShape(inputShape: tf.Shape | tf.Shape[], units: number): tf.Shape {
  return [onlyShape(inputShape)[0], units];
}

/**
 * The frame of a Dense- or Conv2D-like layer with one float32 kernel and an optional bias (the
 * sparse-gradient, low-precision and low-bit-accumulator layers): `call` is the subclass's
 * `product` of the only input with the kernel, plus the bias, through its `activate`. `T` is
 * the tensor type the product takes (tf.Tensor2D for a Dense, tf.Tensor4D for a Conv2D).
 */
export abstract class KernelBiasLayer<T extends tf.Tensor = tf.Tensor> extends tf.layers.Layer {
  kernel: tf.LayerVariable | null = null;
  bias: tf.LayerVariable | null = null;

  constructor(args: KernelLayerArgs) {
    super({
      name: args.name,
      inputShape: args.inputShape,
      batchInputShape: args.batchInputShape,
      trainable: args.trainable,
    });
  }

  /**
   * Adds the kernel of `shape` (Glorot uniform from `seed`) and, with `useBias`, a zero bias over
   * its last dimension; the layer is then built.
   */
  protected addKernelAndBias(shape: number[], useBias: boolean, seed?: number): void {
    this.kernel = this.addWeight(
      'kernel',
      shape,
      'float32',
      tf.initializers.glorotUniform({ seed }),
    );
    if (useBias)
      this.bias = this.addWeight(
        'bias',
        [shape[shape.length - 1]],
        'float32',
        tf.initializers.zeros(),
      );
    this.built = true;
  }

  /** The layer's product of `x` with the kernel (no bias, no activation). */
  protected abstract product(x: T, kernel: T): tf.Tensor;

  /** The activation applied after the bias. */
  protected abstract activate(y: tf.Tensor): tf.Tensor;

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      let y = this.product(x as T, (this.kernel as tf.LayerVariable).read() as T);
      if (this.bias) y = tf.add(y, this.bias.read());
      return this.activate(y);
    });
  }
}

/** A KernelBiasLayer whose activation is any tfjs activation, by name (default 'linear'). */
export abstract class ActivatedKernelLayer<
  T extends tf.Tensor = tf.Tensor,
> extends KernelBiasLayer<T> {
  readonly activationName: string;
  private readonly activationLayer: tf.layers.Layer;

  constructor(args: KernelLayerArgs & { activation?: string }) {
    super(args);
    this.activationName = args.activation ?? 'linear';
    this.activationLayer = tf.layers.activation({ activation: this.activationName as 'linear' });
  }

  protected override activate(y: tf.Tensor): tf.Tensor {
    return this.activationLayer.apply(y) as tf.Tensor;
  }
}
