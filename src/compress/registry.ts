import type * as tf from '@tensorflow/tfjs';
import type { ClassificationData } from '../data/dataset.js';
import type { RawOptions } from './options.js';

/** Progress of a long compression step (e.g. AdaQuant), for the CLI's bar. */
export interface CompressProgress {
  method: string;
  /** What is being worked on, e.g. a layer name. */
  item: string;
  done: number;
  total: number;
}

export interface CompressContext {
  /** Input samples for calibration (AdaQuant, bias correction, bit allocation). */
  calibration?: tf.Tensor;
  /** Labels of the calibration samples, when known. */
  calibrationLabels?: Int32Array;
  /** Labelled data: fine-tuning uses its train split, bit allocation its labels. */
  data?: ClassificationData;
  seed: number;
  onProgress?: (e: CompressProgress) => void;
}

/** A method's options for one layer: the step's options merged with that layer's override. */
export interface LayerOptions<O> {
  global: O;
  /** Options for a layer, or null when the config skips it. */
  forLayer(name: string): O | null;
}

export interface MethodResult {
  model: tf.LayersModel;
  /** What the method did to each layer it touched (shown in the report). */
  layers: Record<string, string>;
}

/**
 * A compression method: parses its options (errors name the field) and turns a model into a new
 * one. `apply` must not modify or dispose its input model.
 */
export interface CompressionMethod<O = unknown> {
  readonly name: string;
  readonly summary: string;
  /** The layers it acts on, for the warning when a step changes nothing (e.g. 'Embedding layers'). */
  readonly appliesTo?: string;
  /** Whether these options need calibration inputs (synthesised from batch-norm if none). */
  needsCalibration?(options: O): boolean;
  parseOptions(raw: RawOptions, where: string): O;
  apply(
    model: tf.LayersModel,
    options: LayerOptions<O>,
    ctx: CompressContext,
  ): Promise<MethodResult>;
}

const methods = new Map<string, CompressionMethod>();

/** Adds (or replaces) a method; other modules plug in this way (e.g. 'lowrank'). */
export function registerMethod<O>(method: CompressionMethod<O>): void {
  methods.set(method.name, method as CompressionMethod);
}

export function getMethod(name: string): CompressionMethod {
  const m = methods.get(name);
  if (!m) {
    throw new Error(
      `unknown compression method '${name}': choose one of ${[...methods.keys()].join(', ')}`,
    );
  }
  return m;
}

export function methodNames(): string[] {
  return [...methods.keys()];
}
