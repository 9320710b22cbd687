import { registerMethod } from '../compress/registry.js';
import { qatMethod } from './qat-method.js';

export * from './convert-qat.js';
export * from './ema-act-quant.js';
export * from './fake-quant.js';
export * from './prepare-qat.js';
export * from './qat-bn-layer.js';
export * from './qat-finetune.js';
export * from './qat-layers.js';
export * from './qat-method.js';

registerMethod(qatMethod);

export * from './accumulator.js';
export * from './act-observer.js';
export * from './grad-round.js';
export * from './int8-layer.js';
export * from './int8-model.js';
export * from './int8-ops.js';
export * from './int8-spec.js';
export * from './lowbit-acc-layer.js';
export * from './lsq.js';
export * from './range-bn.js';
export * from './tensor-quant.js';
