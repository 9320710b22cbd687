// `useOpt`: a copy of a model whose Dense and Conv2D layers train the OPT way (opt.ts,
// opt-conv.ts), through the rewrite engine; `optHooks` re-samples the stochastic variant's blocks.
import type * as tf from '@tensorflow/tfjs';
import { type LayerEdit, type RewriteReport, rewriteModel } from '../rewrite/index.js';
import type { StepHooks } from '../train/gradients.js';
import type { OptVariant } from './config.js';
import { OptDense, type OptLayer } from './opt.js';
import { OptConv2D } from './opt-conv.js';

export const OPT_LAYER_KINDS = ['dense', 'conv2d'] as const;
export type OptLayerKind = (typeof OPT_LAYER_KINDS)[number];

export interface OptOptions {
  variant: OptVariant;
  /** Stochastic variant: input dimensions rotated at a time (default 64). */
  block?: number;
  /**
   * Cayley variant: layers whose input (Dense) or filter (Conv2D: kh kw cin) is wider than this
   * are kept (default 256).
   */
  maxCayleyDim?: number;
  /** Which layers to convert (default both Dense and Conv2D). */
  layers?: readonly OptLayerKind[];
  seed?: number;
}

interface ConvConfig {
  filters: number;
  kernelSize: number[];
  strides: number[];
  padding: string;
  dataFormat?: string;
  dilationRate: number | number[];
  activation: string;
  useBias: boolean;
}

const pair = (v: number | number[]): [number, number] =>
  Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];

/**
 * A copy of `model` whose Dense and Conv2D layers train the OPT way: each becomes an OptDense or
 * OptConv2D holding the layer's kernel as its frozen random weights, with R = I at the start (the
 * same function as before). The Cayley variant keeps layers wider than `maxCayleyDim` (listed in
 * the report: the exact transform inverts a d x d matrix each step); use the stochastic variant
 * for them. Conv2D layers that are not channels-last 'same'/'valid' are kept with the reason.
 * Throws when no layer is converted.
 */
export function useOpt(
  model: tf.LayersModel,
  o: OptOptions,
): { model: tf.LayersModel; report: RewriteReport; converted: string[] } {
  const maxDim = o.maxCayleyDim ?? 256;
  const kinds = o.layers ?? OPT_LAYER_KINDS;
  let n = 0;
  const tooWide = (d: number, what: string) =>
    o.variant === 'cayley' && d > maxDim
      ? {
          keep: `${what} ${d} wide > ${maxDim}: the exact Cayley transform would invert a ${d} x ${d} matrix per step (use the stochastic variant)`,
        }
      : null;
  const result = rewriteModel(model, (layer): LayerEdit | null => {
    const cls = layer.getClassName();
    /** The layer as one `className` OPT layer: `config`, then the variant, block and seed. */
    const optEdit = (
      className: string,
      config: Record<string, unknown>,
      kernel: tf.Tensor,
      bias: tf.Tensor | undefined,
    ): LayerEdit => ({
      replace: [
        {
          className,
          config: {
            name: layer.name,
            ...config,
            variant: o.variant,
            block: o.block ?? 64,
            seed: (o.seed ?? 1) * 101 + n++,
          },
          weights: (l) => (l as OptDense | OptConv2D).setFrozen(kernel, bias),
        },
      ],
      note: `OPT ${o.variant}`,
    });
    if (cls === 'Dense' && kinds.includes('dense')) {
      const c = layer.getConfig() as { units: number; activation: string; useBias: boolean };
      const [kernel, bias] = layer.getWeights();
      const inputDim = kernel.shape[0];
      const wide = tooWide(inputDim, 'input');
      if (wide) return wide;
      return optEdit(
        OptDense.className,
        { units: c.units, inputDim, activation: c.activation, useBias: c.useBias },
        kernel,
        bias,
      );
    }
    if (cls === 'Conv2D' && kinds.includes('conv2d')) {
      const c = layer.getConfig() as unknown as ConvConfig;
      if (c.dataFormat !== undefined && c.dataFormat !== 'channelsLast')
        return { keep: `data format ${c.dataFormat}: OPT conv is channels-last only` };
      if (c.padding !== 'same' && c.padding !== 'valid')
        return { keep: `padding '${c.padding}': OPT conv takes 'same' or 'valid'` };
      const [kernel, bias] = layer.getWeights();
      const [kh, kw, cin] = kernel.shape;
      const wide = tooWide(kh * kw * cin, 'filter');
      if (wide) return wide;
      return optEdit(
        OptConv2D.className,
        {
          filters: c.filters,
          kernelSize: [kh, kw],
          inChannels: cin,
          strides: pair(c.strides),
          padding: c.padding,
          dilationRate: pair(c.dilationRate),
          activation: c.activation,
          useBias: c.useBias,
        },
        kernel,
        bias,
      );
    }
    return null;
  });
  // The converted layers are the rewrite's replaced ones (kept ones are listed with the reason).
  const converted = result.report.replaced.map((r) => r.name);
  if (converted.length === 0) {
    result.model.dispose();
    const what = kinds.map((k) => (k === 'dense' ? 'Dense' : 'Conv2D')).join(' or ');
    throw new Error(
      `opt: no ${what} layer to convert${o.variant === 'cayley' ? ` (with the cayley variant, layers up to ${maxDim} wide)` : ''}`,
    );
  }
  return { ...result, converted };
}

/** The OPT layers (OptDense, OptConv2D) of a model. */
export function optLayers(model: tf.LayersModel): (OptDense | OptConv2D)[] {
  return model.layers.filter(
    (l): l is OptDense | OptConv2D => l instanceof OptDense || l instanceof OptConv2D,
  );
}

/**
 * After-update hook of the stochastic variant: every `resampleEvery` steps each stochastic OPT
 * layer folds its rotation into the frozen kernel and draws a new block (the optimizer's moments
 * of S carry over). Nothing to do for the Cayley variant.
 */
export function optHooks(model: tf.LayersModel, resampleEvery = 50): StepHooks {
  if (!(Number.isInteger(resampleEvery) && resampleEvery >= 1))
    throw new Error(`opt: resampleEvery must be a positive integer, got ${resampleEvery}`);
  const layers: OptLayer[] = optLayers(model).filter((l) => l.variant === 'stochastic');
  if (layers.length === 0) return {};
  let steps = 0;
  return {
    afterUpdate: () => {
      if (++steps % resampleEvery !== 0) return;
      for (const l of layers) l.foldAndResample();
    },
  };
}
