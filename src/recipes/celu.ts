// CELU (Barron 2017), the HAET recipe's activation: celu(x) = max(0, x) + min(0, a (exp(x/a) - 1)).
// tfjs has no CELU, so it is a registered layer here, and `useCelu` swaps every ReLU of a model
// for it through the rewrite engine (src/models/ stays free of recipes). On the cpu and wasm
// backends it runs as one kernel each way (celu-kernel.ts).
import * as tf from '@tensorflow/tfjs';
import { type LayerEdit, type RewriteReport, rewriteModel } from '../rewrite/index.js';
import { celuKernel, celuKernelActive } from './celu-kernel.js';

/** celu(x) elementwise, with alpha > 0 (alpha 1 is ELU): one kernel on cpu/wasm, else a * elu(x / a). */
export function celu(x: tf.Tensor, alpha: number): tf.Tensor {
  if (x.dtype === 'float32' && celuKernelActive()) return celuKernel(x, alpha);
  return celuComposite(x, alpha);
}

/** celu(x) from tfjs ops: a * elu(x / a) (the reference the kernel is tested against). */
export function celuComposite(x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.tidy(() => (alpha === 1 ? tf.elu(x) : tf.mul(tf.elu(tf.mul(x, 1 / alpha)), alpha)));
}

export interface CeluConfig {
  alpha: number;
  name?: string;
  trainable?: boolean;
}

export class Celu extends tf.layers.Layer {
  static className = 'FrugalCelu';
  readonly alpha: number;

  constructor(config: CeluConfig) {
    super(config);
    if (!(config.alpha > 0)) throw new Error(`celu: alpha must be above 0, got ${config.alpha}`);
    this.alpha = config.alpha;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return celu(x, this.alpha);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}
tf.serialization.registerClass(Celu);

function isRelu(layer: tf.layers.Layer): 'layer' | 'activation' | null {
  const cls = layer.getClassName();
  if (cls === 'ReLU') {
    const c = layer.getConfig() as { maxValue?: number | null; threshold?: number };
    return c.maxValue == null && !c.threshold ? 'layer' : null;
  }
  const activation = (layer.getConfig() as { activation?: unknown }).activation;
  if (activation !== 'relu') return null;
  return cls === 'Activation' ? 'layer' : 'activation';
}

/**
 * A copy of `model` with every ReLU replaced by CELU(alpha): ReLU and Activation('relu') layers
 * become a Celu layer; a layer with `activation: 'relu'` (Dense, Conv2D, ...) becomes the same
 * layer with a linear activation followed by a Celu layer, with its weights. Throws when the
 * model has no ReLU (the option would change nothing). The input model is left untouched.
 */
export function useCelu(
  model: tf.LayersModel,
  alpha: number,
): { model: tf.LayersModel; report: RewriteReport; replaced: number } {
  if (!(alpha > 0)) throw new Error(`celu: alpha must be above 0, got ${alpha}`);
  let replaced = 0;
  const result = rewriteModel(model, (layer): LayerEdit | null => {
    const kind = isRelu(layer);
    if (kind === null) return null;
    replaced++;
    const celuLayer = { className: Celu.className, config: { alpha, name: `${layer.name}_celu` } };
    if (kind === 'layer')
      return {
        replace: [{ className: Celu.className, config: { alpha, name: layer.name } }],
        note: `ReLU -> CELU(${alpha})`,
      };
    return {
      replace: [
        {
          className: layer.getClassName(),
          config: { ...layer.getConfig(), activation: 'linear' },
          weights: layer.getWeights(),
        },
        celuLayer,
      ],
      note: `relu activation -> CELU(${alpha})`,
    };
  });
  if (replaced === 0) {
    result.model.dispose();
    throw new Error('celu: the model has no ReLU activation to replace');
  }
  return { ...result, replaced };
}
