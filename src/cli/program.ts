import { Command } from 'commander';
import { DATASETS } from '../data/load.js';
import { ZOO_MODELS } from '../models/zoo.js';
import { OPTIMIZERS } from '../train/optimizer.js';
import { compressCommand } from './commands/compress.js';
import { trainCommand } from './commands/train.js';
import { integer, nonNegativeInt, oneOf, positiveInt, positiveNumber } from './parse.js';

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
      '--no-fast-kernels',
      "use tfjs's stock kernels instead of frugal's fast training kernels",
    )
    .action(async (opts) => {
      await trainCommand(opts);
    });

  program
    .command('compress')
    .argument('<model>', 'model.json or a directory holding one')
    .description(
      'Compress a trained model (quantization, N:M sparsity, batch-norm folding, ...); evaluates before/after and writes the model + report.json.',
    )
    .option(
      '--method <names>',
      'methods applied in order, comma-separated (e.g. nm,int4; default int8): int8, int4, int2, quantize, adaquant, mixed, nm, fold-bn, embedding, lowrank, and any registered',
    )
    .option(
      '--config <file>',
      'a versioned JSON config ({version: 1, steps: [...]}) instead of --method',
    )
    .requiredOption(
      '--out <dir>',
      'directory for the compressed model.json, weights.bin and report.json',
    )
    .option(
      '--dataset <name>',
      `evaluate and calibrate on a data set: ${DATASETS.join(', ')}`,
      oneOf(DATASETS, 'dataset'),
    )
    .option('--backend <name>', 'tfjs backend (cpu, wasm, or any registered one)', 'wasm')
    .option('--seed <n>', 'random seed', integer, 0)
    .option('--train-count <n>', 'samples for calibration / fine-tuning', positiveInt)
    .option('--test-count <n>', 'samples to evaluate on', positiveInt)
    .option('--calibration-count <n>', 'calibration samples', positiveInt, 256)
    .option('--no-progress', 'do not draw a progress bar')
    .action(async (input: string, opts) => {
      await compressCommand(input, opts);
    });

  return program;
}
