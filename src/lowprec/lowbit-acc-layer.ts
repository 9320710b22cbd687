/**
 * A Dense layer whose products are accumulated in a low-bit float format (`lowBitMatMul`: every
 * product and partial sum rounded to M mantissa / E exponent bits, in chunks of `chunk`), after
 * Blumenfeld, Hubara and Soudry (ICLR 2024). Fine-tuning through it uses the straight-through
 * estimator of the accumulator's rounding: the backward pass is the exact product's (dx = dy w^T,
 * dW = x^T dy). The paper's finer gradient approximations for very low widths are not built.
 * A plain JS simulation, slow by nature (tens of ns per product): Dense layers of small models.
 * Eager only (reads the operands).
 */
import * as tf from '@tensorflow/tfjs';
import {
  ActivatedKernelLayer,
  denseKernelShape,
  denseOutputShape,
  type KernelLayerArgs,
} from '../models/layers/kernel-bias-layer.js';
import { configWith } from '../models/layers/layer-config.js';
import { type LayerEdit, rewriteModel } from '../rewrite/rewrite-model.js';
import { checkFloatFormat, type FloatFormat, lowBitMatMul } from './accumulator.js';

/** x [rows, k] times w [k, cols] accumulated in `format`; gradient: the exact product's. */
export function lowBitAccMatMul(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  format: FloatFormat,
  chunk = 0,
  outer: FloatFormat | null = null,
): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xa, wa] = args as tf.Tensor2D[];
    const save = args[2] as tf.GradSaveFunc;
    save([xa, wa]);
    const [rows, k] = xa.shape;
    const cols = wa.shape[1];
    const out = lowBitMatMul(xa.dataSync(), wa.dataSync(), rows, k, cols, format, chunk, outer);
    return {
      value: tf.tensor2d(out, [rows, cols]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as tf.Tensor2D[];
        return [
          tf.matMul(dy as tf.Tensor2D, ws, false, true),
          tf.matMul(xs, dy as tf.Tensor2D, true, false),
        ];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

export interface LowBitAccDenseArgs extends KernelLayerArgs {
  units: number;
  format: FloatFormat;
  /** Products per chunk (0: one sequential sum). */
  chunk?: number;
  /** Format the chunk sums are accumulated in (needs chunk > 0; default: `format`). */
  outer?: FloatFormat | null;
  activation?: string;
  useBias?: boolean;
}

export class LowBitAccDense extends ActivatedKernelLayer<tf.Tensor2D> {
  static className = 'FrugalLowBitAccDense';
  readonly units: number;
  readonly format: FloatFormat;
  readonly chunk: number;
  readonly outer: FloatFormat | null;
  readonly useBias: boolean;

  constructor(args: LowBitAccDenseArgs) {
    super(args);
    const where = `LowBitAccDense '${this.name}'`;
    if (!Number.isInteger(args.units) || args.units < 1)
      throw new Error(`${where}: units must be a positive integer, got ${args.units}`);
    checkFloatFormat(args.format, `${where} format`);
    const chunk = args.chunk ?? 0;
    if (!Number.isInteger(chunk) || chunk < 0)
      throw new Error(`${where}: chunk must be a non-negative integer, got ${chunk}`);
    this.units = args.units;
    this.format = { mantissa: args.format.mantissa, exponent: args.format.exponent };
    this.chunk = chunk;
    const outer = args.outer ?? null;
    if (outer !== null) {
      checkFloatFormat(outer, `${where} outer`);
      if (chunk === 0)
        throw new Error(`${where}: outer needs chunk > 0 (one sequential sum has no chunk sums)`);
    }
    this.outer = outer && { mantissa: outer.mantissa, exponent: outer.exponent };
    this.useBias = args.useBias ?? true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = denseKernelShape(this.name, 'LowBitAccDense', inputShape, this.units);
    this.addKernelAndBias(shape, this.useBias);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return denseOutputShape(inputShape, this.units);
  }

  protected override product(x: tf.Tensor2D, kernel: tf.Tensor2D): tf.Tensor {
    return lowBitAccMatMul(x, kernel, this.format, this.chunk, this.outer);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return configWith(super.getConfig(), this, ['units', 'chunk', 'useBias'], {
      format: { ...this.format },
      outer: this.outer && { ...this.outer },
      activation: this.activationName,
    });
  }
}
tf.serialization.registerClass(LowBitAccDense);

/**
 * A copy of `model` whose rank-2 Dense layers accumulate in `format` (same weights). Other
 * layers with products (convolutions) are listed as unconverted; `outer`: the format of the
 * chunk-sum accumulation (chunk > 0): the JS simulation is too slow
 * for them. Throws when no Dense layer can be converted.
 */
export function lowBitAccumulatorModel(
  model: tf.LayersModel,
  format: FloatFormat,
  chunk = 0,
  outer: FloatFormat | null = null,
): {
  model: tf.LayersModel;
  converted: string[];
  unconverted: { name: string; className: string; reason: string }[];
} {
  checkFloatFormat(format);
  // What was converted and what was not (with the reasons) is the rewrite's report.
  const { model: out, report } = rewriteModel(model, (layer): LayerEdit | null => {
    const cls = layer.getClassName();
    if (/Conv/.test(cls)) return { keep: 'convolutions are too slow to simulate (Dense only)' };
    if (cls !== 'Dense') return null;
    const c = layer.getConfig();
    const shape = layer.inboundNodes[0]?.inputShapes as tf.Shape | undefined;
    if (shape && !Array.isArray(shape[0]) && shape.length !== 2)
      return { keep: `input of rank ${shape.length} (rank 2 only)` };
    if (c.kernelRegularizer || c.biasRegularizer || c.kernelConstraint || c.biasConstraint)
      return { keep: 'has a regularizer or constraint (not carried over)' };
    return {
      replace: [
        {
          className: LowBitAccDense.className,
          config: {
            name: layer.name,
            units: c.units,
            format,
            chunk,
            outer,
            activation: c.activation ?? 'linear',
            useBias: c.useBias ?? true,
          },
          weights: layer.getWeights(),
        },
      ],
    };
  });
  const converted = report.replaced.map((r) => r.name);
  if (converted.length === 0) {
    out.dispose();
    throw new Error(`lowBitAccumulatorModel: no Dense layer to convert in ${model.name}`);
  }
  return { model: out, converted, unconverted: report.kept };
}
