// Registers every compressed layer class with tfjs serialization (import for side effects).
export * from './compressed-activation.js';
export * from './compressed-attention.js';
export * from './compressed-batch-norm.js';
export * from './compressed-conv2d.js';
export * from './compressed-dense.js';
export * from './compressed-depthwise-conv2d.js';
export * from './compressed-dropout.js';
export * from './compressed-layer.js';
export * from './compressed-layer-norm.js';
export * from './compressed-max-pool.js';
export * from './no-save-avg-pool.js';
export * from './shape-only.js';
