import * as tf from '@tensorflow/tfjs';
import { hasTrainingLayers, toPlainModel } from '../activation/to-plain.js';
import type { ClassificationData } from '../data/dataset.js';
import { type CompressConfig, validateCompressConfig } from './config.js';
import './methods/builtin.js';
import { pairedLatencyMs, predictAll } from './metrics/output-quality.js';
import { synthesizeFromBatchNorm } from './quantize/data-free.js';
import {
  type CompressContext,
  type CompressProgress,
  getMethod,
  type LayerOptions,
} from './registry.js';
import {
  type CompressReport,
  type CompressStepsReport,
  type EvalSet,
  type ModelSummary,
  type StepRecord,
  summarizeModel,
} from './report.js';
import { sameModel, unchangedWarning } from './unchanged.js';

export interface CompressOptions {
  /** Calibration inputs; default: `calibrationCount` train samples of `data`, else synthesised from batch-norm statistics. */
  calibration?: tf.Tensor;
  calibrationCount?: number;
  /** Labelled data for fine-tuning, bit allocation and evaluation. */
  data?: ClassificationData;
  /** Where to measure before/after; default: `data`'s test split (up to 1000), else calibration. */
  evaluation?: EvalSet;
  /** Measure sizes, FLOPs, latency and quality before and after (default true). */
  measure?: boolean;
  seed?: number;
  onProgress?: (e: CompressProgress) => void;
  /**
   * When the result gets a warning for lost quality: with labels, an accuracy drop above
   * `maxAccuracyDrop` (default 0.02, i.e. 2 points); without, an output SQNR against the
   * original below `minOutputSqnrDb` (default 10 dB).
   */
  qualityThresholds?: { maxAccuracyDrop?: number; minOutputSqnrDb?: number };
}

/** The warning for a large loss of output quality, or null. */
function qualityWarning(
  before: ModelSummary,
  after: ModelSummary,
  evaluatedOn: string,
  t: CompressOptions['qualityThresholds'] = {},
): string | null {
  const maxDrop = t.maxAccuracyDrop ?? 0.02;
  const minSqnr = t.minOutputSqnrDb ?? 10;
  const sqnr = after.outputSqnrDb === null ? 'n/a' : `${after.outputSqnrDb.toFixed(1)} dB`;
  if (before.accuracy !== null && after.accuracy !== null) {
    const drop = before.accuracy - after.accuracy;
    if (drop <= maxDrop) return null;
    return `accuracy fell from ${(before.accuracy * 100).toFixed(2)}% to ${(after.accuracy * 100).toFixed(2)}% on ${evaluatedOn} (${(drop * 100).toFixed(2)} points, more than ${(maxDrop * 100).toFixed(2)}); output SQNR ${sqnr}. Skip or size up the layers with the lowest kernel SQNR, or fine-tune`;
  }
  if (after.outputSqnrDb === null || after.outputSqnrDb >= minSqnr) return null;
  return `output SQNR against the original is ${sqnr} on ${evaluatedOn}, below ${minSqnr} dB: the outputs changed a lot; measure accuracy on labelled data (data / --dataset) before using this model`;
}

export interface CompressResult {
  model: tf.LayersModel;
  report: CompressReport;
}

