import * as tf from '@tensorflow/tfjs';

type Sym = tf.SymbolicTensor;

/** One application of a layer inside a model's graph. */
export interface GraphNode {
  layer: tf.layers.Layer;
  inputs: Sym[];
  outputs: Sym[];
}

interface NodeInternals {
  inputTensors: Sym[];
  outputTensors: Sym[];
}

/** Layers whose training-mode output is random: a recomputed forward would not match. */
const RANDOM_LAYERS = new Set([
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
]);

/**
 * A stage of a chain: the layers between two articulation tensors of the model graph (tensors
 * every path from the input to the output goes through). Running it needs only its input.
 */
export class Stage {
  /** Trainable variables read by the stage's layers, each once. */
  readonly variables: tf.Variable[];
  /** Non-trainable weights (batch-norm moving statistics) the forward updates in training. */
  readonly stateWeights: tf.LayerVariable[];
  /** Per symbolic tensor computed inside the stage: the index of the last node that reads it. */
  private readonly lastUse = new Map<number, number>();

  constructor(
    readonly index: number,
    readonly nodes: GraphNode[],
    readonly input: Sym,
    readonly output: Sym,
    /**
     * Tensors from before the stage that it (or a later stage) reads besides `input`: a residual
     * block's skip tensor while its main path is split into stages. Passed in by the caller.
     */
    readonly carried: Sym[] = [],
    /** Tensors available at the stage's start that the next stage carries (passed through). */
    readonly carriedOut: Sym[] = [],
  ) {
    const vars = new Map<number, tf.Variable>();
    const state = new Map<string, tf.LayerVariable>();
    for (const n of nodes) {
      for (const w of n.layer.trainableWeights) {
        const v = w.read() as tf.Variable;
        vars.set(v.id, v);
      }
      for (const w of n.layer.nonTrainableWeights) state.set(w.name, w);
    }
    this.variables = [...vars.values()];
    this.stateWeights = [...state.values()];
    nodes.forEach((n, k) => {
      for (const s of n.inputs) this.lastUse.set(s.id, k);
    });
  }

  get name(): string {
    const first = this.nodes[0].layer.name;
    const last = this.nodes[this.nodes.length - 1].layer.name;
    return first === last ? first : `${first}..${last}`;
  }

  /** Bytes of the stage's trainable weights (the size of its weight gradients). */
  get weightBytes(): number {
    return this.variables.reduce((s, v) => s + v.size * 4, 0);
  }

  /**
   * Runs the stage's layers on a concrete input. With `restoreState`, non-trainable weights
   * (batch-norm moving mean and variance) are put back afterwards, so a recomputation does not
   * update them a second time. Each layer's output is freed right after its last reader inside
   * the stage ran, so only live values (and what a recording tape saved) are held; `afterLayer`
   * runs after each layer, once dead values are freed (a tape compressor sweeps there).
   * Call inside `tidy`.
   */
  run(
    x: tf.Tensor,
    training: boolean,
    restoreState = false,
    afterLayer?: () => void,
    carried: tf.Tensor[] = [],
  ): tf.Tensor {
    if (carried.length !== this.carried.length)
      throw new Error(
        `stage ${this.name}: needs ${this.carried.length} carried tensors, got ${carried.length}`,
      );
    const snapshot =
      restoreState && training ? this.stateWeights.map((w) => tf.keep(w.read().clone())) : [];
    try {
      const values = new Map<number, tf.Tensor>([[this.input.id, x]]);
      const given = new Set<tf.Tensor>([x, ...carried]);
      this.carried.forEach((s, i) => {
        values.set(s.id, carried[i]);
      });
      for (const [k, n] of this.nodes.entries()) {
        const ins = n.inputs.map((s) => {
          const v = values.get(s.id);
          if (v === undefined) throw new Error(`stage ${this.name}: input ${s.name} not computed`);
          return v;
        });
        const out = n.layer.apply(ins.length === 1 ? ins[0] : ins, { training }) as
          | tf.Tensor
          | tf.Tensor[];
        const outs = Array.isArray(out) ? out : [out];
        n.outputs.forEach((s, i) => {
          values.set(s.id, outs[i]);
        });
        this.freeDead(values, k, given);
        afterLayer?.();
      }
      const y = values.get(this.output.id);
      if (y === undefined) throw new Error(`stage ${this.name}: output not computed`);
      return y;
    } finally {
      snapshot.forEach((saved, i) => {
        this.stateWeights[i].write(saved);
        saved.dispose();
      });
    }
  }

  /** Frees the values no layer after layer `k` reads (never the inputs or the stage output). */
  private freeDead(values: Map<number, tf.Tensor>, k: number, given: Set<tf.Tensor>): void {
    for (const [id, t] of values) {
      if (id === this.output.id || given.has(t) || (this.lastUse.get(id) ?? -1) > k) continue;
      values.delete(id);
      let shared = false;
      for (const v of values.values()) if (v === t) shared = true;
      if (!shared && !t.isDisposed) t.dispose();
    }
  }
}

