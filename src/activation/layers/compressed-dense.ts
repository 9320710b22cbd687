import * as tf from '@tensorflow/tfjs';
import { configWith } from '../../models/layers/layer-config.js';
import { chunkedBackward } from '../backward/chunked-backward.js';
import { compressedOp } from '../backward/custom-grad.js';
import { projectionRows, projectRows, RMM_KINDS, type RmmKind } from '../backward/rmm.js';
import {
  denseInputGradWasm,
  transposeMatrix,
  wasmTransposeAvailable,
} from '../backward/transpose-wasm.js';
import {
  type ChunkContext,
  chunkWeightProduct,
  currentChunk,
} from '../backward/weight-grad-sink.js';
import { applyActivation } from '../codec/activation-fns.js';
import { type ActivationSaved, activationGradRows } from '../codec/activation-save.js';
import { restoreChunk, type Saved, saveExact, splitSaved } from '../codec/saved.js';
import { nextSeed } from '../codec/seed.js';
import { outsideGradient } from '../execution/fused.js';
import { rowsPerChunk } from '../execution/row-chunks.js';
import {
  CompressedKernelLayer,
  type CompressedKernelLayerArgs,
} from './compressed-kernel-layer.js';
import { CompressedLayer, single } from './compressed-layer.js';
import { lastDimension, positiveInteger } from './layer-args.js';

export interface CompressedDenseArgs extends CompressedKernelLayerArgs {
  units: number;
  /** Randomized-matmul backward: fraction of input rows kept as S X (0: off). */
  rmmRatio?: number;
  rmmKind?: RmmKind;
}

/**
 * Dense (x W + b, then the activation) whose backward keeps x quantized (or S x with the
 * randomized-matmul backward) and the activation's derivative state, instead of float32 tensors.
 * Weights `kernel` [in, units] and `bias` [units], as tfjs-layers' Dense.
 */
export class CompressedDense extends CompressedKernelLayer {
  static className = 'FrugalCompressedDense';
  readonly units: number;
  rmmRatio: number;
  rmmKind: RmmKind;

