// FS-Merge (Kinderman et al., "Foldable SuperNets", arXiv 2410.01483): merges two models of one
// architecture, trained from different initialisations on different tasks, into one model of the
// original width. The supernet keeps both models' weights frozen side by side; every merged layer
// j gets a learned merge map M_j (2 d_out -> d_out) and unmerge map U_j (d_in -> 2 d_in), each
// "diagonal plus low rank" (one diagonal block per model plus A B of rank r). In row-vector form
// (tfjs Dense: y = x K + b) the supernet's layer j is
//   x -> x U_j = [x U_j1, x U_j2] -> z_i = (x U_ji) K_i + b_i -> [z_1, z_2] M_j = sum_i z_i M_ji
// so it folds exactly into one plain Dense layer: K' = sum_i U_ji K_i M_ji, b' = sum_i b_i M_ji.
// The first layer reads the shared input (U_1 = [I, I], not learned). The maps are trained on
// feature reconstruction from unlabelled samples of both tasks: at the input of every merged
// layer after the first, the merged features unmerged by that layer's U must reproduce both
// models' features there ([h_1, h_2]); at the output, the merged logits unmerged by a
// training-only U_out (shared head) or the two heads' outputs side by side (separate heads) must
// reproduce [z_1, z_2]. Each term is an MSE normalised by its target's mean square, so every
// layer weighs the same. Training goes through the training-step seam (applyStep).
// Conv2D layers (channels last) merge on channels: the maps act on the channel vector at every
// pixel, so with the kernel K [kh, kw, c_in, c_out] and every tap p, K'[p] = sum_i U_ji K_i[p]
// M_ji; the features a conv layer's unmerge reconstructs are its input at every pixel. Layers
// without weights (pooling, flatten, dropout) run on the merged features: pooling is per channel
// and a Dense after Flatten unmerges the flattened features (width h w c).
// Initialisations: 'first' (M = [I; 0], U = [I, I]) folds back to model 1 exactly; 'average'
// (M = [I/2; I/2], U = [I, I]) folds back to the weight average. The low-rank parts start at
// A = 0, B small random (both zero would leave both without a gradient).
// Heads: 'shared' merges the last layer too (the merged model has the inputs' architecture);
// 'separate' keeps each model's head (the last Dense becomes one Dense with both heads side by
// side, [outputs of model 1, outputs of model 2], each reading its model's unmerged features).
import * as tf from '@tensorflow/tfjs';
import {
  ACTIVATIONS,
  type ActivationName,
  applyActivation,
} from '../activation/codec/activation-fns.js';
import { At, integer, number, object, oneOf, optional } from '../config/index.js';
import { makeRng, normal, permutation } from '../engine/random.js';
import { type LayerEdit, rewriteModel } from '../rewrite/index.js';
import { applyStep, type GradientContext } from '../train/gradients.js';
import type { Loss } from '../train/loss.js';

export const FS_MERGE_INITS = ['first', 'average'] as const;
export type FsMergeInit = (typeof FS_MERGE_INITS)[number];
export const FS_MERGE_HEADS = ['shared', 'separate'] as const;
export type FsMergeHeads = (typeof FS_MERGE_HEADS)[number];

