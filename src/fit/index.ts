// frugal inside tfjs's own training API. `frugalFit(model)` replaces the train function that
// `model.fit` / `model.fitDataset` / `model.trainOnBatch` build, so each of their steps runs
// through frugal's training seam (train/gradients.ts `applyStep`): frugal's forward (compressed
// activations, checkpointed or chunked forwards), its losses and a recipe's StepHooks, while tfjs
// keeps the epochs, batching, shuffling, validation, history and callbacks. `memoryMeterCallback`
// is a tfjs callback that has one step measured by frugal's memory meter.
import * as tf from '@tensorflow/tfjs';
import { meterStepSync, optimizerStateBytes, type StepMemory } from '../report/memory-meter.js';
import { applyStep, defaultForward, type ForwardFn, type StepHooks } from '../train/gradients.js';
import { type Loss, type LossName, outputActivation, resolveLoss } from '../train/loss.js';
import { allWeights } from '../train/step.js';

export interface FrugalFitOptions {
  /** What the model outputs (see LOSSES); default 'auto'. Replaces the loss given to compile. */
  loss?: LossName | Loss;
  /** Custom forward pass (e.g. checkpointed); defaults to the model's own. */
  forward?: ForwardFn;
  /** A recipe's hooks into every step (see StepHooks). */
  hooks?: StepHooks;
  /** Receives warnings (default console.warn). */
  warn?: (message: string) => void;
}

/** tfjs loss names that take probabilities (tfjs normalises the output by its sum). */
const PROBABILITY_LOSSES = ['categoricalCrossentropy', 'sparseCategoricalCrossentropy'];

/**
 * The warning for a compile loss that takes probabilities on a model that outputs logits: frugal
 * trains with its own loss, but tfjs's steps (evaluate, or fit after detach) use compile's, whose
 * gradient on logits is wrong and NaN when a row of logits sums to about zero.
 */
function compileLossWarning(model: tf.LayersModel, compiled: unknown): string | undefined {
  const name = Array.isArray(compiled) ? compiled[0] : compiled;
  if (typeof name !== 'string' || !PROBABILITY_LOSSES.includes(name)) return undefined;
  const activation = outputActivation(model);
  if (activation !== null && activation !== 'linear') return undefined;
  return `frugalFit: compile's loss '${name}' takes probabilities but the model outputs logits (no softmax): frugal's steps train with softmax cross-entropy, while tfjs's own (evaluate, or fit after detach) use compile's loss, whose gradient on logits is wrong; compile with a logits loss such as (y, p) => tf.losses.softmaxCrossEntropy(y, p)`;
}

