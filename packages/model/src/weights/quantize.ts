/**
 * In-memory quantization of any checkpoint (`--dtype q8_0|q4_0` on generate/bench): a WeightSource
 * wrapper whose 2-D weights come back as quantized WeightMatrix blocks (ggml's reference rounding,
 * the same bytes `phi3 convert --quantize` writes), while 1-D tensors (norms) stay f32.
 */
import { blockFormat, denseMatrix, isQuantFormat, quantizeMatrix, type QuantFormatName, type WeightMatrix } from '@phi3/tensor';
import { InvalidArgumentError } from '../errors.ts';
import { EMBED_TOKENS, LM_HEAD } from './names.ts';
import type { TensorInfo, WeightSource } from './source.ts';

/** Storage types for `quantizeWeights` ('f32' = leave the weights as they are). */
export type WeightDType = 'f32' | QuantFormatName;

/**
 * The format one 2-D weight is stored in when `requested` is asked for, following llama.cpp's
 * per-tensor choices (`llama_tensor_get_type` in llama-quant.cpp; convert_hf_to_gguf.py):
 * - MoE routers (`…block_sparse_moe.gate.weight`, GGUF ffn_gate_inp) stay f32: top-2 routing is
 *   discrete, and a quantized router flips decisions.
 * - The output head (`lm_head.weight`, or `embed_tokens` when it doubles as the head) of a q4_0 model
 *   is q8_0: llama.cpp stores `output.weight` of 4-bit file types as Q6_K, or Q8_0 when its rows are not
 *   whole 256-blocks. We have no Q6_K quantizer, so we take that fallback. The head sets every logit
 *   directly: on the trained phi3-shakespeare-tiny (tied head) q4_0 max |Δlogit| drops from 1.03 to 0.46
 *   and greedy agreement rises from 5/12 to 12/12; random-weight fixtures barely change.
 * Everything else gets `requested`.
 * @param hasLmHead whether the checkpoint has its own `lm_head.weight` (else embed_tokens is the head)
 */
export function weightFormat<T extends WeightDType>(hfName: string, requested: T, hasLmHead: boolean): T | 'f32' | 'q8_0' {
  if (hfName.endsWith('.block_sparse_moe.gate.weight')) return 'f32';
  const isHead = hfName === `${LM_HEAD}.weight` || (!hasLmHead && hfName === EMBED_TOKENS);
  if (isHead && requested === 'q4_0') return 'q8_0';
  return requested;
}

/**
 * Wraps `source` so every `getMatrix` returns the weight quantized to `dtype` (to `weightFormat`'s choice
 * for routers and the q4_0 head). Matrices whose rows are not a whole number of blocks, and matrices the
 * source already gives quantized, are passed through.
 * @param dtype 'f32' (no change), or a format with a quantizer: 'q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'f16', 'bf16'
 * @throws InvalidArgumentError for unknown or read-only (K-quant) formats
 */
export function quantizeWeights(source: WeightSource, dtype: string): WeightSource {
  if (dtype === 'f32') return source;
  if (!isQuantFormat(dtype)) throw new InvalidArgumentError(`unknown weight dtype "${dtype}" (expected f32, q8_0 or q4_0)`);
  const { quantizeRowInto } = blockFormat(dtype);
  if (quantizeRowInto === undefined) throw new InvalidArgumentError(`${dtype} is a read-only format: weights cannot be quantized to it`);
  const hasLmHead = source.has(`${LM_HEAD}.weight`);
  return {
    description: `${source.description} (quantized to ${dtype} in memory)`,
    names: () => source.names(),
    has: (name) => source.has(name),
    info: (name): TensorInfo => source.info(name),
    getF32: (name) => source.getF32(name),
    getMatrix(name): WeightMatrix {
      const w = source.getMatrix(name);
      const format = weightFormat(name, dtype, hasLmHead);
      if (w.format !== 'f32' || format === 'f32' || w.cols % blockFormat(format).blockSize !== 0) return w;
      return quantizeMatrix(denseMatrix(w.data, w.rows, w.cols), format);
    },
    // stored matrices already quantized pass through, as in getMatrix; f32 ones are quantized there
    getStoredMatrix(name) {
      const stored = source.getStoredMatrix?.(name);
      return stored?.format === 'f32' ? undefined : stored;
    },
    close: () => source.close(),
  };
}