export interface FsMergeOptions {
  /** Start of the merge maps: 'first' folds to model 1, 'average' to the weight average (default 'first'). */
  init?: FsMergeInit;
  /**
   * Rank of the low-rank part of every merge / unmerge map (default 16), capped per map at its
   * width; a rank above every layer's width is an error naming the widest layer.
   */
  rank?: number;
  /** 'shared': one merged head (default); 'separate': both heads side by side. */
  heads?: FsMergeHeads;
  /** Training steps on feature reconstruction (default 300; 0 folds the initialisation). */
  steps?: number;
  /** Unlabelled samples per step (default 32). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  learningRate?: number;
  seed?: number;
}

const CONFIG = 'fs-merge config';
const fields = object({
  init: optional(oneOf(FS_MERGE_INITS)),
  rank: optional(integer({ min: 1 })),
  heads: optional(oneOf(FS_MERGE_HEADS)),
  steps: optional(integer({ min: 0 })),
  batchSize: optional(integer({ min: 1 })),
  learningRate: optional(number({ above: 0 })),
  seed: optional(integer()),
});

/** The options with their defaults; errors name the field (ConfigError). */
export function checkFsMergeOptions(
  o: unknown = {},
): Required<Omit<FsMergeOptions, 'rank'>> & { rank: number | undefined } {
  const v = fields(o, new At(CONFIG));
  return {
    init: v.init ?? 'first',
    rank: v.rank,
    heads: v.heads ?? 'shared',
    steps: v.steps ?? 300,
    batchSize: v.batchSize ?? 32,
    learningRate: v.learningRate ?? 1e-3,
    seed: v.seed ?? 0,
  };
}

/** The layer classes FS-Merge merges. */
const MERGED = ['Dense', 'Conv2D'] as const;
type MergedClass = (typeof MERGED)[number];
const isMerged = (l: tf.layers.Layer) => (MERGED as readonly string[]).includes(l.getClassName());

/** The model's layers in order, checked to form a chain whose weighted layers are Dense or Conv2D. */
function chainOf(model: tf.LayersModel, who: string): tf.layers.Layer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new Error(`fsMerge: the ${who} model must have one input and one output`);
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  layers.forEach((l, i) => {
    // the model's own node (the first); a model applied elsewhere adds more
    const ins = l.inboundNodes[0]?.inboundLayers ?? [];
    if (ins.length !== 1 || (i > 0 && ins[0] !== layers[i - 1]))
      throw new Error(
        `fsMerge: the ${who} model is not a chain of layers at '${l.name}' (FS-Merge merges models whose layers follow one another, each reading the previous one)`,
      );
    if (!isMerged(l) && l.getWeights().length > 0)
      throw new Error(
        `fsMerge: layer '${l.name}' (${l.getClassName()}) of the ${who} model has weights; FS-Merge merges ${MERGED.join(' and ')} layers only`,
      );
    if (l.getClassName() === 'Conv2D' && l.getConfig().dataFormat === 'channelsFirst')
      throw new Error(
        `fsMerge: layer '${l.name}' of the ${who} model is channels-first; FS-Merge merges channels-last Conv2D layers`,
      );
  });
  if (!layers.some((l) => l.getClassName() === 'Dense'))
    throw new Error(`fsMerge: the ${who} model has no Dense layer to merge`);
  if (layers[layers.length - 1].getClassName() !== 'Dense')
    throw new Error(`fsMerge: the ${who} model must end in a Dense layer (its head)`);
  return layers;
}

function describe(l: tf.layers.Layer): string {
  const shapes = l.getWeights().map((w) => `[${w.shape}]`);
  const act = isMerged(l) ? ` ${String(l.getConfig().activation)}` : '';
  return `'${l.name}' ${l.getClassName()}${act}${shapes.length ? ` ${shapes.join(' ')}` : ''}`;
}

function sameLayer(a: tf.layers.Layer, b: tf.layers.Layer): boolean {
  if (a.getClassName() !== b.getClassName()) return false;
  const wa = a.getWeights().map((w) => w.shape.join(','));
  const wb = b.getWeights().map((w) => w.shape.join(','));
  if (wa.join(';') !== wb.join(';')) return false;
  const strip = (l: tf.layers.Layer) => {
    const c: Record<string, unknown> = { ...l.getConfig() };
    for (const k of [
      'name',
      'kernelInitializer',
      'biasInitializer',
      'batchInputShape',
      'inputShape',
      'trainable',
    ])
      delete c[k];
    return JSON.stringify(c);
  };
  return strip(a) === strip(b);
}

/**
 * Checks that two models have one architecture FS-Merge can merge: chains of layers, weighted
 * layers Dense or Conv2D, layer by layer the same class, configuration and weight shapes. Errors name the
 * first layer that differs. Returns both chains.
 */
