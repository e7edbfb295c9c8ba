/**
 * Hugging Face checkpoint → GGUF, written the way llama.cpp's convert_hf_to_gguf.py writes archs
 * "phi3" (`Phi3MiniModel`) and "phimoe" (`PhiMoeModel`): same metadata keys, tensor names and tensor types, so llama.cpp,
 * ollama and LM Studio accept the result. Weights are read, converted and written one tensor at a
 * time (a converted model never sits in memory twice).
 */
import { denseMatrix, quantizeMatrix, type QuantFormatName } from '@phi3/tensor';
import type { Phi3Config } from '../config.ts';
import { InvalidArgumentError, UnsupportedModelError } from '../errors.ts';
import { longRopeAttentionFactor } from '../layers/longrope.ts';
import type { PhimoeConfig } from '../variants/phimoe-config.ts';
import { PHIMOE_LONG_MSCALE, PHIMOE_MSCALE_ORIGINAL_MAX, PHIMOE_ROUTER_JITTER, PHIMOE_SHORT_MSCALE } from './gguf-config.ts';
import { ROPE_FACTORS_LONG, ROPE_FACTORS_SHORT, phi3TensorNames, phimoeTensorNames } from './gguf-names.ts';
import { LM_HEAD } from './names.ts';
import { weightFormat } from './quantize.ts';
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

/** The configs we can write to GGUF (architectures "phi3" and "phimoe"). */
export type GgufExportConfig = Phi3Config | PhimoeConfig;

/**
 * The model metadata llama.cpp expects for arch "phi3" / "phimoe" (convert_hf_to_gguf.py
 * `Phi3MiniModel.set_gguf_parameters`, `PhiMoeModel.set_gguf_parameters`), in its order.
 * @param name general.name (the model folder's name, as llama.cpp uses)
 */
export function ggufModelMetadata(c: GgufExportConfig, name: string, outType: GgufOutType): Map<string, GgufTypedValue> {
  const arch = c.kind;
  const m = new Map<string, GgufTypedValue>([
    ['general.architecture', kv.str(arch)],
    ['general.type', kv.str('model')],
    ['general.name', kv.str(name)],
    [`${arch}.context_length`, kv.u32(c.maxPositionEmbeddings)],
    [`${arch}.rope.scaling.original_context_length`, kv.u32(c.originalMaxPositionEmbeddings)],
    [`${arch}.embedding_length`, kv.u32(c.hiddenSize)],
    [`${arch}.feed_forward_length`, kv.u32(c.intermediateSize)],
    [`${arch}.block_count`, kv.u32(c.nLayers)],
    [`${arch}.attention.head_count`, kv.u32(c.nHeads)],
    [`${arch}.attention.head_count_kv`, kv.u32(c.nKvHeads)],
    // HF rms_norm_eps; phimoe uses it as its LayerNorm eps, llama.cpp keeps the key name.
    [`${arch}.attention.layer_norm_rms_epsilon`, kv.f32(c.kind === 'phi3' ? c.rmsNormEps : c.layerNormEps)],
    [`${arch}.rope.dimension_count`, kv.u32(c.headDim)],
    [`${arch}.rope.freq_base`, kv.f32(c.ropeTheta)],
    ['general.file_type', kv.u32(OUT_TYPES[outType].fileType)],
    // llama.cpp writes 0 for "no sliding window" (HF sliding_window: null).
    [`${arch}.attention.sliding_window`, kv.u32(c.slidingWindow ?? 0)],
  ]);
  if (c.ropeScaling !== null) {
    // convert_hf_to_gguf.py writes HF Phi-3's LongRoPE attention factor (phimoe's mscales go in our own keys below).
    m.set(`${arch}.rope.scaling.attn_factor`, kv.f32(longRopeAttentionFactor(c.maxPositionEmbeddings, c.originalMaxPositionEmbeddings)));
  }
  if (c.kind === 'phimoe') {
    m.set('phimoe.expert_used_count', kv.u32(c.nExpertsPerToken));
    m.set('phimoe.expert_count', kv.u32(c.nExperts));
    // Not llama.cpp keys: HF values GGUF has no key for, as f64 so our loader reproduces HF exactly.
    m.set(PHIMOE_ROUTER_JITTER, kv.f64(c.routerJitterNoise));
    if (c.ropeScaling !== null) {
      m.set(PHIMOE_SHORT_MSCALE, kv.f64(c.ropeScaling.shortMscale));
      m.set(PHIMOE_LONG_MSCALE, kv.f64(c.ropeScaling.longMscale));
      if (c.ropeScaling.originalMaxPositionEmbeddings !== c.originalMaxPositionEmbeddings) {
        m.set(PHIMOE_MSCALE_ORIGINAL_MAX, kv.u32(c.ropeScaling.originalMaxPositionEmbeddings));
      }
    }
  }
  m.set('general.quantization_version', kv.u32(QUANT_VERSION));
  // Special token ids as llama.cpp's SpecialVocab reads them from config.json (one eos id in GGUF).
  if (c.bosTokenId !== null) m.set('tokenizer.ggml.bos_token_id', kv.u32(c.bosTokenId));
  if (c.eosTokenIds.length > 0) m.set('tokenizer.ggml.eos_token_id', kv.u32(c.eosTokenIds[0]));
  if (c.padTokenId !== null) m.set('tokenizer.ggml.padding_token_id', kv.u32(c.padTokenId));
  return m;
}

