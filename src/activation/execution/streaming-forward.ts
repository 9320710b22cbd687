import * as tf from '@tensorflow/tfjs';
import { fuseIdentityBlocks } from '../layers/identity-block.js';
import { type ForwardStep, fuseProjectionShortcuts } from '../layers/projection-shortcut.js';
import { withDonatedInputs } from './donated-inputs.js';
import { fork } from './fork.js';

interface GraphNode {
  inboundLayers: tf.layers.Layer[];
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}

/**
 * A forward pass that runs a layers model one layer at a time and frees each intermediate output
 * as soon as its last consumer has run. tfjs-layers' own `apply` holds every layer output until
 * the whole model call returns, so the forward's peak is the sum of all outputs whatever the
 * layers save for backward; with this forward only what is saved (compressed) stays alive.
 * Works for Sequential and functional models (single input, single output). With `overwrite`
 * (default), a layer reading a tensor for the last time may write its output over it
 * (see donated-inputs.ts); values are the same either way. With `fuse` (default), a residual
 * block's projection shortcut and the ReLU after its add run in training as one op that never
 * makes the shortcut's conv output in full (`fuseProjectionShortcuts`); same values and gradients.
 */
export function streamingForward(
  model: tf.LayersModel,
  opts: { overwrite?: boolean; fuse?: boolean; layers?: [number, number] } = {},
): (xs: tf.Tensor, training: boolean) => tf.Tensor {
  const overwrite = opts.overwrite ?? true;
  const fuse = opts.fuse ?? true;
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new Error('streamingForward: only models with one input and one output are supported');
  const steps: ForwardStep[] = [];
  const uses = new Map<number, number>();
  if (model instanceof tf.Sequential) {
    // A chain: layer i reads output i-1 (ids are positions here, not symbolic tensor ids).
    // `layers`: only layers from .. to - 1 (its input is layer from - 1's output).
    const [from, to] = opts.layers ?? [0, model.layers.length];
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to))
      throw new Error(`streamingForward: layers ${from}..${to} is not a range of layers`);
    if (to > model.layers.length)
      throw new Error(
        `streamingForward: layers ${from}..${to}: the model has ${model.layers.length}`,
      );
    model.layers.slice(from, to).forEach((layer, j) => {
      uses.set(from + j, 1);
      steps.push({ layer, ins: [from + j], outs: [from + j + 1] });
    });
    const plain = { steps, uses };
    return run(plain, plain, from, to, overwrite);
  }
  if (opts.layers) throw new Error('streamingForward: a layer range needs a Sequential model');
  const inner = model;
  const inputId = inner.inputs[0].id;
  const outputId = inner.outputs[0].id;
  for (const layer of inner.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const nodes = (layer as unknown as { inboundNodes: GraphNode[] }).inboundNodes;
    const node = nodes.find((n) =>
      n.outputTensors.some((t) => inner.layers.includes(t.sourceLayer as tf.layers.Layer)),
    );
    if (!node)
      throw new Error(`streamingForward: layer '${layer.name}' is not connected in the model`);
    const ins = node.inputTensors.map((t) => t.id);
    for (const id of ins) uses.set(id, (uses.get(id) ?? 0) + 1);
    steps.push({ layer, ins, outs: node.outputTensors.map((t) => t.id) });
  }
  const plain = { steps, uses };
  return run(plain, fuse ? fusedSteps(steps, uses) : plain, inputId, outputId, overwrite);
}

interface Plan {
  steps: ForwardStep[];
  /** Readers of each tensor id. */
  uses: Map<number, number>;
}

/** The training plan: residual blocks as fused ops (identity-block.ts, projection-shortcut.ts). */
function fusedSteps(steps: ForwardStep[], uses: Map<number, number>): Plan {
  const blocks = fuseIdentityBlocks(steps, uses);
  return { steps: fuseProjectionShortcuts(blocks.steps, blocks.uses), uses: blocks.uses };
}

function run(
  inference: Plan,
  trainingPlan: Plan,
  inputId: number,
  outputId: number,
  overwrite: boolean,
): (xs: tf.Tensor, training: boolean) => tf.Tensor {
  return (xs, training) =>
    tf.tidy(() => {
      const { steps, uses } = training ? trainingPlan : inference;
      const live = new Map<number, tf.Tensor>([[inputId, xs]]);
      // A layer output read by several layers is forked in training: each reader gets its own
      // view, and the fork sums their gradients without tfjs's three-buffer add (fork.ts).
      const views = new Map<number, tf.Tensor[]>();
      const left = new Map(uses);
      for (const s of steps) {
        const args = s.ins.map((id) => {
          const t = views.get(id)?.shift() ?? live.get(id);
          if (!t) throw new Error(`streamingForward: missing input of layer '${s.layer.name}'`);
          return t;
        });
        // Inputs read for the last time (once, by this layer) are freed right after it: the
        // layer may write its output over them.
        const last = args.filter((_, k) => {
          const id = s.ins[k];
          if (!overwrite || id === inputId || id === outputId) return false;
          if (views.has(id)) return true;
          return left.get(id) === 1 && s.ins.indexOf(id) === s.ins.lastIndexOf(id);
        });
        const out = withDonatedInputs(last, () =>
          s.train
            ? s.train(args)
            : (s.layer.apply(args.length === 1 ? args[0] : args, { training }) as
                | tf.Tensor
                | tf.Tensor[]),
        );
        const outs = Array.isArray(out) ? out : [out];
        s.outs.forEach((id, i) => {
          const readers = uses.get(id) ?? 0;
          if (training && readers > 1 && id !== outputId) {
            views.set(id, fork(outs[i], readers));
            outs[i].dispose();
          } else live.set(id, outs[i]);
        });
        s.ins.forEach((id, k) => {
          const queue = views.get(id);
          if (queue) {
            args[k].dispose();
            if (queue.length === 0) views.delete(id);
            return;
          }
          const n = (left.get(id) ?? 1) - 1;
          left.set(id, n);
          if (n === 0 && id !== inputId && id !== outputId) {
            live.get(id)?.dispose();
            live.delete(id);
          }
        });
      }
      const y = live.get(outputId);
      if (!y) throw new Error('streamingForward: the model output was never computed');
      return y;
    });
}
