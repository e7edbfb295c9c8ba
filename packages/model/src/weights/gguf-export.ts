/**
 * Hugging Face checkpoint → GGUF, written the way llama.cpp's convert_hf_to_gguf.py writes arch
 * "phi3" (`Phi3MiniModel`): same metadata keys, tensor names and tensor types, so llama.cpp,
 * ollama and LM Studio accept the result. Weights are read, converted and written one tensor at a
 * time (a converted model never sits in memory twice).
 */
import { denseMatrix, quantizeMatrix, type QuantFormatName } from '@phi3/tensor';
import type { Phi3Config } from '../config.ts';
import { InvalidArgumentError } from '../errors.ts';
import { ROPE_FACTORS_LONG, ROPE_FACTORS_SHORT, phi3TensorNames } from './gguf-names.ts';
import { GgmlType } from './gguf-types.ts';
import { kv, type GgufTensorToWrite, type GgufTypedValue } from './gguf-writer.ts';
import type { WeightSource } from './source.ts';

/** Tensor types `phi3 convert --quantize` can produce. */
export const GGUF_OUT_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as const;
export type GgufOutType = (typeof GGUF_OUT_TYPES)[number];

/** ggml type id and llama.cpp `llama_ftype` (general.file_type) of each output type. */
const OUT_TYPES: Record<GgufOutType, { ggml: number; fileType: number }> = {
  f32: { ggml: GgmlType.F32, fileType: 0 }, // LLAMA_FTYPE_ALL_F32
  f16: { ggml: GgmlType.F16, fileType: 1 }, // LLAMA_FTYPE_MOSTLY_F16
  bf16: { ggml: GgmlType.BF16, fileType: 32 }, // LLAMA_FTYPE_MOSTLY_BF16
  q8_0: { ggml: GgmlType.Q8_0, fileType: 7 }, // LLAMA_FTYPE_MOSTLY_Q8_0
  q4_0: { ggml: GgmlType.Q4_0, fileType: 2 }, // LLAMA_FTYPE_MOSTLY_Q4_0
};

/** GGML_QUANT_VERSION, written by every llama.cpp converter. */
const QUANT_VERSION = 2;

/** True when `s` names a supported output type. */
export function isGgufOutType(s: string): s is GgufOutType {
  return (GGUF_OUT_TYPES as readonly string[]).includes(s);
}

/**
 * The model metadata llama.cpp expects for arch "phi3" (convert_hf_to_gguf.py
 * `Phi3MiniModel.set_gguf_parameters`), in its order.
 * @param name general.name (the model folder's name, as llama.cpp uses)
 */
export function phi3GgufMetadata(c: Phi3Config, name: string, outType: GgufOutType): Map<string, GgufTypedValue> {
  const m = new Map<string, GgufTypedValue>([
    ['general.architecture', kv.str('phi3')],
    ['general.type', kv.str('model')],
    ['general.name', kv.str(name)],
    ['phi3.context_length', kv.u32(c.maxPositionEmbeddings)],
    ['phi3.rope.scaling.original_context_length', kv.u32(c.originalMaxPositionEmbeddings)],
    ['phi3.embedding_length', kv.u32(c.hiddenSize)],
    ['phi3.feed_forward_length', kv.u32(c.intermediateSize)],
    ['phi3.block_count', kv.u32(c.nLayers)],
    ['phi3.attention.head_count', kv.u32(c.nHeads)],
    ['phi3.attention.head_count_kv', kv.u32(c.nKvHeads)],
    ['phi3.attention.layer_norm_rms_epsilon', kv.f32(c.rmsNormEps)],
    ['phi3.rope.dimension_count', kv.u32(c.headDim)],
    ['phi3.rope.freq_base', kv.f32(c.ropeTheta)],
    ['general.file_type', kv.u32(OUT_TYPES[outType].fileType)],
    // llama.cpp writes 0 for "no sliding window" (HF sliding_window: null).
    ['phi3.attention.sliding_window', kv.u32(c.slidingWindow ?? 0)],
  ]);
  if (c.ropeScaling !== null) {
    // HF/llama.cpp LongRoPE attention factor: sqrt(1 + ln(scale) / ln(original_max)), scale = max / original_max.
    const scale = c.maxPositionEmbeddings / c.originalMaxPositionEmbeddings;
    const attnFactor = scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(c.originalMaxPositionEmbeddings)) : 1;
    m.set('phi3.rope.scaling.attn_factor', kv.f32(attnFactor));
  }
  m.set('general.quantization_version', kv.u32(QUANT_VERSION));
  // Special token ids as llama.cpp's SpecialVocab reads them from config.json (one eos id in GGUF).
  if (c.bosTokenId !== null) m.set('tokenizer.ggml.bos_token_id', kv.u32(c.bosTokenId));
  if (c.eosTokenIds.length > 0) m.set('tokenizer.ggml.eos_token_id', kv.u32(c.eosTokenIds[0]));
  if (c.padTokenId !== null) m.set('tokenizer.ggml.padding_token_id', kv.u32(c.padTokenId));
  return m;
}

