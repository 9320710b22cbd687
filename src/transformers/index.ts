// Efficient Transformers (browser-safe part; the Brown corpus and LM files are in 'frugal/node').
export * from './distill.js';
export * from './gpt.js';
export * from './gqkva.js';
export * from './lm.js';
export * from './row-gather.js';
export * from './skip.js';
export * from './token-layers.js';
export * from './tokenizer.js';
export * from './vit.js';