export function checkMergeable(
  a: tf.LayersModel,
  b: tf.LayersModel,
): { a: tf.layers.Layer[]; b: tf.layers.Layer[] } {
  const la = chainOf(a, 'first');
  const lb = chainOf(b, 'second');
  const ia = a.inputs[0].shape.slice(1).join(',');
  const ib = b.inputs[0].shape.slice(1).join(',');
  if (ia !== ib)
    throw new Error(`fsMerge: the models have different architectures: inputs [${ia}] and [${ib}]`);
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    const x = la[i];
    const y = lb[i];
    if (!x || !y || !sameLayer(x, y))
      throw new Error(
        `fsMerge: the models have different architectures at layer ${i + 1}: ${x ? describe(x) : 'none'} in the first model, ${y ? describe(y) : 'none'} in the second`,
      );
  }
  return { a: la, b: lb };
}

/** Diagonal-plus-low-rank map parameters. */
interface MapVars {
  /** One diagonal per model, [2 * d]. */
  diag: tf.Variable;
  /** Low-rank factors: merge M = D + a b with a [2 d, r], b [r, d]; unmerge U = D + a b with a [d, r], b [r, 2 d]. */
  a: tf.Variable;
  b: tf.Variable;
  d: number;
}

/** A merged layer: its two models' weights, its geometry, its maps. */
interface Slot {
  /** Index in the chain. */
  index: number;
  kind: MergedClass;
  /** Dense [d_in, d_out]; Conv2D [kh, kw, c_in, c_out]. */
  kernels: [tf.Tensor, tf.Tensor];
  biases: [tf.Tensor1D, tf.Tensor1D] | null;
  activation: string;
  /** Conv2D only: strides, padding, dilations. */
  conv: {
    strides: [number, number];
    padding: 'valid' | 'same';
    dilations: [number, number];
  } | null;
  /** Input and output width (channels for Conv2D). */
  din: number;
  dout: number;
  /** Unmerge of this layer's input (null for the first Dense: both models read the input). */
  u: MapVars | null;
  /** Merge of this layer's output (null for separate heads' last layer). */
  m: MapVars | null;
}

function smallRandom(shape: [number, number], rng: () => number, scale: number): tf.Tensor2D {
  const n = shape[0] * shape[1];
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = normal(rng) * scale;
  return tf.tensor2d(v, shape);
}

