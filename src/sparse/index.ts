// Sparse backward passes: N:M masks for neural gradients and layers whose backward uses them.
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
export { sparseGradConv2d } from './sparse-grad-conv.js';
export {
  maskGradient,
  SparseGradDense,
  type SparseGradDenseArgs,
  sparseGradMatMul,
} from './sparse-grad-dense.js';
