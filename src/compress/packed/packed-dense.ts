import * as tf from '@tensorflow/tfjs';
import { activationQuant } from './int-kernel.js';
import { type PackedLayerArgs, PackedLayerBase } from './packed-layer-base.js';

/** Dense layer with a packed kernel [in, out]; applies to the last axis like tf.layers.dense. */
export class PackedDense extends PackedLayerBase {
  static className = 'FrugalPackedDense';

  constructor(args: PackedLayerArgs) {
    super(args);
    if (args.kernelShape.length !== 2)
      throw new Error(`PackedDense '${this.name}': kernelShape must be [in, out]`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const last = shape[shape.length - 1];
    if (last !== this.inChannels) {
      throw new Error(
        `PackedDense '${this.name}': input has ${last} features, kernel expects ${this.inChannels}`,
      );
    }
    this.addPackedWeights();
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = inputShape as tf.Shape;
    return [...shape.slice(0, -1), this.outChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (this.integerGap() === null) {
        const lin = this.integerKernel();
        const rows = x.size / this.inChannels;
        const data = x.dtype === 'float32' ? x.dataSync() : Float32Array.from(x.dataSync());
        const y = lin.dense(data as Float32Array, rows, activationQuant(), this.fusedRelu === true);
        return this.finishInteger(tf.tensor(y, [...x.shape.slice(0, -1), this.outChannels]));
      }
      const kernel = this.kernelTensor() as tf.Tensor2D;
      const flat = x.reshape([-1, this.inChannels]);
      const y = tf.matMul(flat, kernel).reshape([...x.shape.slice(0, -1), this.outChannels]);
      return this.finish(y);
    });
  }
}
tf.serialization.registerClass(PackedDense);