/** A variable holding `t` (which is disposed). */
function own(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

function makeMerge(d: number, r: number, init: FsMergeInit, rng: () => number): MapVars {
  const diag = new Float32Array(2 * d);
  if (init === 'first') diag.fill(1, 0, d);
  else diag.fill(0.5);
  return {
    diag: own(tf.tensor1d(diag)),
    a: own(tf.zeros([2 * d, r])),
    b: own(smallRandom([r, d], rng, 0.1 / Math.sqrt(r))),
    d,
  };
}

function makeUnmerge(d: number, r: number, rng: () => number): MapVars {
  return {
    diag: own(tf.ones([2 * d])),
    a: own(tf.zeros([d, r])),
    b: own(smallRandom([r, 2 * d], rng, 0.1 / Math.sqrt(r))),
    d,
  };
}

/** x [n, d] times an unmerge map: [n, 2 d] = [x D_1, x D_2] + (x a) b. */
function unmergeApply(x: tf.Tensor2D, u: MapVars): tf.Tensor2D {
  const [d1, d2] = tf.split(u.diag, 2);
  const diagPart = tf.concat([tf.mul(x, d1), tf.mul(x, d2)], 1);
  return tf.add(diagPart, tf.matMul(tf.matMul(x, u.a), u.b)) as tf.Tensor2D;
}

/** The i-th model's block of an unmerge map applied on the left of W [d, k]: U_i W. */
function unmergeBlock(u: MapVars | null, i: number, w: tf.Tensor2D): tf.Tensor2D {
  if (!u) return w;
  const d = u.d;
  const di = tf.slice(u.diag, [i * d], [d]).reshape([d, 1]);
  const bi = tf.slice(u.b, [0, i * d], [-1, d]) as tf.Tensor2D;
  return tf.add(tf.mul(w, di), tf.matMul(u.a, tf.matMul(bi, w))) as tf.Tensor2D;
}

/** The i-th model's block of a merge map applied on the right of W [k, d]: W M_i. */
function mergeBlock(m: MapVars, i: number, w: tf.Tensor2D): tf.Tensor2D {
  const d = m.d;
  const di = tf.slice(m.diag, [i * d], [d]);
  const ai = tf.slice(m.a, [i * d, 0], [d, -1]) as tf.Tensor2D;
  return tf.add(tf.mul(w, di), tf.matMul(tf.matMul(w, ai), m.b)) as tf.Tensor2D;
}

/**
 * A left product on the input channels of a Conv2D kernel K [kh, kw, c_in, c_out] at every tap:
 * f(K[p]) for each p, with f mapping [c_in, k] to [c_in', k] (all taps in one call: c_in moves to
 * the front, [c_in, kh kw c_out], and back). With f(W) = U W this is the kernel of
 * conv2d(x U, K) = conv2d(x, U K).
 */
export function convKernelLeft(k: tf.Tensor, f: (w: tf.Tensor2D) => tf.Tensor2D): tf.Tensor4D {
  if (k.rank !== 4) throw new Error(`convKernelLeft: kernel must be rank 4, got [${k.shape}]`);
  const [kh, kw, cin, cout] = k.shape;
  const front = tf.transpose(tf.reshape(k, [kh * kw, cin, cout]), [1, 0, 2]);
  const done = f(tf.reshape(front, [cin, kh * kw * cout]) as tf.Tensor2D);
  const c = done.shape[0];
  return tf.reshape(tf.transpose(tf.reshape(done, [c, kh * kw, cout]), [1, 0, 2]), [
    kh,
    kw,
    c,
    cout,
  ]) as tf.Tensor4D;
}

/**
 * A right product on a kernel's last (output) axis, any rank: f on [everything else, d_out].
 * With f(W) = W M this is the kernel of layer(x, K) M = layer(x, K M).
 */
export function kernelRight(k: tf.Tensor, f: (w: tf.Tensor2D) => tf.Tensor2D): tf.Tensor {
  const d = k.shape[k.rank - 1];
  const done = f(tf.reshape(k, [-1, d]) as tf.Tensor2D);
  return tf.reshape(done, [...k.shape.slice(0, -1), done.shape[1]]);
}

/** U_i K for a slot's kernel (Dense: directly; Conv2D: at every tap). */
function unmergeKernel(s: Slot, i: number): tf.Tensor {
  const k = s.kernels[i];
  if (!s.u) return k;
  const u = s.u;
  return s.kind === 'Dense'
    ? unmergeBlock(u, i, k as tf.Tensor2D)
    : convKernelLeft(k, (w) => unmergeBlock(u, i, w));
}

/** K M_i on a kernel's output axis. */
const mergeKernel = (m: MapVars, i: number, k: tf.Tensor) =>
  kernelRight(k, (w) => mergeBlock(m, i, w));

/** A slot's folded kernel and bias (the merged plain layer). */
function foldSlot(s: Slot): { kernel: tf.Tensor; bias: tf.Tensor1D | null } {
  const parts = [0, 1].map((i) => unmergeKernel(s, i));
  if (!s.m) {
    // separate heads: both heads side by side, each on its model's unmerged features
    return {
      kernel: tf.concat(parts, parts[0].rank - 1),
      bias: s.biases ? (tf.concat(s.biases) as tf.Tensor1D) : null,
    };
  }
  const m = s.m;
  const kernel = tf.add(mergeKernel(m, 0, parts[0]), mergeKernel(m, 1, parts[1]));
  // clone: stock tfjs-wasm reads a bias's rank from its storage, and a reshaped [1, n] bias
  // would make the merged Dense fail there ('_FusedMatMul only supports rank-1 bias').
  const bias = s.biases
    ? tf.tidy(() =>
        tf.clone(
          tf
            .add(
              mergeBlock(m, 0, s.biases![0].reshape([1, -1])),
              mergeBlock(m, 1, s.biases![1].reshape([1, -1])),
            )
            .reshape([-1]) as tf.Tensor1D,
        ),
      )
    : null;
  return { kernel, bias };
}

/** The merged Dense layers' activations: softmax and the compressed layers' but softplus. */
const MERGED_ACTIVATIONS = new Set<string>(ACTIVATIONS.filter((a) => a !== 'softplus'));

function activate(x: tf.Tensor, activation: string): tf.Tensor {
  if (activation === 'softmax') return tf.softmax(x);
  if (!MERGED_ACTIVATIONS.has(activation))
    throw new Error(`fsMerge: unsupported Dense activation '${activation}'`);
  return applyActivation(activation as ActivationName, x);
}

/** The slot's layer with the given weights (Dense on any rank, Conv2D channels last). */
function applySlot(s: Slot, x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor1D | null) {
  let y: tf.Tensor;
  if (s.conv) {
    const { strides, padding, dilations } = s.conv;
    y = tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, strides, padding, 'NHWC', dilations);
  } else {
    const [din, dout] = kernel.shape;
    const lead = x.shape.slice(0, -1);
    y = tf
      .matMul(x.reshape([-1, din]) as tf.Tensor2D, kernel as tf.Tensor2D)
      .reshape([...lead, dout]);
  }
  if (bias) y = tf.add(y, bias);
  return activate(y, s.activation);
}

