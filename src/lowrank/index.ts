// Low-rank training and model reuse (issue 15): Conv3D on 4D tensors, sequential freezing of
// decomposed pairs, model-agnostic distillation, PLRD, FS-Merge. Hardware-aware selection lives in
// decomposeModel (`select: 'speed'`).
export * from './conv3d.js';
export * from './conv3d-layers.js';
export * from './distill.js';
export * from './freezing.js';
export * from './fs-merge.js';
export * from './plrd.js';
