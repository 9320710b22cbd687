// Progressive Low Rank Decomposition (PLRD, Hajimolahoseini et al. 2024): from one trained model,
// a family of smaller models with progressively lower ranks. Step k folds the previous member's
// factor pairs back into full kernels (W = A B), takes their truncated SVD at the next, lower
// rank (so each member starts from the previous one, not from the original), and fine-tunes it
// briefly, by distillation from the original model or on the labels alone.
import * as tf from '@tensorflow/tfjs';
import { decomposeModel } from '../compress/decompose/decompose-model.js';
import { isDense } from '../compress/decompose/layer-info.js';
import {
  At,
  boolean,
  check,
  integer,
  list,
  number,
  object,
  optional,
  string,
} from '../config/index.js';
import type { ClassificationData } from '../data/dataset.js';
import { type LayerEdit, rewriteModel } from '../rewrite/rewrite-model.js';
import { type DistillRunOptions, distill } from './distill.js';

export interface PlrdOptions {
  /** Parameter fractions of the decomposed layers, strictly decreasing in (0, 1) (default 0.75, 0.5, 0.25). */
  fractions?: number[];
  /** Dense layers to decompose (default: every Dense layer but the output layer whose rank can drop at each fraction). */
  layers?: string[];
  /**
   * Fine-tune of each member: distillation from the original model (`distill: true`, default)
   * or the labels alone (alpha = 1). Steps, batch size and learning rate as in `distill`.
   */
  distill?: boolean;
  fineTune?: Omit<DistillRunOptions, 'features'>;
}

export interface PlrdMember {
  fraction: number;
  /** Rank of each decomposed layer. */
  ranks: Record<string, number>;
  params: number;
  /** params / the original model's params. */
  paramsFraction: number;
  model: tf.LayersModel;
  /** Fine-tune losses per step. */
  losses: number[];
}

const FINE_TUNE = object({
  epochs: optional(integer({ min: 1 })),
  maxSteps: optional(integer({ min: 1 })),
  batchSize: optional(integer({ min: 1 })),
  learningRate: optional(number({ above: 0 })),
  optimizer: optional(
    check('a tf.Optimizer', (v, at) => {
      if (!(v instanceof tf.Optimizer)) throw at.expected('a tf.Optimizer', v);
      return v;
    }),
  ),
  seed: optional(integer()),
  temperature: optional(number({ above: 0 })),
  alpha: optional(number({ min: 0, max: 1 })),
});
const OPTIONS = object({
  fractions: optional(list(number({ above: 0, below: 1 }), { minLength: 1 })),
  layers: optional(list(string({ nonEmpty: true }), { minLength: 1 })),
  distill: optional(boolean()),
  fineTune: optional(FINE_TUNE),
});

/**
 * Checks PLRD's options (unknown fields, types and ranges: ConfigError naming the field) and
 * that `data` fits `model` (sample shape, class count).
 */
export function checkPlrdInput(
  model: tf.LayersModel,
  data: ClassificationData,
  options: PlrdOptions,
): void {
  OPTIONS(options, new At('plrd options', ''));
  if (options.distill === false && options.fineTune?.temperature !== undefined)
    throw new Error(
      'plrd: fineTune.temperature is set but distill is false (labels only): the temperature would change nothing',
    );
  const seen = new Set<string>();
  for (const n of options.layers ?? []) {
    if (seen.has(n)) throw new Error(`plrd: layer ${n} is named twice in layers`);
    seen.add(n);
  }
  const inShape = model.inputs[0].shape.slice(1);
  if (inShape.join(',') !== data.sampleShape.join(','))
    throw new Error(
      `plrd: the data's samples are [${data.sampleShape}] but the model reads [${inShape}]`,
    );
  const out = model.outputs[0].shape;
  if (out[out.length - 1] !== data.numClasses)
    throw new Error(
      `plrd: the data has ${data.numClasses} classes but the model outputs ${out[out.length - 1]}`,
    );
}

/** The SVD rank that keeps `fraction` of an in x out kernel's parameters: r (in + out) ~ f in out. */
export function rankForFraction(inDim: number, units: number, fraction: number): number {
  return Math.floor((fraction * inDim * units) / (inDim + units));
}

/** The ranks of one layer over the fractions (each below the last), or why there are none. */
function rankChain(name: string, i: number, o: number, fractions: number[]): number[] | string {
  const ranks: number[] = [];
  let prev = Math.min(i, o);
  for (const f of fractions) {
    const r = Math.min(rankForFraction(i, o, f), prev - 1);
    if (r < 1)
      return `plrd: layer ${name} (${i}x${o}) would need rank ${r} < 1 at fraction ${f}; drop the fraction or the layer`;
    ranks.push(r);
    prev = r;
  }
  return ranks;
}