/** Per-sample rows [n, ...] of features whose last axis is a width: [n * rest, width]. */
const rows = (h: tf.Tensor, width: number) => h.reshape([-1, width]) as tf.Tensor2D;
/** [n * rest, k] back to one row per sample: [n, rest k]. */
const perSample = (x: tf.Tensor, n: number) => x.reshape([n, -1]) as tf.Tensor2D;

/**
 * Runs a chain with the given weights per slot: returns the inputs of the merged layers after the
 * first (as rows of their width: [n * positions, d]) and the output ([n * positions, classes]).
 * Other layers run as they are (inference mode).
 */
function runChain(
  chain: tf.layers.Layer[],
  slots: Slot[],
  x: tf.Tensor,
  weights: (s: Slot) => { kernel: tf.Tensor; bias: tf.Tensor1D | null },
): { features: tf.Tensor2D[]; output: tf.Tensor2D } {
  const bySlot = new Map(slots.map((s) => [s.index, s]));
  const features: tf.Tensor2D[] = [];
  let h = x;
  chain.forEach((layer, i) => {
    const s = bySlot.get(i);
    if (!s) {
      h = layer.apply(h, { training: false }) as tf.Tensor;
      return;
    }
    if (s !== slots[0]) features.push(rows(h, s.din));
    const w = weights(s);
    h = applySlot(s, h, w.kernel, w.bias);
  });
  return { features, output: rows(h, h.shape[h.shape.length - 1]) };
}

export interface FsMergeResult {
  /** The folded model (a plain model; the inputs are not modified). */
  model: tf.LayersModel;
  /** Feature-reconstruction loss per training step. */
  losses: number[];
  /** Reconstruction terms per step: the merged layers' inputs after the first, then the output. */
  terms: string[];
  /** Rank used per merged layer (the requested rank capped at the layer's width). */
  ranks: Record<string, number>;
}

/**
 * FS-Merge of two models of one architecture (see the file comment) on unlabelled `samples`
 * (a tensor [n, ...input shape], e.g. a few hundred from each task; the caller keeps it). The
 * Dense and Conv2D layers must follow one another (layers without weights between them run on the
 * merged features). Leaves no tensors behind besides the returned model.
 */
