/**
 * `phi3 convert`: a Hugging Face Phi-3 folder → one GGUF file llama.cpp accepts (model metadata and
 * tensors from gguf-export.ts, tokenizer from gguf-vocab.ts). Tensors are converted and written one
 * at a time.
 */
import { basename, resolve } from 'node:path';
import { readModelConfig } from '../model.ts';
import { UnsupportedModelError } from '../errors.ts';
import { phi3GgufMetadata, phi3GgufTensors, type GgufOutType } from './gguf-export.ts';
import { ggufTokenizerMetadata } from './gguf-vocab.ts';
import { writeGguf } from './gguf-writer.ts';
import { openSafetensorsFolder } from './source.ts';

export interface ConvertOptions {
  /** Tensor type of the 2-D weights (norms and rope factors stay F32). */
  readonly outType: GgufOutType;
  /** Called after each tensor is written: (index, total, GGUF name). */
  readonly onTensor?: (index: number, total: number, name: string) => void;
}

/** What was written, for the CLI's summary. */
export interface ConvertResult {
  readonly tensors: number;
  /** False when the folder has no tokenizer.json (the GGUF then holds only the special ids). */
  readonly tokenizer: boolean;
}

/**
 * Converts the model folder `inDir` to the GGUF file `outPath`.
 * @throws ConfigError / WeightsFormatError / TokenizerError for bad inputs, UnsupportedModelError for
 *         variants other than phi3
 */
export function convertToGguf(inDir: string, outPath: string, opts: ConvertOptions): ConvertResult {
  const { config } = readModelConfig(inDir);
  if (config.kind !== 'phi3') {
    throw new UnsupportedModelError(`${inDir}: converting ${config.kind} models to GGUF is not supported (only phi3)`);
  }
  const metadata = phi3GgufMetadata(config, basename(resolve(inDir)), opts.outType);
  const vocab = ggufTokenizerMetadata(inDir, config.vocabSize);
  for (const [key, value] of vocab ?? []) metadata.set(key, value);
  const source = openSafetensorsFolder(inDir);
  try {
    const tensors = phi3GgufTensors(config, source, opts.outType);
    writeGguf(outPath, metadata, tensors, undefined, (i, name) => opts.onTensor?.(i, tensors.length, name));
    return { tensors: tensors.length, tokenizer: vocab !== null };
  } finally {
    source.close();
  }
}
