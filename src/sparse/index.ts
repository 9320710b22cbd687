// Sparse backward passes: N:M masks for neural gradients and layers whose backward uses them.
// (grad-pruner.ts, loaded here, gives the compressed-activation layers their `gradSparsity`.)
import './grad-pruner.js';

export {
  hasSparseGradLayers,
  modelPruneStats,
  plainFromSparseGrad,
  type SparseGradOptions,
  type SparseGradResult,
  sparseGradModel,
} from './convert.js';
export { type GradPrune, type PruneStats, parseGradPrune, pruneGradient } from './grad-prune.js';
export {
  APPROX_MAX_M,
  GRAD_MASK_KINDS,
  type GradMaskKind,
  type GradSparsity,
  gradSparsityCheck,
  groupOutcomes,
  maskAlongAxis,
  mvueInclusion,
  parseGradSparsity,
} from './mvue.js';
export { compressNM, denseMatMulJs, type NMCompressed, nmMatMul } from './nm-kernel.js';
export { sparseGradConv2d } from './sparse-grad-conv.js';
export { SparseGradConv2D, type SparseGradConv2DArgs } from './sparse-grad-conv-layer.js';
export {
  type KernelUse,
  maskGradient,
  NM_KERNEL_MODES,
  type NMKernelMode,
  nmKernelWins,
  nmWeightGrad,
  SparseGradDense,
  type SparseGradDenseArgs,
  sparseGradMatMul,
} from './sparse-grad-dense.js';
export {
  normalQuantile,
  parseStochPrune,
  type StochPruneSpec,
  stochPrune,
  stochPruneThreshold,
} from './stoch-prune.js';
export {
  maskDiversity,
  parseTransposableOptions,
  type TransposableTraining,
  type TransposableTrainingOptions,
  type TransposableTrainingStats,
  transposableTraining,
} from './transposable-train.js';
