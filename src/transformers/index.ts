// Efficient Transformers (browser-safe part; the Brown corpus and LM files are in 'frugal/node').

export * from '../models/vit/gqkva.js';
export * from '../models/vit/row-gather.js';
export * from '../models/vit/skip.js';
export * from '../models/vit/token-layers.js';
export * from '../models/vit/vit.js';
export * from './distill.js';
export * from './gpt.js';
export * from './lm.js';
export * from './tokenizer.js';
