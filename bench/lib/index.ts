// Helpers the benchmarks share: statistics, interleaved timing, batches, command-line settings,
// tables, and the results file with its headline. Each benchmark in bench/ imports from here.
export { argValue, hasFlag, numberArg } from './args.js';
export { disposeBatch, firstRows, mnistBatchBench, randomBatch } from './batches.js';
export {
  type Headline,
  RESULTS_DIR,
  type Results,
  type WriteOptions,
  writeResultFile,
  writeResults,
} from './results.js';
export {
  bootstrapMedianCi,
  mean,
  median,
  pairedOverheads,
  quantile,
  type Spread,
  sd,
  spreadOf,
  upperMedian,
} from './stats.js';
export { printTable } from './table.js';
export {
  type BlockRoundsOptions,
  interleavedTimes,
  interleavedWallCpu,
  type RoundsOptions,
  type TimedStep,
  type WallCpuTimes,
} from './timing.js';
