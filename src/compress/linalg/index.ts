export * from './cholesky.js';
export * from './khatri-rao.js';
export * from './least-squares.js';
export * from './matrix.js';
export * from './qr.js';
export * from './svd.js';
export * from './symmetric-eigen.js';
export * from './tensor.js';