/** The result of `compress` with `measure: false`: what the steps did, nothing measured. */
export interface UnmeasuredCompressResult {
  model: tf.LayersModel;
  report: CompressStepsReport;
}

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => d ?? '?').join(', ')}]`;
}

/** Checks that inputs given to `compress` fit the model; errors name the option and both shapes. */
function checkInputs(model: tf.LayersModel, options: CompressOptions): void {
  const sample = model.inputs[0].shape.slice(1);
  const fits = (shape: readonly number[]) =>
    shape.length === sample.length && shape.every((d, i) => sample[i] === null || sample[i] === d);
  const check = (what: string, shape: readonly number[]) => {
    if (!fits(shape))
      throw new Error(
        `compress: ${what} has samples ${shapeText(shape)} but the model expects ${shapeText(sample)}`,
      );
  };
  if (options.data) {
    if (model.inputs.length !== 1)
      throw new Error(`compress: data is for one input; the model has ${model.inputs.length}`);
    check(`data '${options.data.name}'`, options.data.sampleShape);
    const classes = model.outputs[0].shape[model.outputs[0].shape.length - 1];
    if (classes !== null && classes !== options.data.numClasses)
      throw new Error(
        `compress: data '${options.data.name}' has ${options.data.numClasses} classes but the model outputs ${classes}`,
      );
  }
  if (options.calibration) check('calibration', options.calibration.shape.slice(1));
  const ev = options.evaluation;
  if (ev) {
    check('evaluation.xs', ev.xs.shape.slice(1));
    if (ev.labels && ev.labels.length !== ev.xs.shape[0])
      throw new Error(
        `compress: evaluation has ${ev.xs.shape[0]} inputs but ${ev.labels.length} labels`,
      );
  }
}

function firstSamples(data: ClassificationData, which: 'train' | 'test', count: number) {
  const n = Math.min(count, data[which].count);
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  return {
    xs: tf.tensor(data[which].x.subarray(0, n * per), [n, ...data.sampleShape]),
    labels: data[which].y.slice(0, n),
  };
}

function layerOptions<O>(
  parse: (raw: Record<string, unknown>, where: string) => O,
  step: CompressConfig['steps'][number],
  index: number,
  model: tf.LayersModel,
): LayerOptions<O> {
  const where = `steps[${index}] (${step.method})`;
  const global = parse(step.options ?? {}, `${where} options`);
  const overrides = new Map<string, O | null>();
  for (const [name, o] of Object.entries(step.layers ?? {})) {
    if (!model.layers.some((l) => l.name === name)) {
      throw new Error(
        `${where}: layer override '${name}' names no layer of the model (layers: ${model.layers.map((l) => l.name).join(', ')})`,
      );
    }
    overrides.set(
      name,
      o === 'skip' ? null : parse({ ...step.options, ...o }, `${where}.layers.${name}`),
    );
  }
  return {
    global,
    forLayer: (name) => (overrides.has(name) ? (overrides.get(name) ?? null) : global),
  };
}

/**
 * Compresses a trained model by a versioned config: each step's method (from the registry) runs
 * in order on the previous step's model. Returns the new model and a report (sizes really
 * serialised, FLOPs, latency on the active backend, accuracy or output SQNR), per layer and in
 * total. The input model is not modified. A model holding frugal's compressed-activation
 * training layers is first turned back into its plain layers (`toPlainModel`, same weights); the
 * report lists them in `restoredLayers`.
 */
export async function compress(
  model: tf.LayersModel,
  config: CompressConfig,
  options?: CompressOptions & { measure?: true },
): Promise<CompressResult>;
export async function compress(
  model: tf.LayersModel,
  config: CompressConfig,
  options: CompressOptions & { measure: false },
): Promise<UnmeasuredCompressResult>;
export async function compress(
  model: tf.LayersModel,
  config: CompressConfig,
  options?: CompressOptions,
): Promise<CompressResult | UnmeasuredCompressResult>;
export async function compress(
  model: tf.LayersModel,
  config: CompressConfig,
  options: CompressOptions = {},
): Promise<CompressResult | UnmeasuredCompressResult> {
  const c = validateCompressConfig(config);
  checkInputs(model, options);
  const seed = options.seed ?? 0;
  const input = model;
  let restoredLayers: string[] = [];
  if (hasTrainingLayers(input)) {
    const plain = await toPlainModel(input);
    model = plain.model;
    restoredLayers = plain.restored.map((l) => l.name);
  }
  const owned: tf.Tensor[] = [];
  const needsCalibration = c.steps.some((s, i) => {
    const m = getMethod(s.method);
    return m.needsCalibration?.(m.parseOptions(s.options ?? {}, `steps[${i}]`)) ?? false;
  });
  let calibration = options.calibration;
  let calibrationLabels: Int32Array | undefined;
  if (!calibration && options.data) {
    const first = firstSamples(options.data, 'train', options.calibrationCount ?? 256);
    calibration = first.xs;
    calibrationLabels = first.labels;
    owned.push(calibration);
  }
  if (!calibration && needsCalibration) {
    calibration = synthesizeFromBatchNorm(model, { count: options.calibrationCount ?? 64, seed });
    owned.push(calibration);
  }
  let current = model;
  try {
    const ctx: CompressContext = {
      calibration,
      calibrationLabels,
      data: options.data,
      seed,
      onProgress: options.onProgress,
    };
    const steps: StepRecord[] = [];
    const warnings: string[] = [];
    for (const [i, step] of c.steps.entries()) {
      const method = getMethod(step.method);
      const t0 = performance.now();
      const result = await method.apply(
        current,
        layerOptions((raw, where) => method.parseOptions(raw, where), step, i, current),
        ctx,
      );
      if (sameModel(current, result.model))
        warnings.push(
          unchangedWarning(`steps[${i}] (${step.method})`, method.appliesTo, result.layers),
        );
      if (current !== model) current.dispose();
      current = result.model;
      steps.push({
        method: step.method,
        seconds: (performance.now() - t0) / 1000,
        layers: result.layers,
      });
    }
    const stepsReport: CompressStepsReport = { config: c, restoredLayers, steps, warnings };
    if (options.measure ?? true) {
      let evalSet = options.evaluation;
      let evaluatedOn = 'the evaluation set';
      if (!evalSet && options.data) {
        evalSet = firstSamples(options.data, 'test', 1000);
        evaluatedOn = `${evalSet.xs.shape[0]} test samples`;
        owned.push(evalSet.xs);
      }
      if (!evalSet) {
        evaluatedOn = calibration
          ? `${calibration.shape[0]} calibration inputs (no labelled data)`
          : '32 random normal inputs (no data given)';
        const xs =
          calibration ??
          tf.randomNormal(
            [32, ...(model.inputs[0].shape.slice(1) as number[])],
            0,
            1,
            'float32',
            seed,
          );
        if (!calibration) owned.push(xs);
        evalSet = { xs: xs as tf.Tensor };
      }
      const backend = tf.getBackend();
      const report: CompressReport = {
        ...stepsReport,
        before: await summarizeModel(model, evalSet, backend),
        after: await summarizeModel(current, evalSet, backend, {
          model,
          outputs: predictAll(model, evalSet.xs),
        }),
      };
      const batch = evalSet.xs.slice(0, Math.min(32, evalSet.xs.shape[0]));
      try {
        [report.before.latencyMs, report.after.latencyMs] = await pairedLatencyMs(
          model,
          current,
          batch,
        );
      } finally {
        batch.dispose();
      }
      const q = qualityWarning(report.before, report.after, evaluatedOn, options.qualityThresholds);
      if (q) warnings.push(q);
      return { model: current, report };
    }
    return { model: current, report: stepsReport };
  } catch (e) {
    if (current !== model && current !== input) current.dispose();
    current = input;
    throw e;
  } finally {
    tf.dispose(owned);
    if (model !== input && model !== current) model.dispose();
  }
}
