// Public exports of @phi3/model: configs, loaders, variants, tokenizers, generation.
export {};
