import { boolean, integer, number, object, oneOf, versionedConfig } from '../config/index.js';
import { defaultSeed } from '../engine/settings.js';
import { LOSSES, type LossName } from './loss.js';
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
  /** What the model outputs and so which loss trains it (see LOSSES); 'auto' reads the output layer. */
  loss: LossName;
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
  loss: 'auto',
};

const FIELDS = object({
  epochs: integer({ min: 1 }),
  batchSize: integer({ min: 1 }),
  learningRate: number({ above: 0 }),
  optimizer: oneOf(OPTIMIZERS),
  seed: integer(),
  maxStepsPerEpoch: integer({ min: 0 }),
  measureMemory: boolean(),
  loss: oneOf(LOSSES),
});

/** The versioned train config: `validate`, and a JSON round trip (`toJSON` / `parse`). */
export const trainConfig = versionedConfig<TrainConfig>({
  name: 'train config',
  version: TRAIN_CONFIG_VERSION,
  check: (raw, at) => {
    const { version: _v, ...defaults } = DEFAULT_TRAIN_CONFIG;
    // A field given as undefined takes its default, as an absent one does.
    const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
    return FIELDS({ ...defaults, seed: defaultSeed(), ...given }, at);
  },
});

/** Checks every field (errors name it and the value got) and fills defaults. */
export function validateTrainConfig(input: Partial<TrainConfig> = {}): TrainConfig {
  return trainConfig.validate(input);
}
