import type * as tf from '@tensorflow/tfjs';
import type { CompressConfig } from './config.js';
import { layerBytes, layerFlops, layerParameters, modelFlops } from './metrics/layer-cost.js';
import { accuracyOf, latencyMs, predictAll, sqnrDb } from './metrics/output-quality.js';
import { savedSize } from './metrics/saved-size.js';
import { asKernelLayer } from './packed/layer-kernels.js';

/** Inputs to evaluate on; with labels the report gives accuracy, always output SQNR. */
export interface EvalSet {
  xs: tf.Tensor;
  labels?: Int32Array;
}

export interface LayerSummary {
  name: string;
  className: string;
  parameters: number;
  bytes: number;
  flops: number;
  /** SQNR (dB) of this layer's decoded kernel against the same-named layer of the original. */
  kernelSqnrDb: number | null;
}

export interface ModelSummary {
  parameters: number;
  /** model.json + weights.bin bytes, serialised for real. */
  fileBytes: number;
  weightBytes: number;
  flops: number;
  latencyMs: number;
  backend: string;
  accuracy: number | null;
  /** Output SQNR (dB) against the original model (null for the original itself). */
  outputSqnrDb: number | null;
  layers: LayerSummary[];
}

export interface StepRecord {
  method: string;
  seconds: number;
  layers: Record<string, string>;
}

/** What the steps did (a `compress` run with `measure: false` reports only this). */
export interface CompressStepsReport {
  config: CompressConfig;
  /** Compressed-activation training layers turned back into plain layers before the steps ran. */
  restoredLayers: string[];
  steps: StepRecord[];
  /** What the user should know: a step that changed nothing, a large loss of output quality. */
  warnings: string[];
}

/** What the steps did, and the model measured before and after them. */
export interface CompressReport extends CompressStepsReport {
  before: ModelSummary;
  after: ModelSummary;
}

async function latencyOnBatch(model: tf.LayersModel, xs: tf.Tensor): Promise<number> {
  const batch = xs.slice(0, Math.min(32, xs.shape[0]));
  try {
    return await latencyMs(model, batch);
  } finally {
    batch.dispose();
  }
}

function kernelSqnr(layer: tf.layers.Layer, original: tf.LayersModel | null): number | null {
  if (!original) return null;
  const k = asKernelLayer(layer);
  const ref = original.layers.find((l) => l.name === layer.name);
  const r = ref ? asKernelLayer(ref) : null;
  if (!k || !r || k.kernelShape.join() !== r.kernelShape.join()) return null;
  return sqnrDb(r.kernel(), k.kernel());
}

/** Measures a model: sizes (really serialised), FLOPs, latency, accuracy / output SQNR. */
export async function summarizeModel(
  model: tf.LayersModel,
  evalSet: EvalSet,
  backend: string,
  reference?: { model: tf.LayersModel; outputs: Float32Array },
): Promise<ModelSummary> {
  const size = await savedSize(model);
  const outputs = predictAll(model, evalSet.xs);
  const layers = model.layers
    .filter((l) => l.weights.length > 0)
    .map((l) => ({
      name: l.name,
      className: l.getClassName(),
      parameters: layerParameters(l),
      bytes: layerBytes(l),
      flops: layerFlops(l),
      kernelSqnrDb: kernelSqnr(l, reference?.model ?? null),
    }));
  return {
    parameters: layers.reduce((s, l) => s + l.parameters, 0),
    fileBytes: size.totalBytes,
    weightBytes: size.weightBytes,
    flops: modelFlops(model),
    latencyMs: await latencyOnBatch(model, evalSet.xs),
    backend,
    accuracy: evalSet.labels ? accuracyOf(outputs, evalSet.labels) : null,
    outputSqnrDb: reference ? sqnrDb(reference.outputs, outputs) : null,
    layers,
  };
}