function denseShape(layer: tf.layers.Layer): [number, number] {
  const k = layer.getWeights()[0];
  return [k.shape[0], k.shape[1] as number];
}

/**
 * A copy of `model` with each factor pair (L_svd_in, L_svd_out) folded back into one Dense layer L
 * with the kernel A B (the product of the current, fine-tuned factors) and L_svd_out's bias.
 */
export function foldSvdPairs(model: tf.LayersModel, layers: string[]): tf.LayersModel {
  const plan = new Map<string, LayerEdit>();
  const made: tf.Tensor[] = [];
  for (const name of layers) {
    const a = model.getLayer(`${name}_svd_in`);
    const b = model.getLayer(`${name}_svd_out`);
    const [wa] = a.getWeights();
    const [wb, ...bias] = b.getWeights();
    const kernel = tf.matMul(wa, wb);
    made.push(kernel);
    const cfg = b.getConfig();
    plan.set(a.name, { remove: true, note: 'PLRD fold' });
    plan.set(b.name, {
      replace: [
        {
          className: 'Dense',
          config: {
            units: wb.shape[1],
            useBias: bias.length > 0,
            activation: cfg.activation,
            name,
          },
          weights: [kernel, ...bias],
        },
      ],
      note: 'PLRD fold',
    });
  }
  try {
    return rewriteModel(model, plan).model;
  } finally {
    tf.dispose(made);
  }
}

/**
 * The PLRD family of `model` (trained): one member per fraction, each initialised from the
 * previous one and fine-tuned on `data`. The input model is not changed; the caller owns the
 * members' models.
 */
export function plrd(
  model: tf.LayersModel,
  data: ClassificationData,
  options: PlrdOptions = {},
): PlrdMember[] {
  checkPlrdInput(model, data, options);
  const fractions = options.fractions ?? [0.75, 0.5, 0.25];
  fractions.forEach((f, i) => {
    if (i > 0 && !(f < fractions[i - 1]))
      throw new Error(`plrd: fractions must decrease strictly, got ${fractions.join(', ')}`);
  });
  const all = model.layers.filter((l) => isDense(l)).map((l) => l.name);
  for (const n of options.layers ?? []) {
    if (!model.layers.some((l) => l.name === n)) throw new Error(`plrd: no layer named ${n}`);
    if (!all.includes(n))
      throw new Error(
        `plrd: layer ${n} is a ${model.getLayer(n).getClassName()} layer; PLRD lowers SVD ranks of Dense layers`,
      );
  }
  const chains = new Map<string, number[] | string>();
  // the default leaves the output layer (the classifier) alone: a rank below the class count
  // caps what the model can tell apart
  const outputLayer = (model.outputs[0] as tf.SymbolicTensor).sourceLayer.name;
  for (const n of options.layers ?? all.filter((l) => l !== outputLayer)) {
    const [i, o] = denseShape(model.getLayer(n));
    chains.set(n, rankChain(n, i, o, fractions));
  }
  // by default, the Dense layers whose ranks can go down at every step; a named layer must
  const layers = [...chains]
    .filter(([, c]) => {
      if (typeof c === 'string' && options.layers) throw new Error(c);
      return typeof c !== 'string';
    })
    .map(([n]) => n);
  if (layers.length === 0)
    throw new Error(
      'plrd: the model has no Dense layer whose rank can be lowered at every fraction',
    );
  const original = model.countParams();
  const members: PlrdMember[] = [];
  let current: tf.LayersModel | null = null;
  try {
    for (const f of fractions) {
      const k = fractions.indexOf(f);
      const ranks = Object.fromEntries(layers.map((n) => [n, (chains.get(n) as number[])[k]]));
      const source = current ? foldSvdPairs(current, layers) : model;
      let next: tf.LayersModel;
      try {
        next = decomposeModel(source, {
          layers: Object.fromEntries(
            layers.map((n) => [n, { method: 'svd' as const, rank: ranks[n] }]),
          ),
        }).model;
      } finally {
        if (source !== model) source.dispose();
      }
      const run = distill(next, model, data, {
        ...options.fineTune,
        alpha: options.distill === false ? 1 : (options.fineTune?.alpha ?? 0.5),
      });
      const params = next.countParams();
      members.push({
        fraction: f,
        ranks,
        params,
        paramsFraction: params / original,
        model: next,
        losses: run.losses,
      });
      current = next;
    }
  } catch (e) {
    for (const m of members) m.model.dispose();
    throw e;
  }
  return members;
}
