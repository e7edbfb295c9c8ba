/**
 * Opening a GGUF model file: header → ModelConfig (gguf-config.ts) + a WeightSource that speaks HF
 * tensor names (gguf-source.ts). `loadModel` hands both to `buildModel`, so GGUF and safetensors
 * checkpoints run through the same variant code.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { ModelConfig } from '../config.ts';
import { UnsupportedModelError } from '../errors.ts';
import { ggufString, type GgufHeader } from './gguf.ts';
import { mergeShards, openGgufShards } from './gguf-split.ts';
import { phi3ConfigFromGguf, phimoeConfigFromGguf, type GgufTensorReader } from './gguf-config.ts';
import { phi3TensorNames, phimoeTensorNames, type TensorNamePair } from './gguf-names.ts';
import { GgufSource, readGgufTensorF32 } from './gguf-source.ts';
import type { WeightSource } from './source.ts';

/** True when `path` is a regular file starting with the GGUF magic (whatever its extension). */
export function isGgufFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    const fd = openSync(path, 'r');
    try {
      const magic = new Uint8Array(4);
      return readSync(fd, magic, 0, 4, 0) === 4 && new TextDecoder().decode(magic) === 'GGUF';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Per GGUF architecture: metadata → config, and the HF ↔ GGUF tensor names of that config. */
const ARCHITECTURES: Record<string, (h: GgufHeader, label: string, read: GgufTensorReader) => { config: ModelConfig; names: TensorNamePair[] }> = {
  phi3: (h, label, read) => {
    const config = phi3ConfigFromGguf(h, label, read);
    return { config, names: phi3TensorNames(config.nLayers) };
  },
  phimoe: (h, label, read) => {
    const config = phimoeConfigFromGguf(h, label, read);
    return { config, names: phimoeTensorNames(config.nLayers, config.nExperts) };
  },
};

/** A GGUF checkpoint opened for inference: its config, weights (by HF name) and header (all shards' tensors). */
export interface GgufCheckpoint {
  readonly config: ModelConfig;
  readonly weights: WeightSource;
  readonly header: GgufHeader;
}

/**
 * Opens a GGUF model file (or the first file of a split one, which brings its other shards): validates
 * every header against its file's size, maps the metadata to a config and exposes the tensors under
 * HF names. Tensor data stays on disk until a weight is read.
 * @throws WeightsFormatError (bad file), ConfigError (bad metadata), UnsupportedModelError (architecture)
 */
export function openGgufCheckpoint(path: string): GgufCheckpoint {
  const shards = openGgufShards(path);
  try {
    const { header, shardOf } = mergeShards(shards);
    const read: GgufTensorReader = (t) => readGgufTensorF32(shardOf.get(t.name)!.file, t, path);
    const arch = ggufString(header.metadata, 'general.architecture');
    const open = Object.hasOwn(ARCHITECTURES, arch) ? ARCHITECTURES[arch] : undefined;
    if (open === undefined) {
      throw new UnsupportedModelError(`${path}: GGUF architecture "${arch}" is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
    }
    const { config, names } = open(header, path, read);
    return { config, weights: new GgufSource(path, shards, names), header };
  } catch (err) {
    for (const s of shards) s.file.close();
    throw err;
  }
}
