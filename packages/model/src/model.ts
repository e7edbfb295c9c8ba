/**
 * Loading: a Hugging Face model folder (config.json + safetensors) → a ready Model. The GGUF loader
 * builds its config from metadata and calls `buildModel` with its own WeightSource.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigReader, type ModelConfig, type RawConfig } from './config.ts';
import { forwardDecoder, type DecoderVariant, type ForwardOptions } from './decoder.ts';
import { ConfigError } from './errors.ts';
import { KvCache } from './layers/kv-cache.ts';
import { variantForKind, variantForModelType, type VariantModule } from './variants/registry.ts';
import { openSafetensorsFolder, type SafetensorsOptions, type WeightSource } from './weights/source.ts';
import { isGgufFile, openGgufCheckpoint } from './weights/gguf-model.ts';
import { placeWeights, type Kernels } from './weights/kernels.ts';

/** A loaded model: config, wired decoder and the weight source it was read from. */
export interface Model {
  readonly config: ModelConfig;
  readonly variant: VariantModule;
  readonly decoder: DecoderVariant;
  readonly weights: WeightSource;
  /** A KV cache sized for at most `maxTokens` positions (default: the model's max_position_embeddings). */
  createCache(maxTokens?: number): KvCache;
  /**
   * One forward of T new tokens after the cache's positions (no generation policy: see session.ts).
   * @returns [T, V] f32 with `allLogits`, else [V] f32 for the last token
   */
  forward(tokens: readonly number[], cache: KvCache, opts?: ForwardOptions): Float32Array;
  /** Releases the weight files. */
  close(): void;
}

/** Reads and validates `dir/config.json`. Throws ConfigError / UnsupportedModelError naming the file. */
export function readModelConfig(dir: string): { config: ModelConfig; variant: VariantModule } {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new ConfigError(`${dir}: no config.json (expected a Hugging Face model folder)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: not a JSON object`);
  const reader = new ConfigReader(raw as RawConfig, file);
  const variant = variantForModelType(reader.string('model_type'), file);
  return { config: variant.parseConfig(reader), variant };
}

/** How to load a model (safetensors options; GGUF weights always stay in their stored format). */
export interface LoadOptions extends SafetensorsOptions {
  /** Which matvec kernels run the weights (weights/kernels.ts); default 'ts', the reference. */
  readonly kernels?: Kernels;
  /** Threads per decode matvec with the wasm kernels (default 1). */
  readonly threads?: number;
}

/** Loads a Hugging Face model folder (config.json and model.safetensors, single or sharded) or a GGUF file. */
export function loadModel(path: string, options: LoadOptions = {}): Model {
  if (!existsSync(path)) throw new ConfigError(`${path}: no such file or directory`);
  if (isGgufFile(path)) {
    const { config, weights } = openGgufCheckpoint(path); // a llama.cpp GGUF file (weights/gguf-model.ts)
    return buildModel(config, placeWeights(weights, options.kernels ?? 'ts', options));
  }
  if (!statSync(path).isDirectory()) throw new ConfigError(`${path}: expected a model folder (config.json + *.safetensors)`);
  const { config } = readModelConfig(path);
  return buildModel(config, placeWeights(openSafetensorsFolder(path, options), options.kernels ?? 'ts', options));
}

/** Wires a model from a normalized config and any weight source (closes the source on failure). */
export function buildModel(config: ModelConfig, weights: WeightSource): Model {
  const variant = variantForKind(config.kind);
  let decoder: DecoderVariant;
  try {
    decoder = variant.build(config, weights);
  } catch (err) {
    weights.close();
    throw err;
  }
  const kvDim = config.nKvHeads * config.headDim;
  return {
    config,
    variant,
    decoder,
    weights,
    createCache: (maxTokens = config.maxPositionEmbeddings) => new KvCache(config.nLayers, kvDim, maxTokens),
    forward: (tokens, cache, opts) => forwardDecoder(decoder, tokens, cache, opts),
    close: () => weights.close(),
  };
}