/** The internals of a compiled LayersModel that the train function reads (tfjs-layers 4.x). */
interface CompiledModel {
  optimizer: tf.Optimizer;
  inputs: tf.SymbolicTensor[];
  outputs: tf.SymbolicTensor[];
  metricsTensors?: Array<[(yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor, number]>;
  makeTrainFunction: () => (data: tf.Tensor[]) => tf.Scalar[];
}

/** A model whose fit/fitDataset steps run through frugal; `detach` restores tfjs's own. */
export interface FrugalFitSession {
  readonly model: tf.LayersModel;
  /** Steps taken through frugal since attaching. */
  readonly steps: number;
  /** Has the next step measured by the memory meter (see memoryMeterCallback). */
  measureNextStep(): Promise<void>;
  /** The memory of the last measured step, once the step after measureNextStep has run. */
  takeMeasurement(): Promise<StepMemory | undefined>;
  detach(): void;
}

const attached = new WeakMap<tf.LayersModel, FrugalFitSession>();

/**
 * Makes `model.fit`, `model.fitDataset` and `model.trainOnBatch` take their steps through
 * frugal's training seam. Call after `model.compile` (its optimizer and metrics are used; frugal's
 * `loss` option replaces compile's loss; sample weights and multi-output models are rejected).
 */
export function frugalFit(model: tf.LayersModel, options: FrugalFitOptions = {}): FrugalFitSession {
  // A Sequential trains through its inner LayersModel (`model.model`): patch that one.
  const inner = (model as unknown as { model?: unknown }).model;
  const m = (inner instanceof tf.LayersModel ? inner : model) as unknown as CompiledModel;
  if (attached.has(model)) throw new Error('frugalFit: the model is already attached');
  if (!m.optimizer) throw new Error('frugalFit: compile the model first (model.compile)');
  if (m.inputs.length !== 1 || m.outputs.length !== 1)
    throw new Error(
      `frugalFit: supports one input and one output, the model has ${m.inputs.length} and ${m.outputs.length}`,
    );
  const loss = resolveLoss(model, options.loss ?? 'auto');
  const mismatch = compileLossWarning(model, (m as unknown as { loss?: unknown }).loss);
  if (mismatch && options.loss === undefined) (options.warn ?? console.warn)(mismatch);
  const forward = options.forward ?? defaultForward(model);
  const own = m.makeTrainFunction;
  let steps = 0;
  let pendingBefore: number | undefined;
  let lastRun: { finish: (optimizerBytes: number) => StepMemory } | undefined;

  const trainFunction = (data: tf.Tensor[]): tf.Scalar[] => {
    if (data.length > 2 && data[2] != null)
      throw new Error('frugalFit: sample weights are not supported');
    const [xs, ys] = data;
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const metrics: tf.Scalar[] = [];
    const metered: ForwardFn = (x, training) => {
      const out = forward(x, training);
      for (const [fn] of m.metricsTensors ?? []) metrics.push(tf.keep(tf.mean(fn(ys, out))));
      return out;
    };
    const ctx = { variables, forward: metered, loss };
    let value: tf.Scalar;
    if (pendingBefore !== undefined) {
      const run = meterStepSync(
        {
          variables,
          weights: allWeights(model),
          optimizer: m.optimizer,
          inputs: [xs, ys],
          run: (mark) =>
            applyStep(ctx, m.optimizer, { xs, ys }, options.hooks, { onForwardEnd: mark }),
        },
        pendingBefore,
      );
      pendingBefore = undefined;
      lastRun = run;
      value = run.loss;
    } else {
      value = applyStep(ctx, m.optimizer, { xs, ys }, options.hooks);
    }
    steps++;
    // A hook may run several passes: report the metrics of the first.
    const n = (m.metricsTensors ?? []).length;
    tf.dispose(metrics.slice(n));
    return [value, ...metrics.slice(0, n)];
  };
  m.makeTrainFunction = () => trainFunction;

  const session: FrugalFitSession = {
    model,
    get steps() {
      return steps;
    },
    async measureNextStep() {
      pendingBefore = await optimizerStateBytes(m.optimizer);
    },
    async takeMeasurement() {
      if (!lastRun) return undefined;
      const run = lastRun;
      lastRun = undefined;
      return run.finish(await optimizerStateBytes(m.optimizer));
    },
    detach() {
      m.makeTrainFunction = own;
      attached.delete(model);
    },
  };
  attached.set(model, session);
  return session;
}

export interface MemoryMeterCallbackOptions {
  /** Which step (0-based, counted over the whole fit) is measured; default 1 (after warm-up). */
  step?: number;
  /** Receives the measured step's memory (also kept in `callback.memory`). */
  onMeasured?: (memory: StepMemory, step: number) => void;
}

/**
 * A tfjs callback (pass it in `callbacks` of fit / fitDataset) that has one step of a frugalFit
 * model measured by frugal's memory meter; the figures arrive in that batch's logs too
 * (`peakBytes`, `savedActivationBytes`, `activationBytes`).
 */
export class MemoryMeterCallback extends tf.Callback {
  memory: StepMemory | undefined;
  private seen = 0;
  private readonly target: number;

  constructor(
    private readonly session: FrugalFitSession,
    private readonly options: MemoryMeterCallbackOptions = {},
  ) {
    super();
    const step = options.step ?? 1;
    if (!Number.isInteger(step) || step < 0)
      throw new Error(`memoryMeterCallback: step must be an integer >= 0, got ${step}`);
    this.target = step;
  }

  override async onBatchBegin(): Promise<void> {
    if (this.seen === this.target) await this.session.measureNextStep();
  }

  override async onBatchEnd(_batch: number, logs?: tf.Logs): Promise<void> {
    if (this.seen === this.target) {
      const memory = await this.session.takeMeasurement();
      if (!memory)
        throw new Error(
          'memoryMeterCallback: the step was not measured (is the model attached with frugalFit?)',
        );
      this.memory = memory;
      if (logs) {
        logs.peakBytes = memory.peakBytes;
        logs.savedActivationBytes = memory.savedActivationBytes;
        logs.activationBytes = memory.activationBytes;
      }
      this.options.onMeasured?.(memory, this.seen);
    }
    this.seen++;
  }
}

/** `new MemoryMeterCallback(session, options)`. */
export function memoryMeterCallback(
  session: FrugalFitSession,
  options: MemoryMeterCallbackOptions = {},
): MemoryMeterCallback {
  return new MemoryMeterCallback(session, options);
}
