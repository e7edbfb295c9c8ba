// Public exports of @phi3/model: configs, loaders, variants, tokenizers, generation.
// Each area adds its own export lines below.
export * from './errors.ts';
export * from './weights/gguf.ts';
export * from './generate/sampling.ts';
export * from './generate/stopping.ts';
export * from './generate/generate.ts';
