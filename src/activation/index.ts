// Public API of compressed-activation training (re-exported by src/index.ts).
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
export * from './report.js';
export * from './rmm.js';
export { backwardChunkBytes, setBackwardChunkBytes } from './row-chunks.js';
export { seedActivationRng } from './seed.js';
export * from './streaming-forward.js';
export * from './training.js';
