// Public exports of @phi3/model: configs, loaders, variants, tokenizers, generation.
// Each area adds its own export lines below.
export * from './errors.ts';
export * from './weights/gguf.ts';
export * from './generate/sampling.ts';
export * from './generate/stopping.ts';
export * from './generate/generate.ts';
export * from './config.ts';
export * from './decoder.ts';
export * from './model.ts';
export * from './session.ts';
export { KvCache } from './layers/kv-cache.ts';
export * from './weights/source.ts';
export { SafetensorsFile } from './weights/safetensors.ts';
export { variantForKind, variantForModelType, type VariantModule } from './variants/registry.ts';
export * from './verify/verify.ts';
export * from './verify/hooks.ts';
export { FixtureError, readReference, type ReferenceCase, type ReferenceFile, type ReferenceGenerate } from './verify/reference.ts';
export { formatVerifyReport } from './verify/format.ts';
export * from './tokenizer/index.ts';
export type { Phi3SmallConfig, Phi3SmallLongRope } from './variants/phi3-small-config.ts';
export * from './weights/gguf-model.ts';
export * from './weights/quantize.ts';
export * from './vision/vision-prompt.ts';
export { withImageTags, splitImageTags, type ChunkTokenizer } from './vision/prompt.ts';
export { readImage, decodeImage, type RgbImage } from './vision/image.ts';
export * from './weights/gguf-convert.ts';
export { GGUF_OUT_TYPES, isGgufOutType, type GgufOutType } from './weights/gguf-export.ts';
export type { PhimoeConfig, PhimoeRopeScaling } from './variants/phimoe-config.ts';
