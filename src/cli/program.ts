import { Command } from 'commander';
import { RMM_KINDS } from '../activation/backward/rmm.js';
import { ACT_LEVELS } from '../activation/config.js';
import { SCENARIOS } from '../inference/loadgen.js';
import { ZOO_MODELS } from '../models/zoo.js';
import { PIPELINE_MODES } from '../pipeline/schedule.js';
import { actReportCommand } from './commands/act-report.js';
import { benchCommand } from './commands/bench.js';
import { compressCommand } from './commands/compress.js';
import { plrdCompressCommand } from './commands/compress-plrd.js';
import { generateCli } from './commands/generate.js';
import { mergeCommand } from './commands/merge.js';
import { planCommand } from './commands/plan.js';
import { reportCommand } from './commands/report.js';
import { scenarioCommand } from './commands/scenario.js';
import { trainCommand } from './commands/train.js';
import { lowPrecisionOption } from './commands/train-lowprec.js';
import { PIPELINE_HELP } from './commands/train-pipeline.js';
import { addRecipeOptions } from './commands/train-recipes.js';
import {
  DEFAULT_GRAD_PRUNE_RATE,
  gradPruneRateOption,
  gradSparsityOption,
} from './commands/train-sparse.js';
import { PARALLEL_HELP, PARALLEL_MODES, THREADS_HELP } from './commands/train-threads.js';
import { transposableDecayOption, transposableOption } from './commands/train-transposable.js';
import { writeParseError } from './errors.js';
import { addOdeOptions } from './ode-options.js';
import {
  activationBits,
  fewbitBits,
  forwardChunk,
  fraction,
  nonNegativeInt,
  oneOf,
  positiveInt,
  positiveNumber,
} from './parse.js';
import {
  backendOption,
  batchOption,
  datasetOption,
  memoryBudgetOption,
  modelOption,
  noFastKernelsOption,
  noProgressOption,
  optimizerOption,
  rematOption,
  reportOutOption,
  seedOption,
} from './shared-options.js';

