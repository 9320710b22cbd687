// The activation codec, for users who build their own compressed layers or study the codes:
// exported from 'frugal' as the `actCodec` namespace (e.g. `actCodec.quantizeGroups`).
export * from '../backward/rmm.js';
export * from '../precision/auto-precision.js';
export * from '../precision/bit-allocation.js';
export * from './activation-fns.js';
export * from './bits.js';
export * from './fewbit-table.js';
export * from './pack.js';
export * from './quantize.js';
export * from './quantize-per-sample.js';
export * from './sample-bits.js';
export { saveQuantizedPerSample } from './saved-per-sample.js';