export function fsMerge(
  a: tf.LayersModel,
  b: tf.LayersModel,
  samples: tf.Tensor,
  options: FsMergeOptions = {},
): FsMergeResult {
  const o = checkFsMergeOptions(options);
  const chains = checkMergeable(a, b);
  const inShape = a.inputs[0].shape.slice(1).join(',');
  if (samples.shape.slice(1).join(',') !== inShape)
    throw new Error(
      `fsMerge: samples have shape [${samples.shape.slice(1)}] per sample but the models read [${inShape}]`,
    );
  const n = samples.shape[0];
  if (o.steps > 0 && n < 1) throw new Error('fsMerge: no samples to train the merge on');
  const rng = makeRng(o.seed);
  const chain = chains.a;
  const denseIdx = chain.flatMap((l, i) => (isMerged(l) ? [i] : []));
  const ranks: Record<string, number> = {};
  const outWidth = (i: number) => Number(chain[i].getWeights()[0].shape.at(-1));
  const widest = Math.max(...denseIdx.map(outWidth));
  if (o.rank !== undefined && o.rank > widest)
    throw new Error(
      `fsMerge: rank ${o.rank} is above the width of every layer (the widest, '${chain[denseIdx.find((i) => outWidth(i) === widest) ?? 0].name}', has ${widest} ${chain[denseIdx.find((i) => outWidth(i) === widest) ?? 0].getClassName() === 'Conv2D' ? 'filters' : 'units'})`,
    );
  const vars: tf.Variable[] = [];
  const slots: Slot[] = denseIdx.map((index, j) => {
    const la = chain[index];
    const lb = chains.b[index];
    const wa = la.getWeights();
    const wb = lb.getWeights();
    const [din, dout] = wa[0].shape.slice(-2);
    const kind = la.getClassName() as MergedClass;
    const cfg = la.getConfig();
    const pair = (v: unknown): [number, number] =>
      Array.isArray(v) ? [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])] : [Number(v), Number(v)];
    const last = j === denseIdx.length - 1;
    const rank = Math.min(o.rank ?? 16, dout);
    ranks[la.name] = rank;
    const u = j === 0 ? null : makeUnmerge(din, Math.min(o.rank ?? 16, din), rng);
    const m = last && o.heads === 'separate' ? null : makeMerge(dout, rank, o.init, rng);
    for (const mv of [u, m]) if (mv) vars.push(mv.diag, mv.a, mv.b);
    return {
      index,
      kind,
      kernels: [wa[0], wb[0]],
      biases: wa.length > 1 ? [wa[1] as tf.Tensor1D, wb[1] as tf.Tensor1D] : null,
      activation: String(cfg.activation ?? 'linear'),
      conv:
        kind === 'Conv2D'
          ? {
              strides: pair(cfg.strides ?? 1),
              padding: cfg.padding === 'same' ? 'same' : 'valid',
              dilations: pair(cfg.dilationRate ?? 1),
            }
          : null,
      din,
      dout,
      u,
      m,
    };
  });
  const lastSlot = slots[slots.length - 1];
  // shared head: a training-only unmerge of the merged output (not folded into the model)
  const uOut =
    o.heads === 'shared'
      ? makeUnmerge(lastSlot.dout, ranks[chain[lastSlot.index].name], rng)
      : null;
  if (uOut) vars.push(uOut.diag, uOut.a, uOut.b);
  const terms = [
    ...slots.slice(1).map((s) => `input of ${chain[s.index].name}`),
    `output (${o.heads} head${o.heads === 'separate' ? 's' : ''})`,
  ];
  const losses: number[] = [];
  try {
    if (o.steps > 0) {
      // targets: both models' features at every reconstruction point, [n, sum of 2 d]
      const plain = (i: 0 | 1) => (s: Slot) => ({
        kernel: s.kernels[i],
        bias: s.biases ? s.biases[i] : null,
      });
      const { targets, widths, scales } = tf.tidy(() => {
        const ra = runChain(chains.a, slots, samples, plain(0));
        const rb = runChain(chains.b, slots, samples, plain(1));
        // per sample: both models' features at every position, side by side on the width
        const parts = [...ra.features, ra.output].map((f, k) =>
          perSample(tf.concat([f, k < ra.features.length ? rb.features[k] : rb.output], 1), n),
        );
        const scales = parts.map((p) => Math.max(tf.mean(tf.square(p)).dataSync()[0], 1e-12));
        return {
          targets: tf.keep(tf.concat(parts, 1)),
          widths: parts.map((p) => p.shape[1]),
          scales,
        };
      });
      const forward = (xs: tf.Tensor): tf.Tensor => {
        const r = runChain(chain, slots, xs, foldSlot);
        const b = xs.shape[0];
        const preds = r.features.map((f, k) =>
          perSample(unmergeApply(f, slots[k + 1].u as MapVars), b),
        );
        preds.push(perSample(uOut ? unmergeApply(r.output, uOut) : r.output, b));
        return tf.concat(preds, 1);
      };
      const loss: Loss = {
        name: 'mse',
        mean: (ys, out) => {
          const ty = tf.split(ys, widths, 1);
          const to = tf.split(out, widths, 1);
          const t = ty.map((y, k) => tf.div(tf.mean(tf.squaredDifference(to[k], y)), scales[k]));
          return tf.div(tf.addN(t), t.length) as tf.Scalar;
        },
        sum: (ys, out) => tf.mul(loss.mean(ys, out), ys.shape[0]) as tf.Scalar,
      };
      const ctx: GradientContext = { variables: vars, forward, loss };
      const optimizer = tf.train.adam(o.learningRate);
      try {
        let idx = permutation(n, rng);
        let at = 0;
        for (let step = 0; step < o.steps; step++) {
          if (at >= n) {
            idx = permutation(n, rng);
            at = 0;
          }
          const take = Array.from(idx.subarray(at, Math.min(at + o.batchSize, n)));
          at += o.batchSize;
          const batch = tf.tidy(() => {
            const ix = tf.tensor1d(take, 'int32');
            return { xs: tf.gather(samples, ix), ys: tf.gather(targets, ix) };
          });
          const v = applyStep(ctx, optimizer, batch);
          losses.push(v.dataSync()[0]);
          tf.dispose([v, batch.xs, batch.ys]);
        }
      } finally {
        optimizer.dispose();
        targets.dispose();
      }
    }
    // fold into one plain model through the rewrite engine
    const edits = new Map<string, LayerEdit>();
    for (const s of slots) {
      const layer = chain[s.index];
      const w = tf.tidy(() => {
        const f = foldSlot(s);
        return f.bias ? [f.kernel, f.bias] : [f.kernel];
      });
      const config: Record<string, unknown> = { ...layer.getConfig() };
      config[s.kind === 'Conv2D' ? 'filters' : 'units'] = w[0].shape[w[0].rank - 1];
      edits.set(layer.name, {
        replace: [
          {
            className: s.kind,
            config,
            weights: (l) => {
              l.setWeights(w);
              tf.dispose(w);
            },
          },
        ],
        note: `FS-Merge (${o.init} init, ${o.steps} steps)`,
      });
    }
    const model = rewriteModel(a, edits).model;
    return { model, losses, terms, ranks };
  } finally {
    // (the kernels and biases are the models' own variables: not disposed here)
    tf.dispose(vars);
  }
}

