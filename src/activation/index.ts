// Public API of compressed-activation training (re-exported by src/index.ts).

export {
  AUTO_FORWARD_CHUNK_BYTES,
  backwardChunkBytes,
  seedActivationRng,
  setBackwardChunkBytes,
} from '../engine/settings.js';
export * from './activation-fns.js';
export * from './auto-precision.js';
export * from './bit-allocation.js';
export * from './bits.js';
export * from './config.js';
export * from './conv-grad.js';
export * from './convert.js';
export * from './fewbit-table.js';
export * from './layers/index.js';
export * from './measure.js';
export * from './pack.js';
export * from './quantize.js';
export * from './quantize-per-sample.js';
export * from './report.js';
export * from './rmm.js';
export * from './sample-bits.js';
export { saveQuantizedPerSample } from './saved-per-sample.js';
export * from './streaming-forward.js';
export * from './to-plain.js';
export * from './training.js';
