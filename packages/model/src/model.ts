/**
 * Loading: a Hugging Face model folder (config.json + safetensors) or a GGUF file → a ready Model.
 * One path for every caller: open (config + lazy weights) → quantize/place the matrices → wire.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigReader, type ModelConfig, type RawConfig } from './config.ts';
import { forwardDecoder, type DecoderVariant, type ForwardOptions } from './decoder.ts';
import { ConfigError } from './errors.ts';
import { readJsonFile } from './json-file.ts';
import { KvCache } from './layers/kv-cache.ts';
import { variantForKind, variantForModelType, type VariantModule } from './variants/registry.ts';
import { openSafetensorsFolder, reportReads, type SafetensorsOptions, type WeightSource } from './weights/source.ts';
import { isGgufFile, openGgufCheckpoint } from './weights/gguf-model.ts';
import { placeWeights, type Kernels, type PlacementOptions } from './weights/kernels.ts';
import { quantizeWeights } from './weights/quantize.ts';

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
  const raw = readJsonFile(file, ConfigError);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${file}: not a JSON object`);
  const reader = new ConfigReader(raw as RawConfig, file);
  const variant = variantForModelType(reader.string('model_type'), file);
  return { config: variant.parseConfig(reader), variant };
}

/** A checkpoint opened without reading tensor data: its normalized config and lazy weights. */
export interface Checkpoint {
  readonly format: 'safetensors' | 'gguf';
  readonly config: ModelConfig;
  readonly weights: WeightSource;
}

/**
 * Opens a Hugging Face model folder (config.json and model.safetensors, single or sharded) or a GGUF
 * file, reading only headers: `loadModel` wires it, `phi3 inspect` lists its tensors.
 * @throws ConfigError for a missing path or a file that is not GGUF; loader errors otherwise
 */
export function openCheckpoint(path: string, options: SafetensorsOptions = {}): Checkpoint {
  if (!existsSync(path)) throw new ConfigError(`${path}: no such file or directory`);
  // a llama.cpp GGUF file: config from its metadata (weights/gguf-model.ts)
  if (isGgufFile(path)) return { format: 'gguf', ...openGgufCheckpoint(path) };
  if (!statSync(path).isDirectory()) throw new ConfigError(`${path}: expected a model folder (config.json + *.safetensors) or a GGUF file`);
  const { config } = readModelConfig(path);
  return { format: 'safetensors', config, weights: openSafetensorsFolder(path, options) };
}

/** How a model's matrices are stored and multiplied once read. */
export interface PlacedModelOptions extends PlacementOptions {
  /** Store f32 matrices as this type ('f32' default = as read; 'q8_0', 'q4_0', … quantize in memory). */
  readonly dtype?: string;
  /** Which matvec kernels run the weights (weights/kernels.ts); default 'ts', the reference. */
  readonly kernels?: Kernels;
  /** Called after every tensor read while the model is wired: reads so far, tensors in the checkpoint. */
  readonly onProgress?: (reads: number, total: number) => void;
}

/** How to load a model: safetensors options, then how the matrices are stored and multiplied. */
export interface LoadOptions extends SafetensorsOptions, PlacedModelOptions {}

/** Loads a Hugging Face model folder or a GGUF file (see `openCheckpoint`) into a ready Model. */
export function loadModel(path: string, options: LoadOptions = {}): Model {
  const { config, weights } = openCheckpoint(path, options);
  return buildPlacedModel(config, weights, options);
}

/**
 * Wires a model whose matrices are quantized to `options.dtype` and placed where `options.kernels`
 * reads them (wasm memory or ordinary arrays), reporting reads to `options.onProgress`.
 */
export function buildPlacedModel(config: ModelConfig, weights: WeightSource, options: PlacedModelOptions = {}): Model {
  const watched = options.onProgress ? reportReads(weights, options.onProgress) : weights;
  return buildModel(config, placeWeights(quantizeWeights(watched, options.dtype ?? 'f32'), options.kernels ?? 'ts', options));
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
    createCache: (maxTokens = config.maxPositionEmbeddings) =>
      new KvCache(config.nLayers, kvDim, maxTokens, undefined, weights.allocateF32?.bind(weights)),
    forward: (tokens, cache, opts) => forwardDecoder(decoder, tokens, cache, opts),
    close: () => weights.close(),
  };
}
