import * as tf from '@tensorflow/tfjs';
import type { KeptLayer, RemovedLayer, ReplacedLayer, RewriteReport } from './report.js';

type Dict = tf.serialization.ConfigDict;
type LayerNode = tf.layers.Layer['inboundNodes'][number];

/** Weights for a new layer: tensors to copy in (the caller keeps them), or a setter. */
export type NewWeights = tf.Tensor[] | ((layer: tf.layers.Layer) => void);

/**
 * A layer to put into the model: a registered class name with its (tfjs, camelCase) config, or a
 * layer object (its constructor `weights`, if any, are set when it is first applied). `weights`
 * are set once the layer is built.
 */
export type NewLayer =
  | { className: string; config: Record<string, unknown>; weights?: NewWeights }
  | { layer: tf.layers.Layer; weights?: NewWeights };

/** What to do with one layer. */
export type LayerEdit =
  /** Put these layers in its place, applied in a chain (the first gets the layer's inputs). */
  | { replace: NewLayer[]; note?: string }
  /** Drop a single-input, single-output layer: its consumers read its input. */
  | { remove: true; note?: string }
  /** Leave it as it is, saying why (listed in the report). */
  | { keep: string };

/** Edits by layer name, or a function deciding per layer (null: copy it, unreported). */
export type RewritePlan =
  | ReadonlyMap<string, LayerEdit>
  | ((layer: tf.layers.Layer) => LayerEdit | null | undefined);

export interface RewriteResult {
  /** A new model; the input model is left untouched. */
  model: tf.LayersModel;
  report: RewriteReport;
}

/** The layers a layer reads from (first inbound node). */
export function inboundLayers(layer: tf.layers.Layer): tf.layers.Layer[] {
  const node = layer.inboundNodes[0];
  return node ? (node.inboundLayers as tf.layers.Layer[]) : [];
}

/** Layers that read a layer's output. */
export function consumers(layer: tf.layers.Layer): tf.layers.Layer[] {
  return layer.outboundNodes.map((n) => n.outboundLayer as tf.layers.Layer);
}

/** A fresh layer of a registered class from its (camelCase) config. */
function createLayer(className: string, config: Dict): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) {
    throw new Error(
      `rewriteModel: unknown layer class '${className}' (not registered with tf.serialization.registerClass)`,
    );
  }
  const [cls, fromConfig] = entry;
  return fromConfig(cls, { ...config }) as unknown as tf.layers.Layer;
}

/** A copy of a layer from its config (built and given its weights when first applied). */
function cloneLayer(layer: tf.layers.Layer): tf.layers.Layer {
  return createLayer(layer.getClassName(), layer.getConfig());
}

interface Placed {
  layers: tf.layers.Layer[];
  /** Sets each layer's weights once it is built. */
  weights: Map<tf.layers.Layer, () => void>;
}

/** The layers of one replacement, created once so that a shared layer stays shared. */
function placeReplacement(old: tf.layers.Layer, edit: NewLayer[]): Placed {
  const placed: Placed = { layers: [], weights: new Map() };
  for (const n of edit) {
    let layer: tf.layers.Layer;
    if ('layer' in n) layer = n.layer;
    else {
      const config = { ...n.config } as Dict;
      if (config.name === undefined && edit.length === 1) config.name = old.name;
      if (config.dtype === undefined && old.dtype !== undefined) config.dtype = old.dtype;
      layer = createLayer(n.className, config);
    }
    // A frozen layer stays frozen in whatever replaces it.
    if (!old.trainable) layer.trainable = false;
    const w = n.weights;
    if (w) placed.weights.set(layer, () => (Array.isArray(w) ? layer.setWeights(w) : w(layer)));
    placed.layers.push(layer);
  }
  return placed;
}

function modelInputs(model: tf.LayersModel, who: string): tf.SymbolicTensor[] {
  let inputs: tf.SymbolicTensor[] | undefined;
  try {
    inputs = model.inputs;
  } catch (e) {
    throw new Error(`${who}: the model is not built: ${(e as Error).message}`);
  }
  if (!inputs || inputs.length === 0) throw new Error(`${who}: the model has no inputs`);
  return inputs;
}

/** The nodes through which a layer takes part in this model. */
function nodesIn(layer: tf.layers.Layer, model: tf.LayersModel): LayerNode[] {
  const ours = new Set(model.layers);
  return layer.inboundNodes.filter((n) =>
    n.inboundLayers.every((l) => ours.has(l as tf.layers.Layer)),
  );
}

/**
 * The one model rewriter: returns a copy of `model` with layers replaced (by one or several
 * layers, applied in a chain), removed, or copied with their weights. A Sequential model stays
 * Sequential, a functional one keeps its graph; a layer used at several places (shared) is
 * rewritten once and its replacement shared the same way; a frozen layer's replacements are
 * frozen. The report lists what was replaced, removed and kept (with the plan's reasons).
 * Impossible edits (unknown names, input layers, removing a layer with several inputs or
 * outputs) throw before anything is built. The input model is not modified.
 */
