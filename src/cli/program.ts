import { Command } from 'commander';
import { DATASETS } from '../data/load.js';
import { ZOO_MODELS } from '../models/zoo.js';
import { OPTIMIZERS } from '../train/optimizer.js';

import { planCommand } from './commands/plan.js';
import { trainCommand } from './commands/train.js';
import {
  integer,
  memorySize,
  nonNegativeInt,
  oneOf,
  positiveInt,
  positiveNumber,
} from './parse.js';

const REMAT_MODES = ['exact', 'joint'] as const;

/** Builds the `frugal` command tree; exported so tests can drive it without a subprocess. */
export function buildCli(): Command {
  const program = new Command();
  program
    .name('frugal')
    .description(
      'Cheaper neural-network training and smaller models on TensorFlow.js.\n' +
        'Train zoo models while measuring step time and memory, compress trained models, and benchmark.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('train')
    .description(
      'Train a zoo model on a data set; prints accuracy, step time, activation and peak memory, and writes a JSON report.',
    )
    .option(
      '--model <name>',
      `zoo model: ${ZOO_MODELS.join(', ')}`,
      oneOf(ZOO_MODELS, 'model'),
      'mlp',
    )
    .option(
      '--dataset <name>',
      `data set: ${DATASETS.join(', ')}`,
      oneOf(DATASETS, 'dataset'),
      'mnist',
    )
    .option('--epochs <n>', 'training epochs', positiveInt, 1)
    .option('--batch <n>', 'batch size', positiveInt, 64)
    .option('--lr <x>', 'learning rate', positiveNumber, 1e-3)
    .option(
      '--optimizer <name>',
      `optimizer: ${OPTIMIZERS.join(', ')}`,
      oneOf(OPTIMIZERS, 'optimizer'),
      'adam',
    )
    .option('--backend <name>', 'tfjs backend (cpu, wasm, or any registered one)', 'wasm')
    .option('--seed <n>', 'random seed (data split, shuffling, initial weights)', integer, 0)
    .option(
      '--train-count <n>',
      'training samples (MNIST: train + test at most 10000)',
      positiveInt,
    )
    .option('--test-count <n>', 'test samples', positiveInt)
    .option('--max-steps <n>', 'stop each epoch after n steps (0 = all)', nonNegativeInt, 0)
    .option('--out <file>', 'write the JSON report here', 'runs/train-report.json')
    .option('--save <dir>', 'save the trained model (model.json + weights.bin) in this directory')
    .option('--no-progress', 'do not draw a progress bar')
    .option(
      '--memory-budget <size>',
      'plan each step to fit this activation memory (64MB, 512KiB, bytes; MB = 10^6 bytes, MiB = 2^20)',
      memorySize,
    )
    .option(
      '--remat <mode>',
      'planner: exact (recompute) or joint (also compressed tapes)',
      oneOf(REMAT_MODES, 'remat mode'),
      'exact',
    )
    .action(async (opts) => {
      await trainCommand(opts);
    });

  program
    .command('plan')
    .description(
      'Profile a zoo model stage by stage and plan a training step within a memory budget: prints the schedule and its predicted time and activation memory.',
    )
    .option(
      '--model <name>',
      `zoo model: ${ZOO_MODELS.join(', ')}`,
      oneOf(ZOO_MODELS, 'model'),
      'mlp',
    )
    .option(
      '--dataset <name>',
      `data set (for sample shapes): ${DATASETS.join(', ')}`,
      oneOf(DATASETS, 'dataset'),
      'mnist',
    )
    .option('--batch <n>', 'batch size', positiveInt, 64)
    .requiredOption(
      '--memory-budget <size>',
      'activation memory budget (64MB, 512KiB, bytes; MB = 10^6 bytes, MiB = 2^20)',
      memorySize,
    )
    .option(
      '--remat <mode>',
      'planner: exact (recompute) or joint (also compressed tapes)',
      oneOf(REMAT_MODES, 'remat mode'),
      'exact',
    )
    .option(
      '--optimizer <name>',
      `optimizer (its update memory counts): ${OPTIMIZERS.join(', ')}`,
      oneOf(OPTIMIZERS, 'optimizer'),
      'adam',
    )
    .option('--backend <name>', 'tfjs backend (cpu, wasm, or any registered one)', 'wasm')
    .option('--seed <n>', 'random seed', integer, 0)
    .option('--repeats <n>', 'timed repetitions per stage measurement', positiveInt, 3)
    .option('--out <file>', 'write the JSON report here')
    .action(async (opts) => {
      await planCommand(opts);
    });

  return program;
}
