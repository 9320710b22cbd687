import * as tf from '@tensorflow/tfjs';
import { defaultSeed } from '../engine/settings.js';
import { OdeBlock, type SolverSmoothing } from '../ode/ode-block.js';
import type { OdeActivation, OdeFuncNorm } from '../ode/ode-func.js';
import type { SolveConfig } from '../ode/solve.js';
import { checkPositiveInt, SeededInit } from './init.js';

/** Normalisation around the ODE blocks (after each stem convolution and after the blocks). */
export const ODENET_NORMS = ['batch', 'layer', 'none'] as const;
export type OdenetNorm = (typeof ODENET_NORMS)[number];

export interface OdenetConfig {
  inputShape: number[];
  numClasses: number;
  /** Channels of the stem and of z in the ODE blocks. Default 16. */
  channels?: number;
  /** ODE blocks in sequence. Default 1. */
  blocks?: number;
  /** Solver and gradient of every block (see `SolveConfig`). Default rk4, 4 steps, backprop. */
  solve?: Partial<SolveConfig>;
  /** Solver smoothing (rk2 u sampled per training batch). */
  smoothing?: SolverSmoothing | null;
  /** Normalisation inside f. Default 'layer' (BN in the stem plus LN in the blocks, after
   * Gusak et al., "Towards understanding normalization in neural ODEs"). */
  odeNorm?: OdeFuncNorm;
  /** Normalisation around the blocks. Default 'batch'. */
  norm?: OdenetNorm;
  activation?: OdeActivation;
  /** Head: 'flatten' (default; dense over the 7x7 map) or 'pool' (global average pooling). */
  head?: 'flatten' | 'pool';
  seed?: number;
}

/**
 * ODE-Net: stem conv3x3/2 - norm - relu - conv3x3/2 - norm - relu (28x28 -> 7x7), ODE block(s)
 * dz/dt = f(z, t) on the 7x7 feature map, norm, relu, flatten (or global average pooling), dense
 * logits.
 */
export function buildOdenet(config: OdenetConfig): tf.LayersModel {
  const channels = config.channels ?? 16;
  const blocks = config.blocks ?? 1;
  checkPositiveInt('odenet channels', channels);
  checkPositiveInt('odenet blocks', blocks);
  const norm = config.norm ?? 'batch';
  if (!(ODENET_NORMS as readonly string[]).includes(norm))
    throw new Error(`odenet norm must be one of ${ODENET_NORMS.join(', ')}, got '${norm}'`);
  if (config.inputShape.length !== 3)
    throw new Error(
      `odenet needs image samples [height, width, channels], got [${config.inputShape}]`,
    );
  const seed = config.seed ?? defaultSeed();
  const init = new SeededInit(seed);
  const model = tf.sequential({ name: 'odenet' });
  const addNorm = (name: string) => {
    // Momentum 0.9: the moving statistics settle within tens of steps (short CPU runs).
    if (norm === 'batch') model.add(tf.layers.batchNormalization({ name, momentum: 0.9 }));
    else if (norm === 'layer') model.add(tf.layers.layerNormalization({ name }));
  };
  [1, 2].forEach((i) => {
    model.add(
      tf.layers.conv2d({
        ...(i === 1 ? { inputShape: config.inputShape } : {}),
        filters: channels,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        useBias: norm === 'none',
        kernelInitializer: init.he(),
        name: `stem_conv${i}`,
      }),
    );
    addNorm(`stem_norm${i}`);
    model.add(tf.layers.reLU({ name: `stem_relu${i}` }));
  });
  for (let b = 0; b < blocks; b++) {
    model.add(
      new OdeBlock({
        solver: 'rk4',
        steps: 4,
        ...config.solve,
        smoothing: config.smoothing ?? null,
        norm: config.odeNorm ?? 'layer',
        activation: config.activation ?? 'relu',
        seed: seed * 31 + b,
        name: `ode${b + 1}`,
      }),
    );
  }
  addNorm('head_norm');
  model.add(tf.layers.reLU({ name: 'head_relu' }));
  const head = config.head ?? 'flatten';
  if (head !== 'flatten' && head !== 'pool')
    throw new Error(`odenet head must be 'flatten' or 'pool', got '${String(head)}'`);
  if (head === 'pool') model.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
  else model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(
    tf.layers.dense({ units: config.numClasses, kernelInitializer: init.glorot(), name: 'logits' }),
  );
  return model;
}