/**
 * ggml type a tensor is written in: 1-D tensors (norms, biases, factors) stay F32; 2-D weights get
 * `weightFormat`'s choice (F32 MoE routers as convert_hf_to_gguf.py forces FFN_GATE_INP, a Q8_0 head for
 * q4_0 as llama-quantize keeps it higher), shared with the in-memory `--dtype` path.
 * @param hfName the HF tensor (for stacked experts, any one expert)
 */
function tensorType(shape: readonly number[], outType: GgufOutType, hfName: string, hasLmHead: boolean): { ggml: number; format: QuantFormatName | 'f32' } {
  const format = shape.length < 2 ? 'f32' : weightFormat(hfName, outType, hasLmHead);
  // Rows that do not fill whole 32-blocks cannot be Q8_0/Q4_0; llama.cpp's converter falls back to F16.
  if ((format === 'q8_0' || format === 'q4_0') && shape[shape.length - 1] % 32 !== 0) return { ggml: GgmlType.F16, format: 'f16' };
  return { ggml: OUT_TYPES[format].ggml, format };
}

/** Encodes f32 rows of `shape` ([..., cols]) in `format`. */
function encode(f32: Float32Array, shape: readonly number[], format: QuantFormatName | 'f32'): Uint8Array {
  if (format === 'f32') return new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  const cols = shape[shape.length - 1];
  return quantizeMatrix(denseMatrix(f32, f32.length / cols, cols), format).data;
}

/**
 * The tensors of a checkpoint under llama.cpp names, each converted lazily to `outType` (2-D
 * weights) or kept F32 (norms, biases, rope factors). Experts are stacked into one [E, rows, cols]
 * tensor per layer and projection, as llama.cpp stores them. HF tensors with no GGUF name are an
 * UnsupportedModelError (nothing is silently dropped).
 */
export function ggufModelTensors(c: GgufExportConfig, source: WeightSource, outType: GgufOutType): GgufTensorToWrite[] {
  if (!isGgufOutType(outType)) throw new InvalidArgumentError(`unknown GGUF output type "${String(outType)}"`);
  const names = c.kind === 'phi3' ? phi3TensorNames(c.nLayers) : phimoeTensorNames(c.nLayers, c.nExperts);
  const tensors: GgufTensorToWrite[] = [];
  const stacks = new Map<string, string[]>(); // GGUF name → HF names of its experts, in order
  const mapped = new Set<string>();
  const hasLmHead = source.has(`${LM_HEAD}.weight`);
  for (const { hf, gguf, expert } of names) {
    if (!source.has(hf)) continue; // lm_head is absent when tied; biases when the model has none
    mapped.add(hf);
    if (expert === undefined) {
      const shape = source.info(hf).shape;
      const { ggml, format } = tensorType(shape, outType, hf, hasLmHead);
      tensors.push({ name: gguf, ne: [...shape].reverse(), type: ggml, data: () => encode(source.getF32(hf), shape, format) });
    } else if (stacks.has(gguf)) {
      stacks.get(gguf)!.push(hf);
    } else {
      stacks.set(gguf, [hf]);
    }
  }
  for (const [gguf, experts] of stacks) {
    const shape = source.info(experts[0]).shape; // [rows, cols] of one expert
    const stacked = [experts.length, ...shape];
    const { ggml, format } = tensorType(shape, outType, experts[0], hasLmHead);
    tensors.push({
      name: gguf,
      ne: [...stacked].reverse(), // GGUF lists dimensions innermost first: [cols, rows, E]
      type: ggml,
      data: () => concatBytes(experts.map((hf) => encode(source.getF32(hf), shape, format))),
    });
  }
  // Rotary inv_freq buffers (older checkpoints) are recomputed from the config; llama.cpp skips them too.
  const unmapped = source.names().filter((n) => !mapped.has(n) && !n.endsWith('.rotary_emb.inv_freq'));
  if (unmapped.length > 0) throw new UnsupportedModelError(`${source.description}: tensor "${unmapped[0]}" has no GGUF counterpart for ${c.kind}`);
  if (c.ropeScaling !== null) {
    for (const [name, factors] of [[ROPE_FACTORS_LONG, c.ropeScaling.longFactor], [ROPE_FACTORS_SHORT, c.ropeScaling.shortFactor]] as const) {
      tensors.push({ name, ne: [factors.length], type: GgmlType.F32, data: () => encode(Float32Array.from(factors), [factors.length], 'f32') });
    }
  }
  return tensors;
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