/** A model split into stages at its articulation tensors. */
export interface Chain {
  model: tf.LayersModel;
  stages: Stage[];
  /** Every trainable variable of the model, in the model's order. */
  variables: tf.Variable[];
}

function producer(t: Sym): GraphNode | null {
  const layer = t.sourceLayer as tf.layers.Layer;
  if (layer.getClassName() === 'InputLayer') return null;
  const node = (layer as unknown as { inboundNodes: NodeInternals[] }).inboundNodes[t.nodeIndex];
  return { layer, inputs: node.inputTensors, outputs: node.outputTensors };
}

/**
 * Splits a model into a chain of stages: Sequential models at every layer, functional models
 * (ResNet stages, residual and Transformer blocks) at every tensor that all paths from the
 * input to the output pass through. Throws for models with several inputs or outputs and for
 * random layers (dropout), whose recomputation would not reproduce the forward.
 */
export interface ChainOptions {
  /**
   * 'blocks' (default): cut only where a single tensor is live (residual blocks stay whole).
   * 'layers': also cut inside residual blocks, after each layer whose output is the only new
   * live tensor; the block's skip tensor is carried through those stages (Rockmate's finer
   * chain), so the least budget is no longer set by a whole block.
   */
  split?: 'blocks' | 'layers';
}

export function buildChain(model: tf.LayersModel, options: ChainOptions = {}): Chain {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(
      `rematerialization needs a model with one input and one output, got ${model.inputs.length} and ${model.outputs.length}`,
    );
  }
  const input = model.inputs[0];
  const output = model.outputs[0];
  // Collect the nodes that lead to the output, keyed by their first output tensor.
  const nodes = new Map<number, GraphNode>();
  const consumers = new Map<number, GraphNode[]>();
  const stack: Sym[] = [output];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    const p = producer(t);
    if (p === null) {
      if (t.id !== input.id)
        throw new Error(`model graph reaches an input other than ${input.name}`);
      continue;
    }
    const key = p.outputs[0].id;
    if (nodes.has(key)) continue;
    nodes.set(key, p);
    for (const s of p.inputs) {
      const list = consumers.get(s.id) ?? [];
      list.push(p);
      consumers.set(s.id, list);
      stack.push(s);
    }
  }
  for (const n of nodes.values()) {
    const cls = n.layer.getClassName();
    const rate = (n.layer as unknown as { rate?: number }).rate ?? 0;
    if (RANDOM_LAYERS.has(cls) && rate > 0) {
      throw new Error(
        `layer ${n.layer.name} (${cls}) is random in training: a recomputed forward would not match; remove it or set its rate to 0`,
      );
    }
  }
  // Order nodes by longest distance to the output (a topological order in which every node
  // before an articulation tensor comes before every node after it).
  const depth = new Map<GraphNode, number>();
  const depthOf = (n: GraphNode): number => {
    const d = depth.get(n);
    if (d !== undefined) return d;
    let best = 0;
    for (const o of n.outputs) {
      for (const c of consumers.get(o.id) ?? []) best = Math.max(best, depthOf(c) + 1);
    }
    depth.set(n, best);
    return best;
  };
  const order = [...nodes.values()].sort((a, b) => depthOf(b) - depthOf(a));
  const position = new Map<GraphNode, number>();
  order.forEach((n, i) => {
    position.set(n, i);
  });
  // A tensor is live across the cut after node k if produced at or before k and used after k.
  const K = order.length;
  const live: Sym[][] = Array.from({ length: K }, () => []);
  const mark = (t: Sym, from: number) => {
    let last = t.id === output.id ? K : from;
    for (const c of consumers.get(t.id) ?? []) last = Math.max(last, position.get(c)!);
    for (let k = Math.max(from, 0); k < Math.min(last, K); k++) live[k].push(t);
  };
  mark(input, -1);
  for (const n of order) for (const o of n.outputs) mark(o, position.get(n)!);
  // Cut where one tensor is live ('blocks'); with 'layers' also where one tensor computed since
  // the last cut is live beside tensors the last cut already held (they are carried).
  const stages: Stage[] = [];
  let start = 0;
  let stageInput: Sym = input;
  let carried: Sym[] = [];
  for (let k = 0; k < K; k++) {
    const isEnd = k === K - 1;
    const held = new Set([stageInput.id, ...carried.map((c) => c.id)]);
    const fresh = live[k].filter((t) => !held.has(t.id));
    const cut =
      isEnd ||
      live[k].length === 1 ||
      (options.split === 'layers' && fresh.length === 1 && live[k].length > 1);
    if (!cut) continue;
    const out = isEnd ? output : live[k].length === 1 ? live[k][0] : fresh[0];
    const nextCarried = isEnd ? [] : live[k].filter((t) => t.id !== out.id);
    stages.push(
      new Stage(stages.length, order.slice(start, k + 1), stageInput, out, carried, nextCarried),
    );
    stageInput = out;
    carried = nextCarried;
    start = k + 1;
  }
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (variables.length === 0) throw new Error(`model ${model.name} has no trainable weights`);
  return { model, stages, variables };
}
