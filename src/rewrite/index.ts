// The one model rewriter (replace, remove, copy layers), used by compress, decompose and the
// compressed-activation conversions.
export * from './report.js';
export * from './rewrite-model.js';
