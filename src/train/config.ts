import { boolean, integer, number, object, oneOf, versionedConfig } from '../config/index.js';
import { defaultSeed } from '../engine/seed.js';
import { OPTIMIZERS, type OptimizerName } from './optimizer.js';

export const TRAIN_CONFIG_VERSION = 1;

/** Plain-data training configuration; `validateTrainConfig` fills defaults and checks every field. */
export interface TrainConfig {
  version: typeof TRAIN_CONFIG_VERSION;
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
  version: TRAIN_CONFIG_VERSION,
  epochs: 1,
  batchSize: 64,
  learningRate: 1e-3,
  optimizer: 'adam',
  seed: 0,
  maxStepsPerEpoch: 0,
  measureMemory: true,
};

const FIELDS = object({
  epochs: integer({ min: 1 }),
  batchSize: integer({ min: 1 }),
  learningRate: number({ above: 0 }),
  optimizer: oneOf(OPTIMIZERS),
  seed: integer(),
  maxStepsPerEpoch: integer({ min: 0 }),
  measureMemory: boolean(),
});

/** The versioned train config: `validate`, and a JSON round trip (`toJSON` / `parse`). */
export const trainConfig = versionedConfig<TrainConfig>({
  name: 'train config',
  version: TRAIN_CONFIG_VERSION,
  check: (raw, at) => {
    const { version: _v, ...defaults } = DEFAULT_TRAIN_CONFIG;
    return FIELDS({ ...defaults, seed: defaultSeed(), ...raw }, at);
  },
});

/** Checks every field (errors name it and the value got) and fills defaults. */
export function validateTrainConfig(input: Partial<TrainConfig> = {}): TrainConfig {
  return trainConfig.validate(input);
}
