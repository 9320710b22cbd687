import { Option } from 'commander';
import { DATASETS, type DatasetName } from '../data/load.js';
import { ZOO_MODELS, type ZooModelName } from '../models/zoo.js';
import { OPTIMIZERS } from '../train/optimizer.js';
import { integer, memorySize, oneOf, positiveInt } from './parse.js';

/** Options that several `frugal` commands define alike (add with `command.addOption(...)`). */

export function modelOption(defaultModel: ZooModelName): Option {
  return new Option('--model <name>', `zoo model: ${ZOO_MODELS.join(', ')}`)
    .argParser(oneOf(ZOO_MODELS, 'model'))
    .default(defaultModel);
}

/** `--dataset`; `purpose` starts the help text ("data set: mnist, ..."). */
export function datasetOption(purpose = 'data set', defaultName?: DatasetName): Option {
  return new Option('--dataset <name>', `${purpose}: ${DATASETS.join(', ')}`)
    .argParser(oneOf(DATASETS, 'dataset'))
    .default(defaultName);
}

export function batchOption(defaultBatch: number): Option {
  return new Option('--batch <n>', 'batch size').argParser(positiveInt).default(defaultBatch);
}

export function optimizerOption(description = 'optimizer'): Option {
  return new Option('--optimizer <name>', `${description}: ${OPTIMIZERS.join(', ')}`)
    .argParser(oneOf(OPTIMIZERS, 'optimizer'))
    .default('adam');
}

export function backendOption(): Option {
  return new Option('--backend <name>', 'tfjs backend (cpu, wasm, or any registered one)').default(
    'wasm',
  );
}

export function seedOption(description = 'random seed'): Option {
  return new Option('--seed <n>', description).argParser(integer).default(0);
}

export function memoryBudgetOption(description: string): Option {
  return new Option('--memory-budget <size>', description).argParser(memorySize);
}

export const REMAT_MODES = ['exact', 'joint'] as const;

export function rematOption(
  description: string,
  defaultMode?: (typeof REMAT_MODES)[number],
): Option {
  return new Option('--remat <mode>', description)
    .argParser(oneOf(REMAT_MODES, 'remat mode'))
    .default(defaultMode);
}

export function reportOutOption(defaultPath?: string): Option {
  return new Option('--out <file>', 'write the JSON report here').default(defaultPath);
}

export function noProgressOption(): Option {
  return new Option('--no-progress', 'do not draw a progress bar');
}

export function noFastKernelsOption(): Option {
  return new Option(
    '--no-fast-kernels',
    "use tfjs's stock kernels instead of frugal's fast training kernels",
  );
}