/** Options of compressed-activation training, shared by `train` and `act-report`. */
function addActivationOptions(cmd: Command): Command {
  return cmd
    .option(
      '--act-level <level>',
      `compressed activations, ActNN level: ${ACT_LEVELS.join(', ')} (L0 float32 saves, L1 4-bit conv/dense, L2 4-bit, L3 2-bit, L3.mixed 2-bit average)`,
      oneOf(ACT_LEVELS, 'activation level'),
    )
    .option(
      '--act-bits <n>',
      "bits of saved activations: 1, 2, 4, 8 or 32 (with train --memory-budget: the bits of the planner's compressed tapes, 2, 4 or 8)",
      activationBits,
    )
    .option('--fewbit <n>', 'few-bit backward for GELU/SiLU/tanh/...: 1-4 bits', fewbitBits)
    .option(
      '--rmm <ratio>',
      'randomized-matmul backward for Dense layers, projection ratio in (0, 1]',
      fraction,
    )
    .option(
      '--per-sample-bits',
      "ActNN per-sample bits: each layer's bits become the batch average, wider for samples with larger ranges (implies --act-level L3 unless given)",
    )
    .option(
      '--rmm-kind <kind>',
      `RMM projection: ${RMM_KINDS.join(', ')}`,
      oneOf(RMM_KINDS, 'RMM kind'),
    )
    .option(
      '--forward-chunk <n>',
      "run the training forward in chunks of n samples on one tape: 'auto' (default; whole batch for models with batch norm), 'off', or n",
      forwardChunk,
    );
}

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
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: writeParseError });

  const trainCmd = program
    .command('train')
    .description(
      'Train a zoo model on a data set; prints accuracy, step time, activation and peak memory, and writes a JSON report.',
    )
    .addOption(modelOption('mlp'))
    .addOption(datasetOption('data set', 'mnist'))
    .option('--epochs <n>', 'training epochs', positiveInt, 1)
    .addOption(batchOption(64))
    .option('--lr <x>', 'learning rate', positiveNumber, 1e-3)
    .addOption(optimizerOption())
    .addOption(backendOption())
    .addOption(seedOption('random seed (data split, shuffling, initial weights)'))
    .option(
      '--train-count <n>',
      'training samples (MNIST: train + test at most 10000)',
      positiveInt,
    )
    .option('--test-count <n>', 'test samples', positiveInt)
    .option('--max-steps <n>', 'stop each epoch after n steps (0 = all)', nonNegativeInt, 0)
    .addOption(reportOutOption('runs/train-report.json'))
    .option(
      '--save <dir>',
      'save the trained model (model.json + weights.bin) in this directory: new, empty or holding a model (only those two files are replaced)',
    )
    .option(
      '--overwrite',
      'with --save: allow a directory that is not empty and holds no model (still only model.json and weights.bin are written; no other file is touched)',
    )
    .addOption(noProgressOption())
    .option(
      '--baseline',
      'with --act-* or --memory-budget: also train the plain model first (same seed and schedule) and print both',
    )
    .addOption(noFastKernelsOption())
    .option(
      '--workers <n>',
      'worker threads for data-parallel training: each takes a share of every batch (1 = train on the main thread)',
      positiveInt,
      1,
    )
    .option('--threads <n>', THREADS_HELP, positiveInt)
    .option('--parallel <mode>', PARALLEL_HELP, oneOf(PARALLEL_MODES, 'parallel mode'))
    .option('--pipeline <schedule>', PIPELINE_HELP, oneOf(PIPELINE_MODES, 'pipeline schedule'))
    .option(
      '--stages <n>',
      'with --pipeline: pipeline stages, one worker thread each (default 2)',
      positiveInt,
    )
    .option(
      '--microbatches <n>',
      'with --pipeline: microbatches per batch (default: --stages)',
      positiveInt,
    )
    .addOption(
      memoryBudgetOption(
        'plan each step to fit this activation memory (64MB, 512KiB, bytes; MB = 10^6 bytes, MiB = 2^20)',
      ),
    )
    .addOption(
      rematOption(
        'planner: exact (recompute; the default) or joint (also compressed tapes; the default with --act-bits 2, 4 or 8)',
      ),
    )
    .option(
      '--grad-sparsity <kind>',
      'sparse backward: Dense/Conv2D mask dy before the weight-gradient product: mvue24, mvue12, magnitude24 or stochastic (prune small values, Ye et al.)',
      gradSparsityOption,
    )
    .option(
      '--low-precision <bits>',
      '8-bit training (Banner et al.): Dense/Conv2D weights, inputs and layer gradients at <bits> (2-8; stochastic rounding), batch norm -> Range BN; simulated in float32',
      lowPrecisionOption,
    )
    .option(
      '--grad-prune-rate <p>',
      `target prune rate in (0, 1) of --grad-sparsity stochastic (default ${DEFAULT_GRAD_PRUNE_RATE})`,
      gradPruneRateOption,
    )
    .option(
      '--transposable <n:m>',
      'N:M-sparse training with transposable weight masks (W and W^T both N:M, Hubara et al.), e.g. 2:4; by default SR-STE decay 0.02, masks recomputed every step, pruned weights faded out over the first 3/4 of the steps',
      transposableOption,
    )
    .option(
      '--transposable-every <k>',
      'with --transposable: recompute the masks every k steps (0: fixed from the initial weights; default 1)',
      nonNegativeInt,
    )
    .option(
      '--transposable-decay <d>',
      'with --transposable: SR-STE decay of the pruned dense weights (default 0.02; 0: plain straight-through)',
      transposableDecayOption,
    )
    .option(
      '--transposable-ramp <steps>',
      'with --transposable: steps over which pruned weights fade out of the forward (default 3/4 of the planned steps; 0: hard masks from the start)',
      nonNegativeInt,
    );
  addRecipeOptions(addOdeOptions(addActivationOptions(trainCmd))).action(async (opts) => {
    await trainCommand(opts);
  });

  const report = program
    .command('act-report')
    .description(
      'Compressed activations, layer by layer: bytes saved for backward (compressed vs float32) and the weight-gradient error and variance against the exact backward, on one batch.',
    )
    .addOption(modelOption('cnn'))
    .addOption(datasetOption('data set', 'mnist'))
    .addOption(batchOption(32))
    .option(
      '--seeds <n>',
      'random roundings to average the gradient error over (>= 2)',
      positiveInt,
      4,
    )
    .addOption(backendOption())
    .addOption(seedOption())
    .addOption(reportOutOption())
    .addOption(noProgressOption());
  addActivationOptions(report).action(async (opts) => {
    await actReportCommand(opts);
  });

  program
    .command('bench')
    .description(
      'Time the training step (forward, backward, Adam update) of zoo models and measure its memory, on one or more backends.',
    )
    .option(
      '--model <names>',
      `comma-separated zoo models (${ZOO_MODELS.join(', ')}) or all`,
      'all',
    )
    .option('--backend <names>', 'comma-separated tfjs backends', 'wasm')
    .addOption(batchOption(64))
    .option(
      '--steps <n>',
      'timed steps (after one warm-up and one memory-measured step)',
      positiveInt,
      3,
    )
    .addOption(reportOutOption('runs/bench-report.json'))
    .addOption(noFastKernelsOption())
    .addOption(noProgressOption())
    .argument('[modelDir]', 'saved model directory (with --scenario)')
    .option(
      '--scenario <name>',
      `MLPerf-style inference run of a saved model: ${SCENARIOS.join(', ')}`,
    )
    .option('--mode <mode>', 'with --scenario: performance, accuracy or both', 'performance')
    .option(
      '--min-queries <n>',
      'with --scenario: minimum queries (offline: samples); default LoadGen',
      positiveInt,
    )
    .option(
      '--min-duration <s>',
      'with --scenario: minimum seconds; default LoadGen (600)',
      positiveNumber,
    )
    .option('--target-qps <q>', 'server: Poisson arrival rate', positiveNumber)
    .option('--latency-bound <ms>', 'server: latency bound of the p99', positiveNumber)
    .option('--samples-per-query <n>', 'multi-stream: samples per query (default 8)', positiveInt)
    .action(async (modelDir: string | undefined, opts) => {
      if (opts.scenario) return void (await scenarioCommand(modelDir, opts));
      const stray = ['minQueries', 'minDuration', 'targetQps', 'latencyBound', 'samplesPerQuery'];
      const used = stray.filter((k) => opts[k] !== undefined);
      if (modelDir || used.length > 0 || opts.mode !== 'performance')
        throw new Error(
          `a model directory, --mode and ${used.join(', ') || 'the scenario options'} need --scenario`,
        );
      await benchCommand(opts);
    });

  program
    .command('plan')
    .description(
      'Preview the memory plan train --memory-budget would use (same kernels, profiling and options): profiles a zoo model stage by stage and prints the schedule and its predicted time and activation memory.',
    )
    .addOption(modelOption('mlp'))
    .addOption(datasetOption('data set (for sample shapes)', 'mnist'))
    .addOption(batchOption(64))
    .addOption(
      memoryBudgetOption(
        'activation memory budget (64MB, 512KiB, bytes; MB = 10^6 bytes, MiB = 2^20)',
      ).makeOptionMandatory(),
    )
    .addOption(
      rematOption(
        'planner: exact (recompute; the default) or joint (also compressed tapes; the default with --act-bits 2, 4 or 8)',
      ),
    )
    .option(
      '--act-bits <n>',
      "bits of the planner's compressed tapes, 2, 4 or 8 (32: exact tapes only), as for train --memory-budget",
      activationBits,
    )
    .addOption(optimizerOption('optimizer (its update memory counts)'))
    .addOption(backendOption())
    .addOption(seedOption())
    .option('--repeats <n>', 'timed repetitions per stage measurement', positiveInt, 3)
    .addOption(reportOutOption())
    .addOption(noFastKernelsOption())
    .addOption(noProgressOption())
    .action(async (opts) => {
      await planCommand(opts);
    });

  program
    .command('compress')
    .argument('<model>', 'model.json or a directory holding one')
    .description(
      'Compress a trained model (quantization, N:M sparsity, batch-norm folding, ...); evaluates before/after and writes the model + report.json.',
    )
    .option(
      '--method <names>',
      'methods applied in order, comma-separated (e.g. nm,int4; default int8): int8, int4, int2, quantize, adaquant, mixed, nm, fold-bn, embedding, lowrank, and any registered; or plrd alone (a family of lower-rank models)',
    )
    .option(
      '--fractions <list>',
      'plrd: parameter fractions of the members (default 0.75,0.5,0.25)',
    )
    .option(
      '--config <file>',
      'a versioned JSON config ({version: 1, steps: [...]}) instead of --method',
    )
    .option(
      '--bits <n>',
      'bits option of each --method step (e.g. --method qat --bits 4)',
      positiveInt,
    )
    .option(
      '--out <dir>',
      'directory for the compressed model.json, weights.bin and report.json (required; new, empty or holding a model: only those three files are replaced)',
    )
    .option(
      '--overwrite',
      'allow an --out that is not empty and holds no model, or is the input model directory (still only model.json, weights.bin and report.json are written; no other file is touched)',
    )
    .addOption(datasetOption('evaluate and calibrate on a data set'))
    .addOption(backendOption())
    .addOption(seedOption())
    .option('--train-count <n>', 'samples for calibration / fine-tuning', positiveInt)
    .option('--test-count <n>', 'samples to evaluate on', positiveInt)
    .option('--calibration-count <n>', 'calibration samples', positiveInt, 256)
    .addOption(noProgressOption())
    .action(async (input: string, opts) => {
      if (opts.method === 'plrd') return void (await plrdCompressCommand(input, opts));
      if (opts.fractions !== undefined)
        throw new Error('--fractions applies to --method plrd only');
      await compressCommand(input, opts);
    });

  program
    .command('merge')
    .argument('<a>', 'first model (model.json or its directory)')
    .argument('<b>', 'second model, of the same architecture')
    .description(
      'FS-Merge two models of one architecture into one (learned on unlabelled samples).',
    )
    .option('--out <dir>', 'directory for the merged model.json, weights.bin and report.json')
    .option('--overwrite', 'allow an --out that is not empty and holds no model')
    .addOption(datasetOption('unlabelled samples to merge on', 'mnist'))
    .option('--samples <n>', 'unlabelled training samples (default 400)', positiveInt)
    .option('--init <name>', "'first' (default) or 'average'")
    .option('--heads <name>', "'shared' (default) or 'separate' (both heads side by side)")
    .option('--rank <n>', 'rank of the low-rank part of the merge maps (default 16)', positiveInt)
    .option('--steps <n>', 'training steps (default 300)', positiveInt)
    .addOption(backendOption())
    .addOption(seedOption())
    .action(async (a: string, b: string, opts) => void (await mergeCommand(a, b, opts)));

  program
    .command('report')
    .argument(
      '<runs...>',
      'JSON reports of train, compress, plan, bench, or bench/results files; a directory: its *.json',
    )
    .description('Write one static HTML page with the tables and SVG plots of the runs given.')
    .option('--out <file>', 'the HTML file to write', 'runs/report.html')
    .option('--title <text>', 'page title', 'frugal report')
    .action((runs: string[], opts) => void reportCommand(runs, opts));

  program.addCommand(generateCli());

  return program;
}
