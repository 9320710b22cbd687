import { defaultSeed } from '../engine/settings.js';
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
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 1,
  batchSize: 64,
  learningRate: 1e-3,
  optimizer: 'adam',
  seed: 0,
  maxStepsPerEpoch: 0,
  measureMemory: true,
};

function positiveInt(name: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1)) {
    throw new Error(
      `train config: ${name} must be ${allowZero ? 'a non-negative' : 'a positive'} integer, got ${JSON.stringify(v)}`,
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
  const c = { ...DEFAULT_TRAIN_CONFIG, seed: defaultSeed(), ...input };
  positiveInt('epochs', c.epochs);
  positiveInt('batchSize', c.batchSize);
  positiveInt('maxStepsPerEpoch', c.maxStepsPerEpoch, true);
  if (typeof c.seed !== 'number' || !Number.isInteger(c.seed))
    throw new Error(`train config: seed must be an integer, got ${JSON.stringify(c.seed)}`);
  if (
    typeof c.learningRate !== 'number' ||
    !(c.learningRate > 0) ||
    !Number.isFinite(c.learningRate)
  ) {
    throw new Error(
      `train config: learningRate must be a positive number, got ${JSON.stringify(c.learningRate)}`,
    );
  }
  if (!(OPTIMIZERS as readonly string[]).includes(c.optimizer)) {
    throw new Error(
      `train config: optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(c.optimizer)}`,
    );
  }
  if (typeof c.measureMemory !== 'boolean')
    throw new Error('train config: measureMemory must be a boolean');
  return c;
}
