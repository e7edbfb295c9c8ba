/**
 * `phi3 convert`: a Hugging Face Phi-3 / Phi-3.5-MoE folder → one GGUF file llama.cpp accepts (model metadata and
 * tensors from gguf-export.ts, tokenizer from gguf-vocab.ts). Tensors are converted and written one
 * at a time.
 */
import { basename, resolve } from 'node:path';
import { readModelConfig } from '../model.ts';
import { UnsupportedModelError } from '../errors.ts';
import { ggufModelMetadata, ggufModelTensors, type GgufOutType } from './gguf-export.ts';
import { ggufTokenizerMetadata } from './gguf-vocab.ts';
import { writeGguf } from './gguf-writer.ts';
import { openSafetensorsFolder } from './source.ts';

export interface ConvertOptions {
  /** Tensor type of the 2-D weights (norms, rope factors and MoE routers stay F32; a q4_0 head is Q8_0: `weightFormat`). */
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
 *         variants other than phi3 and phimoe
 */
export function convertToGguf(inDir: string, outPath: string, opts: ConvertOptions): ConvertResult {
  const { config } = readModelConfig(inDir);
  if (config.kind !== 'phi3' && config.kind !== 'phimoe') {
    throw new UnsupportedModelError(`${inDir}: converting ${config.kind} models to GGUF is not supported (phi3 and phimoe are)`);
  }
  const metadata = ggufModelMetadata(config, basename(resolve(inDir)), opts.outType);
  const vocab = ggufTokenizerMetadata(inDir, config.vocabSize);
  for (const [key, value] of vocab ?? []) metadata.set(key, value);
  const source = openSafetensorsFolder(inDir);
  try {
    const tensors = ggufModelTensors(config, source, opts.outType);
    writeGguf(outPath, metadata, tensors, undefined, (i, name) => opts.onTensor?.(i, tensors.length, name));
    return { tensors: tensors.length, tokenizer: vocab !== null };
  } finally {
    source.close();
  }
}