  constructor(args: CompressedDenseArgs) {
    super(args);
    this.units = positiveInteger(this.name, 'units', args.units);
    this.rmmRatio = args.rmmRatio ?? 0;
    if (!(this.rmmRatio >= 0 && this.rmmRatio <= 1))
      throw new Error(`${this.name}: rmmRatio must be in [0, 1], got ${args.rmmRatio}`);
    this.rmmKind = args.rmmKind ?? 'gaussian';
    if (!RMM_KINDS.includes(this.rmmKind))
      throw new Error(`${this.name}: rmmKind must be one of ${RMM_KINDS.join(', ')}`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const inDim = lastDimension(this.name, inputShape);
    this.addKernel('kernel', [inDim, this.units], this.units);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (inputShape as tf.Shape).slice();
    shape[shape.length - 1] = this.units;
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const w = this.kernel!.read() as tf.Tensor2D;
      const b = this.bias?.read();
      const inDim = w.shape[0];
      const outShape = [...x.shape.slice(0, -1), this.units];
      if (!CompressedLayer.isTraining(kwargs)) {
        const z = tf.matMul(x.reshape([-1, inDim]), w);
        return applyActivation(this.activation, b ? tf.add(z, b) : z).reshape(outShape);
      }
      const vars = b ? [x, w, b] : [x, w];
      // The chunk of a chunked forward this call is (its backward may defer the kernel product).
      const chunk = currentChunk();
      return compressedOp(vars, (save) => {
        const x2 = x.reshape([-1, inDim]) as tf.Tensor2D;
        const rows = x2.shape[0];
        // ReLU's mask is (y > 0), so one fused kernel gives the output without a separate z.
        const fusedRelu = this.activation === 'relu' && this.actBits !== 32;
        const z = outsideGradient(() =>
          tf.fused.matMul({ a: x2, b: w, bias: b, activation: fusedRelu ? 'relu' : 'linear' }),
        );
        const y = (fusedRelu ? z : applyActivation(this.activation, z)).reshape(outShape);
        const rmm = this.rmmRatio > 0;
        const k = projectionRows(rows, this.rmmRatio);
        const seed = nextSeed();
        const xs: Saved<tf.Tensor> = rmm
          ? saveExact(projectRows(x2, this.rmmKind, k, seed))
          : this.saveInput(x);
        const { act, parts } = this.saveWithActivation(save, x, xs, z.reshape(outShape));
        return {
          value: y,
          gradFunc: (dy, saved, freeDy) => {
            const [sx, sa] = splitSaved(saved, parts);
            if (!rmm) return this.chunkedGrads(dy, x.shape, xs, act, sx, sa, w, !!b, freeDy, chunk);
            // S x mixes all rows: the randomized backward runs on the whole batch.
            const dz = act.restore(sa)(dy).reshape([rows, this.units]) as tf.Tensor2D;
            if (dz !== dy) freeDy();
            const dw = this.weightProduct((a: tf.Tensor2D, d: tf.Tensor2D) =>
              tf.matMul(a, projectRows(d, this.rmmKind, k, seed), true),
            )(xs.restore(sx) as tf.Tensor2D, dz);
            const dx = this.inputProduct((d: tf.Tensor2D, v: tf.Tensor2D) =>
              tf.matMul(d, v, false, true),
            )(dz, w).reshape(x.shape);
            return b ? [dx, dw, tf.sum(dz, 0)] : [dx, dw];
          },
        };
      });
    });
  }

  /**
   * dx, dW (and db) in chunks of samples (leading axis): each chunk rebuilds only its rows of x
   * and of the activation's derivative, so no full-batch dz or dequantized x exists at once.
   */
  private chunkedGrads(
    dy: tf.Tensor,
    xShape: number[],
    xs: Saved<tf.Tensor>,
    act: ActivationSaved,
    sx: tf.Tensor[],
    sa: tf.Tensor[],
    w: tf.Tensor2D,
    withBias: boolean,
    freeDy: () => void,
    chunk: ChunkContext | null,
  ): (tf.Tensor | null)[] {
    const n = xShape[0];
    const size = xShape.reduce((a, c) => a * c, 1);
    const perRow = (4 * Math.max(dy.size, size)) / n;
    const rows = rowsPerChunk(n, perRow);
    // One backward chunk under a chunked forward: the kernel's product may be deferred to the
    // forward's last chunk, so it is kept out of chunkedBackward's per-chunk sums.
    const oneChunk = rows >= n;
    let kernelGrad: tf.Tensor | null = null;
    const g = chunkedBackward(
      dy,
      rows,
      (dyRows, first, count) => {
        const r = activationGradRows(act, sa, { first, count, total: n }, dyRows, withBias);
        const dz = r.dz.reshape([-1, this.units]) as tf.Tensor2D;
        if (r.dz !== dyRows) r.dz.dispose();
        const xr = restoreChunk(xs, sx, first, count, n);
        const x2 = xr.reshape([-1, w.shape[0]]) as tf.Tensor2D;
        xr.dispose();
        const dx = this.inputProduct(denseInputGrad)(dz, w);
        const dxRows = dx.reshape([count, ...xShape.slice(1)]);
        dx.dispose();
        const db = withBias ? [r.db ?? tf.sum(dz, 0)] : [];
        if (oneChunk) {
          kernelGrad = chunkWeightProduct(
            chunk,
            w,
            x2,
            dz,
            this.weightProduct(denseWeightGrad),
            this.weightProduct((xt: tf.Tensor2D, d: tf.Tensor2D) => tf.matMul(xt, d)),
          );
          return { dx: dxRows, params: db };
        }
        const dw = this.weightProduct(denseWeightGrad)(x2, dz);
        tf.dispose([x2, dz]);
        return { dx: dxRows, params: [dw, ...db] };
      },
      freeDy,
    );
    return oneChunk ? [g.dx, kernelGrad, ...g.params] : [g.dx, ...g.params];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['units', 'rmmRatio', 'rmmKind']);
  }
}
tf.serialization.registerClass(CompressedDense);

/**
 * x2^T dz, a Dense kernel's gradient. On the wasm backend tfjs's MatMul copies a transposed
 * operand with a slow strided loop on every call (the 9216 x 128 weights of the CNN's dense
 * layer: tens of ms a chunk), so only chunk-sized matrices are transposed, by frugal's kernel.
 */
function denseWeightGrad(x2: tf.Tensor2D, dz: tf.Tensor2D): tf.Tensor {
  if (!wasmTransposeAvailable()) return tf.matMul(x2, dz, true);
  const x2t = transposeMatrix(x2);
  const dw = tf.matMul(x2t, dz);
  x2t.dispose();
  return dw;
}

/** Rows of dz up to which frugal's kernel beats XNNPACK's product (measured: 0.73 vs 1.5 ms at 4). */
const THIN_ROWS = 4;

/**
 * dz w^T, a Dense input's gradient: for a few rows (a chunk of a chunked backward) frugal's wasm
 * kernel, else as (w dz^T)^T on wasm (tfjs transposes the small dz).
 */
function denseInputGrad(dz: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor {
  const thin = dz.shape[0] <= THIN_ROWS ? denseInputGradWasm(dz, w) : null;
  if (thin !== null) return thin;
  if (!wasmTransposeAvailable()) return tf.matMul(dz, w, false, true);
  const dxt = tf.matMul(w, dz, false, true) as tf.Tensor2D;
  const dx = transposeMatrix(dxt);
  dxt.dispose();
  return dx;
}