/**
 * The weight-averaging baseline: every Dense and Conv2D weight the mean of the two models' (same checks as
 * fsMerge). With heads 'separate' the last layer keeps both heads side by side, as FS-Merge's.
 */
export function averageMerge(
  a: tf.LayersModel,
  b: tf.LayersModel,
  options: { heads?: FsMergeHeads } = {},
): tf.LayersModel {
  const none = tf.zeros([0, ...a.inputs[0].shape.slice(1).map(Number)]);
  try {
    return fsMerge(a, b, none, { init: 'average', steps: 0, heads: options.heads ?? 'shared' })
      .model;
  } finally {
    none.dispose();
  }
}

/**
 * Both models side by side as one model whose output is [outputs of a, outputs of b]: the
 * teacher of the distillation-merge baseline (separate heads). Shares the models' layers.
 */
export function pairModel(a: tf.LayersModel, b: tf.LayersModel): tf.LayersModel {
  checkMergeable(a, b);
  const x = tf.input({ shape: a.inputs[0].shape.slice(1) as number[] });
  // wrappers with their own names: the two models' layers may share names
  const wa = tf.model({ inputs: a.inputs, outputs: a.outputs, name: 'fsmerge_first' });
  const wb = tf.model({ inputs: b.inputs, outputs: b.outputs, name: 'fsmerge_second' });
  const ya = wa.apply(x) as tf.SymbolicTensor;
  const yb = wb.apply(x) as tf.SymbolicTensor;
  return tf.model({
    inputs: x,
    outputs: tf.layers.concatenate().apply([ya, yb]) as tf.SymbolicTensor,
  });
}
