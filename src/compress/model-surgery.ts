import * as tf from '@tensorflow/tfjs';

/** A layer's entry in the serialized topology (python-style keys, as `model.toJSON` writes). */
export type PyConfig = Record<string, unknown>;

export interface LayerReplacement {
  /** Registered class name of the new layer (a tfjs or frugal layer). */
  className: string;
  /** The new layer's config (tfjs or python-style keys), given the old one. */
  config: (old: PyConfig) => PyConfig;
  /** Sets the new layer's weights once it is built (default: none). */
  setWeights?: (layer: tf.layers.Layer) => void;
}

export interface Surgery {
  replace?: Map<string, LayerReplacement>;
  /** Single-input layers to drop; their consumers read the dropped layer's input instead. */
  remove?: Set<string>;
}

interface SeqEntry {
  class_name: string;
  config: PyConfig;
}
interface FunEntry extends SeqEntry {
  name: string;
  inbound_nodes: unknown[][][];
}
type NodeRef = [string, number, number, ...unknown[]];

function rewireFunctional(config: PyConfig, removed: string): void {
  const layers = config.layers as FunEntry[];
  const entry = layers.find((l) => l.name === removed);
  if (!entry) throw new Error(`model surgery: no layer named '${removed}'`);
  if (entry.inbound_nodes.length !== 1 || entry.inbound_nodes[0].length !== 1) {
    throw new Error(`model surgery: cannot remove '${removed}', it is not a single-input layer`);
  }
  const source = entry.inbound_nodes[0][0] as NodeRef;
  const redirect = (ref: NodeRef): NodeRef =>
    ref[0] === removed ? [source[0], source[1], source[2], ...ref.slice(3)] : ref;
  for (const l of layers) {
    l.inbound_nodes = l.inbound_nodes.map((node) => node.map((r) => redirect(r as NodeRef)));
  }
  config.output_layers = (config.output_layers as NodeRef[]).map(redirect);
  config.layers = layers.filter((l) => l.name !== removed);
}

/**
 * Builds a new model from `model` with layers replaced or removed, by editing the serialized
 * topology (works for Sequential and functional models) and copying every other layer's weights
 * by name. The input model is left untouched.
 */
export async function rebuildModel(
  model: tf.LayersModel,
  surgery: Surgery,
): Promise<tf.LayersModel> {
  const topo = model.toJSON(null, false) as PyConfig;
  const config = topo.config as PyConfig;
  const sequential = topo.class_name === 'Sequential';
  const replace = surgery.replace ?? new Map<string, LayerReplacement>();
  const remove = surgery.remove ?? new Set<string>();
  for (const name of [...replace.keys(), ...remove]) model.getLayer(name); // throws on unknown names
  const entries = config.layers as (SeqEntry | FunEntry)[];
  const nameOf = (e: SeqEntry | FunEntry) =>
    sequential ? (e.config.name as string) : (e as FunEntry).name;
  for (const e of entries) {
    const r = replace.get(nameOf(e));
    if (!r) continue;
    const old = e.config;
    const fresh: PyConfig = { ...r.config(old), name: old.name };
    if (old.batch_input_shape && !fresh.batch_input_shape && !fresh.batchInputShape)
      fresh.batch_input_shape = old.batch_input_shape;
    if (old.dtype && !fresh.dtype) fresh.dtype = old.dtype;
    e.class_name = r.className;
    e.config = fresh;
  }
  if (sequential) {
    const kept: SeqEntry[] = [];
    let carriedShape: unknown;
    for (const e of entries) {
      if (remove.has(nameOf(e))) {
        carriedShape ??= e.config.batch_input_shape;
        continue;
      }
      if (carriedShape && !e.config.batch_input_shape) e.config.batch_input_shape = carriedShape;
      carriedShape = undefined;
      kept.push(e);
    }
    config.layers = kept;
  } else {
    for (const name of remove) rewireFunctional(config, name);
  }
  const rebuilt = await tf.models.modelFromJSON({
    modelTopology: topo as tf.io.ModelArtifacts['modelTopology'],
  } as Parameters<typeof tf.models.modelFromJSON>[0]);
  for (const layer of rebuilt.layers) {
    const r = replace.get(layer.name);
    if (r) r.setWeights?.(layer);
    else if (layer.weights.length > 0) layer.setWeights(model.getLayer(layer.name).getWeights());
  }
  return rebuilt;
}

/** The layers a layer reads from (first inbound node). */
export function inboundLayers(layer: tf.layers.Layer): tf.layers.Layer[] {
  const node = layer.inboundNodes[0];
  return node ? (node.inboundLayers as tf.layers.Layer[]) : [];
}

/** Layers (excluding input layers) that read a layer's output. */
export function consumers(layer: tf.layers.Layer): tf.layers.Layer[] {
  return layer.outboundNodes.map((n) => n.outboundLayer as tf.layers.Layer);
}
