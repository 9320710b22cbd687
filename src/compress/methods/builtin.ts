import { registerMethod } from '../registry.js';
import { embeddingMethod } from './embedding-method.js';
import { foldBnMethod } from './fold-bn-method.js';
import { lowrankMethod } from './lowrank-method.js';
import { mixedMethod } from './mixed-method.js';
import { nmMethod } from './nm-method.js';
import { quantizeMethod } from './quantize-method.js';

/** The methods frugal ships; importing this module registers them. */
registerMethod(foldBnMethod);
registerMethod(
  quantizeMethod('quantize', 'uniform quantization (bits, scheme, granularity options)', {}),
);
registerMethod(quantizeMethod('int8', '8-bit per-channel symmetric weights', { bits: 8 }));
registerMethod(quantizeMethod('int4', '4-bit per-channel symmetric weights', { bits: 4 }));
registerMethod(quantizeMethod('int2', '2-bit per-channel symmetric weights', { bits: 2 }));
registerMethod(
  quantizeMethod('adaquant', '4-bit weights calibrated layer by layer (AdaQuant)', {
    bits: 4,
    adaquant: true,
  }),
);
registerMethod(nmMethod);
registerMethod(mixedMethod);
registerMethod(embeddingMethod);
registerMethod(lowrankMethod);