export function rewriteModel(model: tf.LayersModel, plan: RewritePlan): RewriteResult {
  const inputs = modelInputs(model, 'rewriteModel');
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const edits = new Map<string, LayerEdit>();
  if (typeof plan === 'function') {
    for (const l of layers) {
      const e = plan(l);
      if (e) edits.set(l.name, e);
    }
  } else {
    const names = new Set(layers.map((l) => l.name));
    for (const [name, e] of plan) {
      if (!names.has(name)) {
        throw new Error(
          `rewriteModel: no layer named '${name}' that can be rewritten (layers: ${[...names].join(', ')})`,
        );
      }
      edits.set(name, e);
    }
  }
  const report: RewriteReport = { replaced: [], removed: [], kept: [] };
  const placed = new Map<string, Placed>();
  for (const layer of layers) {
    const e = edits.get(layer.name);
    if (!e) continue;
    const className = layer.getClassName();
    if ('keep' in e) {
      report.kept.push({ name: layer.name, className, reason: e.keep } satisfies KeptLayer);
    } else if ('remove' in e) {
      for (const n of nodesIn(layer, model)) {
        if (n.inputTensors.length !== 1 || n.outputTensors.length !== 1)
          throw new Error(
            `rewriteModel: cannot remove '${layer.name}': it has ${n.inputTensors.length} inputs and ${n.outputTensors.length} outputs (only single-input, single-output layers can be removed)`,
          );
      }
      report.removed.push({ name: layer.name, className, note: e.note } satisfies RemovedLayer);
    } else {
      if (e.replace.length === 0)
        throw new Error(`rewriteModel: the replacement of '${layer.name}' has no layers`);
      const p = placeReplacement(layer, e.replace);
      placed.set(layer.name, p);
      report.replaced.push({
        name: layer.name,
        className,
        by: p.layers.map((l) => ({ name: l.name, className: l.getClassName() })),
        note: e.note,
      } satisfies ReplacedLayer);
    }
  }
  // Kept and unmentioned layers are copied once each, with their weights.
  const copyOf = (layer: tf.layers.Layer): Placed => {
    let p = placed.get(layer.name);
    if (!p) {
      const clone = cloneLayer(layer);
      p = {
        layers: [clone],
        weights: new Map([[clone, () => clone.setWeights(layer.getWeights())]]),
      };
      placed.set(layer.name, p);
    }
    return p;
  };
  const removed = new Set(report.removed.map((r) => r.name));
  const stand = (layer: tf.layers.Layer): Placed =>
    removed.has(layer.name) ? { layers: [], weights: new Map() } : copyOf(layer);
  const built = new Set<tf.layers.Layer>();
  const afterApply = (p: Placed, l: tf.layers.Layer) => {
    if (built.has(l)) return;
    built.add(l);
    p.weights.get(l)?.();
  };

  const out =
    model instanceof tf.Sequential
      ? rebuildSequential(model, inputs[0], layers, stand, afterApply)
      : rebuildFunctional(model, inputs, layers, removed, stand, afterApply);
  return { model: out, report };
}

function rebuildSequential(
  model: tf.Sequential,
  input: tf.SymbolicTensor,
  layers: tf.layers.Layer[],
  stand: (layer: tf.layers.Layer) => Placed,
  afterApply: (p: Placed, l: tf.layers.Layer) => void,
): tf.Sequential {
  const seq = tf.sequential({ name: model.name });
  let first = true;
  for (const layer of layers) {
    const p = stand(layer);
    for (const l of p.layers) {
      if (first) {
        // The first layer carries the model's input shape (saved with it in model.json).
        if (l.batchInputShape == null) {
          l.batchInputShape = input.shape;
          l.dtype = input.dtype;
        }
        first = false;
      }
      seq.add(l);
      afterApply(p, l);
    }
  }
  if (first) throw new Error('rewriteModel: the rewrite leaves the Sequential model no layers');
  return seq;
}

function rebuildFunctional(
  model: tf.LayersModel,
  inputs: tf.SymbolicTensor[],
  layers: tf.layers.Layer[],
  removed: Set<string>,
  stand: (layer: tf.layers.Layer) => Placed,
  afterApply: (p: Placed, l: tf.layers.Layer) => void,
): tf.LayersModel {
  const map = new Map<number, tf.SymbolicTensor>();
  const newInputs = inputs.map((t) => {
    const x = tf.input({ batchShape: t.shape, dtype: t.dtype, name: t.sourceLayer.name });
    map.set(t.id, x);
    return x;
  });
  const done = new Set<LayerNode>();
  // model.layers is in topological order except where a shared layer is used again deeper
  // down; repeat until every node whose inputs are ready has been rebuilt.
  for (let progress = true; progress; ) {
    progress = false;
    for (const layer of layers) {
      for (const node of layer.inboundNodes) {
        if (done.has(node) || !node.inputTensors.every((t) => map.has(t.id))) continue;
        done.add(node);
        progress = true;
        const ins = node.inputTensors.map((t) => map.get(t.id) as tf.SymbolicTensor);
        if (removed.has(layer.name)) {
          map.set(node.outputTensors[0].id, ins[0]);
          continue;
        }
        const p = stand(layer);
        let x: tf.SymbolicTensor | tf.SymbolicTensor[] = ins.length === 1 ? ins[0] : ins;
        for (const l of p.layers) {
          x = l.apply(x, node.callArgs) as tf.SymbolicTensor | tf.SymbolicTensor[];
          afterApply(p, l);
        }
        const outs = Array.isArray(x) ? x : [x];
        node.outputTensors.forEach((t, i) => {
          map.set(t.id, outs[i]);
        });
      }
    }
  }
  const outputs = model.outputs.map((t) => {
    const y = map.get(t.id);
    if (!y) throw new Error(`rewriteModel: could not rebuild the model output '${t.name}'`);
    return y;
  });
  return tf.model({ inputs: newInputs, outputs, name: model.name });
}

/** A copy of a model: the same layers with their weights, nothing shared with the original. */
export function copyModel(model: tf.LayersModel): tf.LayersModel {
  return rewriteModel(model, new Map()).model;
}
