// Public API of compressed-activation training (re-exported by src/index.ts).

export {
  AUTO_FORWARD_CHUNK_BYTES,
  backwardChunkBytes,
  seedActivationRng,
  setBackwardChunkBytes,
} from '../engine/settings.js';
export * from './backward/conv-grad.js';
export * from './backward/rmm.js';
export * from './codec/activation-fns.js';
export * from './codec/bits.js';
export * from './codec/fewbit-table.js';
export * from './codec/pack.js';
export * from './codec/quantize.js';
export * from './codec/quantize-per-sample.js';
export * from './codec/sample-bits.js';
export { saveQuantizedPerSample } from './codec/saved-per-sample.js';
export * from './config.js';
export * from './convert.js';
export * from './execution/streaming-forward.js';
export * from './layers/index.js';
export * from './measure.js';
export * from './precision/auto-precision.js';
export * from './precision/bit-allocation.js';
export * from './report.js';
export * from './to-plain.js';
export * from './training.js';