/** ggml type a tensor is written in: 1-D tensors (norms, factors) stay F32, as llama.cpp keeps them. */
function tensorType(shape: readonly number[], outType: GgufOutType): { ggml: number; format: QuantFormatName | 'f32' } {
  if (shape.length < 2 || outType === 'f32') return { ggml: GgmlType.F32, format: 'f32' };
  // Rows that do not fill whole 32-blocks cannot be Q8_0/Q4_0; llama.cpp's converter falls back to F16.
  if ((outType === 'q8_0' || outType === 'q4_0') && shape[shape.length - 1] % 32 !== 0) return { ggml: GgmlType.F16, format: 'f16' };
  return { ggml: OUT_TYPES[outType].ggml, format: outType };
}

/** A tensor to write from f32 values, encoded in `outType` when the writer asks for its bytes. */
function encodedTensor(name: string, shape: readonly number[], outType: GgufOutType, values: () => Float32Array): GgufTensorToWrite {
  const { ggml, format } = tensorType(shape, outType);
  return {
    name,
    ne: [...shape].reverse(), // GGUF lists dimensions innermost first
    type: ggml,
    data: () => {
      const f32 = values();
      if (format === 'f32') return new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
      const cols = shape[shape.length - 1];
      return quantizeMatrix(denseMatrix(f32, f32.length / cols, cols), format).data;
    },
  };
}

/**
 * The tensors of a Phi-3 checkpoint under llama.cpp names, each converted lazily to `outType`
 * (2-D weights) or kept F32 (norms, rope factors). HF tensors with no GGUF counterpart are an error.
 */
export function phi3GgufTensors(c: Phi3Config, source: WeightSource, outType: GgufOutType): GgufTensorToWrite[] {
  if (!isGgufOutType(outType)) throw new InvalidArgumentError(`unknown GGUF output type "${String(outType)}"`);
  const tensors: GgufTensorToWrite[] = [];
  const mapped = new Set<string>();
  for (const { hf, gguf } of phi3TensorNames(c.nLayers)) {
    if (!source.has(hf)) continue; // lm_head is absent when tied
    mapped.add(hf);
    tensors.push(encodedTensor(gguf, source.info(hf).shape, outType, () => source.getF32(hf)));
  }
  const unmapped = source.names().filter((n) => !mapped.has(n));
  if (unmapped.length > 0) throw new InvalidArgumentError(`${source.description}: no GGUF name for tensor "${unmapped[0]}"`);
  if (c.ropeScaling !== null) {
    const { longFactor, shortFactor } = c.ropeScaling;
    tensors.push(encodedTensor(ROPE_FACTORS_LONG, [longFactor.length], outType, () => Float32Array.from(longFactor)));
    tensors.push(encodedTensor(ROPE_FACTORS_SHORT, [shortFactor.length], outType, () => Float32Array.from(shortFactor)));
  }
  return tensors;
}
