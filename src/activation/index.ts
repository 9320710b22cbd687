// Public API of compressed-activation training (re-exported by src/index.ts). The codec's
// primitives (quantize, pack, bit allocation, few-bit tables) are the `actCodec` namespace; the
// chunked-execution and backward internals are not exported.

export {
  AUTO_FORWARD_CHUNK_BYTES,
  backwardChunkBytes,
  seedActivationRng,
  setBackwardChunkBytes,
} from '../engine/settings.js';
export { RMM_KINDS, type RmmKind } from './backward/rmm.js';
export {
  ACTIVATIONS,
  type ActivationName,
  SMOOTH_ACTIVATIONS,
  type SmoothActivation,
} from './codec/activation-fns.js';
export {
  ACTIVATION_BITS,
  type ActivationBits,
  PACKED_BITS,
  type PackedBits,
} from './codec/bits.js';
export { FEWBIT_BITS, type FewbitBits } from './codec/fewbit-table.js';
export * as actCodec from './codec/index.js';
export * from './config.js';
export * from './convert.js';
export { streamingForward } from './execution/streaming-forward.js';
export * from './layers/index.js';
export * from './measure.js';
export * from './report.js';
export * from './to-plain.js';
export * from './training.js';
