/**
 * Dense with an N:M-sparse backward (Chmiel et al., ICLR 2023): the output gradient dy [B, units]
 * is masked N:M in groups of M along the batch axis (the dimension the weight-gradient product
 * dW = x^T dy contracts) before that product; with `pruneInputGrad` the input-gradient product
 * dx = dy W^T uses the masked dy too. The forward is the plain dense product. The bias gradient
 * uses the dense dy (a sum, no product to save). With an unbiased kind (`mvue`, `approx`) the
 * weight gradient is unbiased; `magnitude` is the biased baseline.
 *
 * With an N:M kind the masked dy is N:M along the batch, so dW^T = dy^T x has an N:M operand:
 * `nmKernel` computes it with the compressed product of nm-kernel.ts (values + indices, N/M of
 * the multiply-adds) instead of tf.matMul. 'auto' (the default) uses it only where it was
 * measured faster (bench/sparse-grad.ts): the cpu backend with tfjs's stock kernels (about 1.9x);
 * it loses to frugal's register-blocked cpu GEMM (about 0.4x) and to wasm (about 0.05x). A batch
 * that is not a multiple of M (the padded last group) takes tf.matMul.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../engine/random.js';
import { fastKernelsActive } from '../engine/settings.js';
import { denseKernelShape, denseOutputShape } from '../models/layers/kernel-bias-layer.js';
import { type GradPrune, type PruneStats, pruneGradient } from './grad-prune.js';
import { compressNM, nmMatMul } from './nm-kernel.js';
import { SparseGradLayer, type SparseGradLayerArgs } from './sparse-grad-layer.js';
// Registers the pruner of compressed layers' `gradSparsity`.
import './grad-pruner.js';

/** Whether the weight-gradient product of an N:M-masked dy uses the compressed kernel. */
export type NMKernelMode = 'auto' | 'on' | 'off';
export const NM_KERNEL_MODES: readonly NMKernelMode[] = ['auto', 'on', 'off'];

/** Counts of weight-gradient products by kernel. */
export interface KernelUse {
  nm: number;
  dense: number;
}

/** Where 'auto' turns the compressed kernel on: stock tfjs cpu kernels (where it is faster). */
export function nmKernelWins(): boolean {
  return tf.getBackend() === 'cpu' && !fastKernelsActive();
}

/**
 * dW = x^T dyP [in, out] with dyP [B, out] N:M along B, through the compressed product
 * dW^T = dyP^T x; null when B is not a multiple of m.
 */
export function nmWeightGrad(
  x: tf.Tensor2D,
  dyP: tf.Tensor2D,
  n: number,
  m: number,
): tf.Tensor2D | null {
  const [b, out] = dyP.shape;
  const inDim = x.shape[1];
  if (b % m !== 0) return null;
  const v = dyP.dataSync();
  const dyT = new Float32Array(out * b);
  for (let r = 0; r < b; r++) for (let o = 0; o < out; o++) dyT[o * b + r] = v[r * out + o];
  const prod = nmMatMul(compressNM(dyT, out, b, n, m), x.dataSync() as Float32Array, inDim);
  return tf.tidy(() => tf.transpose(tf.tensor2d(prod, [out, inDim])));
}

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
 * `nmKernel`: see the file comment; `kernelUse` counts which kernel each dW took.
 */
export function sparseGradMatMul(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  spec: GradPrune,
  rng: Rng,
  pruneInputGrad = false,
  stats?: PruneStats,
  nmKernel: NMKernelMode = 'auto',
  kernelUse?: KernelUse,
): tf.Tensor2D {
  if (!NM_KERNEL_MODES.includes(nmKernel))
    throw new Error(
      `sparseGradMatMul: nmKernel must be one of ${NM_KERNEL_MODES.join(', ')}, got '${String(nmKernel)}'`,
    );
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, wa] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    save([xa, wa]);
    return {
      value: tf.matMul(xa, wa),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor2D[];
        const dyP = maskGradient(dy, spec, rng, stats) as tf.Tensor2D;
        const useNM =
          spec.kind !== 'stochastic' &&
          (nmKernel === 'on' || (nmKernel === 'auto' && nmKernelWins()));
        const sparseDW = useNM ? nmWeightGrad(xs, dyP, spec.n, spec.m) : null;
        if (kernelUse) kernelUse[sparseDW ? 'nm' : 'dense']++;
        const dW = sparseDW ?? tf.matMul(xs, dyP, true, false);
        const dx = tf.matMul(pruneInputGrad ? dyP : (dy as tf.Tensor2D), ws, false, true);
        dyP.dispose();
        return [dx, dW];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

export interface SparseGradDenseArgs extends SparseGradLayerArgs {
  units: number;
  /** The compressed N:M product for dW: 'auto' (where it wins), 'on', 'off' (default 'auto'). */
  nmKernel?: NMKernelMode;
}

/** A Dense layer whose weight-gradient product sees an N:M-masked output gradient. */
export class SparseGradDense extends SparseGradLayer<tf.Tensor2D> {
  static className = 'FrugalSparseGradDense';
  readonly units: number;
  readonly nmKernel: NMKernelMode;
  /** Weight-gradient products so far, by kernel (compressed N:M or tf.matMul). */
  readonly kernelUse: KernelUse = { nm: 0, dense: 0 };

  constructor(args: SparseGradDenseArgs) {
    super(args, 'SparseGradDense');
    if (!Number.isInteger(args.units) || args.units < 1)
      throw new Error(`SparseGradDense: units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.nmKernel = args.nmKernel ?? 'auto';
    if (!NM_KERNEL_MODES.includes(this.nmKernel))
      throw new Error(
        `SparseGradDense: nmKernel must be one of ${NM_KERNEL_MODES.join(', ')}, got '${String(args.nmKernel)}'`,
      );
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = denseKernelShape(this.name, 'SparseGradDense', inputShape, this.units);
    this.addKernelAndBias(shape, this.useBias, this.seed);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return denseOutputShape(inputShape, this.units);
  }

  protected override product(x: tf.Tensor2D, kernel: tf.Tensor2D): tf.Tensor {
    return sparseGradMatMul(
      x,
      kernel,
      this.gradSparsity,
      this.rng,
      this.pruneInputGrad,
      this.pruneStats,
      this.nmKernel,
      this.kernelUse,
    );
  }

  protected override plainFields(): { className: string; fields: tf.serialization.ConfigDict } {
    return { className: 'Dense', fields: { units: this.units } };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), nmKernel: this.nmKernel };
  }
}
tf.serialization.registerClass(SparseGradDense);
