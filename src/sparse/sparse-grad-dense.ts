/**
 * Dense with an N:M-sparse backward (Chmiel et al., ICLR 2023): the output gradient dy [B, units]
 * is masked N:M in groups of M along the batch axis (the dimension the weight-gradient product
 * dW = x^T dy contracts) before that product; with `pruneInputGrad` the input-gradient product
 * dx = dy W^T uses the masked dy too. The forward is the plain dense product. The bias gradient
 * uses the dense dy (a sum, no product to save). With an unbiased kind (`mvue`, `approx`) the
 * weight gradient is unbiased; `magnitude` is the biased baseline.
 */
import * as tf from '@tensorflow/tfjs';
import { makeRng, type Rng } from '../engine/random.js';
import { type GradPrune, type PruneStats, parseGradPrune, pruneGradient } from './grad-prune.js';

/** dy masked N:M along axis 0 (the batch), or stochastically pruned, as a new tensor. */
export function maskGradient(
  dy: tf.Tensor,
  spec: GradPrune,
  rng: Rng,
  stats?: PruneStats,
): tf.Tensor {
  return pruneGradient(dy, spec, rng, stats);
}

/**
 * x [B, in] times w [in, out] whose backward masks dy N:M along the batch before dW = x^T dy
 * (and before dx = dy w^T when `pruneInputGrad`). `rng` is drawn once per backward group.
 */
export function sparseGradMatMul(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  spec: GradPrune,
  rng: Rng,
  pruneInputGrad = false,
  stats?: PruneStats,
): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, wa] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    save([xa, wa]);
    return {
      value: tf.matMul(xa, wa),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor2D[];
        const dyP = maskGradient(dy, spec, rng, stats) as tf.Tensor2D;
        const dW = tf.matMul(xs, dyP, true, false);
        const dx = tf.matMul(pruneInputGrad ? dyP : (dy as tf.Tensor2D), ws, false, true);
        dyP.dispose();
        return [dx, dW];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

export interface SparseGradDenseArgs {
  units: number;
  /** N:M mask `{n, m, kind}` or stochastic pruning `{kind: 'stochastic', p}` of dy. */
  gradSparsity: GradPrune;
  activation?: 'linear' | 'relu';
  useBias?: boolean;
  pruneInputGrad?: boolean;
  /** Seed of the mask draws and of the kernel initializer. */
  seed?: number;
  inputShape?: tf.Shape;
  batchInputShape?: tf.Shape;
  name?: string;
  trainable?: boolean;
}

/** A Dense layer whose weight-gradient product sees an N:M-masked output gradient. */
export class SparseGradDense extends tf.layers.Layer {
  static className = 'FrugalSparseGradDense';
  readonly units: number;
  readonly gradSparsity: GradPrune;
  readonly activationName: 'linear' | 'relu';
  readonly useBias: boolean;
  readonly pruneInputGrad: boolean;
  readonly seed: number;
  /** Zeros and entries of the pruned output gradients so far (reset it to measure a span). */
  readonly pruneStats: PruneStats = { zeros: 0, total: 0 };
  private readonly rng: Rng;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: SparseGradDenseArgs) {
    super({
      name: args.name,
      inputShape: args.inputShape,
      batchInputShape: args.batchInputShape,
      trainable: args.trainable,
    });
    if (!Number.isInteger(args.units) || args.units < 1)
      throw new Error(`SparseGradDense: units must be a positive integer, got ${args.units}`);
    if (args.activation !== undefined && args.activation !== 'linear' && args.activation !== 'relu')
      throw new Error(
        `SparseGradDense: activation must be 'linear' or 'relu', got ${String(args.activation)}`,
      );
    this.units = args.units;
    this.gradSparsity = parseGradPrune(args.gradSparsity);
    this.activationName = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.pruneInputGrad = args.pruneInputGrad ?? false;
    this.seed = args.seed ?? 0;
    this.rng = makeRng(this.seed);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 2)
      throw new Error(`${this.name}: SparseGradDense takes [batch, features], got [${shape}]`);
    const inDim = shape[1] as number;
    this.kernel = this.addWeight(
      'kernel',
      [inDim, this.units],
      'float32',
      tf.initializers.glorotUniform({ seed: this.seed }),
    );
    if (this.useBias)
      this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const kernel = this.kernel as tf.LayerVariable;
      let y: tf.Tensor = sparseGradMatMul(
        x,
        kernel.read() as tf.Tensor2D,
        this.gradSparsity,
        this.rng,
        this.pruneInputGrad,
        this.pruneStats,
      );
      if (this.bias) y = tf.add(y, this.bias.read());
      return this.activationName === 'relu' ? tf.relu(y) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      gradSparsity: { ...this.gradSparsity },
      activation: this.activationName,
      useBias: this.useBias,
      pruneInputGrad: this.pruneInputGrad,
      seed: this.seed,
    };
  }
}
tf.serialization.registerClass(SparseGradDense);
