// The decomposition toolkit (factorizations, costs, rank choice, replacement layers): exported from
// 'frugal' as the `decomposition` namespace; the model-level entry points are also top-level.
export * from './config.js';
export * from './cost.js';
export * from './cp-admm.js';
export * from './cp-als.js';
export * from './cp-layers.js';
export * from './cp-stabilize.js';
export * from './cp-tensor.js';
export * from './decompose-layer.js';
export * from './decompose-model.js';
export * from './dense-svd.js';
export * from './factorize.js';
export * from './layer-info.js';
export * from './quant-grid.js';
export * from './rank-resolve.js';
export * from './rank-rounding.js';
export * from './rank-select.js';
export * from './replacement.js';
export * from './round-config.js';
export * from './speed-select.js';
export * from './svd-layers.js';
export * from './tt-svd.js';
export * from './ttm-dense.js';
export * from './ttm-layers.js';
export * from './tucker2.js';
export * from './tucker2-layers.js';
