import { defaultSeed } from '../engine/settings.js';
import { LOSSES, type LossName } from './loss.js';
import { OPTIMIZERS, type OptimizerName } from './optimizer.js';

/** Plain-data training configuration; `validateTrainConfig` fills defaults and checks every field. */
export interface TrainConfig {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: OptimizerName;
  seed: number;
  /** Stop each epoch after this many steps (0 = the whole training split). */
  maxStepsPerEpoch: number;
  /** Measure the memory of one training step (the second of the run) with the memory meter. */
  measureMemory: boolean;
  /** What the model outputs and so which loss trains it (see LOSSES); 'auto' reads the output layer. */
  loss: LossName;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 1,
  batchSize: 64,
  learningRate: 1e-3,
  optimizer: 'adam',
  seed: 0,
  maxStepsPerEpoch: 0,
  measureMemory: true,
  loss: 'auto',
};

/** A value as an error message shows it: numbers as JS prints them (NaN, Infinity), else JSON. */
function shown(v: unknown): string {
  return typeof v === 'number' || v === undefined ? String(v) : JSON.stringify(v);
}

function positiveInt(name: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new Error(
      `train config: ${name} must be ${allowZero ? 'a non-negative' : 'a positive'} integer, got ${shown(v)}`,
    );
  }
  return v;
}

export function validateTrainConfig(input: Partial<TrainConfig> = {}): TrainConfig {
  const known = new Set(Object.keys(DEFAULT_TRAIN_CONFIG));
  for (const k of Object.keys(input)) {
    if (!known.has(k))
      throw new Error(`train config: unknown field '${k}' (known: ${[...known].join(', ')})`);
  }
  // A field given as undefined takes its default, as an absent one does.
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const c: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, seed: defaultSeed(), ...given };
  positiveInt('epochs', c.epochs);
  positiveInt('batchSize', c.batchSize);
  positiveInt('maxStepsPerEpoch', c.maxStepsPerEpoch, true);
  if (typeof c.seed !== 'number' || !Number.isInteger(c.seed))
    throw new Error(`train config: seed must be an integer, got ${shown(c.seed)}`);
  if (
    typeof c.learningRate !== 'number' ||
    !(c.learningRate > 0) ||
    !Number.isFinite(c.learningRate)
  ) {
    throw new Error(
      `train config: learningRate must be a positive number, got ${shown(c.learningRate)}`,
    );
  }
  if (!(OPTIMIZERS as readonly string[]).includes(c.optimizer)) {
    throw new Error(
      `train config: optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${shown(c.optimizer)}`,
    );
  }
  if (typeof c.measureMemory !== 'boolean')
    throw new Error(`train config: measureMemory must be a boolean, got ${shown(c.measureMemory)}`);
  if (!(LOSSES as readonly string[]).includes(c.loss))
    throw new Error(`train config: loss must be one of ${LOSSES.join(', ')}, got ${shown(c.loss)}`);
  return c;
}
