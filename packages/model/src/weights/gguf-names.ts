/**
 * llama.cpp GGUF tensor names ↔ Hugging Face names (llama.cpp `src/llama-arch.cpp`, LLM_ARCH_PHI3,
 * and gguf-py `tensor_mapping.py`). The shared decoder only ever asks for HF names; the GGUF
 * WeightSource translates through this table, so GGUF files load through the same variant code.
 */
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, phi3LayerNames } from './names.ts';

/** One tensor's name in both worlds. */
export interface TensorNamePair {
  readonly hf: string;
  readonly gguf: string;
}

/** GGUF-only tensors of arch phi3 holding LongRoPE factors ([Dh/2] f32 each); they feed the config. */
export const ROPE_FACTORS_LONG = 'rope_factors_long.weight';
export const ROPE_FACTORS_SHORT = 'rope_factors_short.weight';

/**
 * Every weight of a Phi-3 decoder with `nLayers` layers. In GGUF, `ffn_up` holds HF's fused
 * gate_up_proj unchanged (gate rows first; llama.cpp's LLM_FFN_SWIGLU splits it the same way) and
 * `attn_qkv` holds qkv_proj (rows Q, K, V).
 */
export function phi3TensorNames(nLayers: number): TensorNamePair[] {
  const pairs: TensorNamePair[] = [
    { hf: EMBED_TOKENS, gguf: 'token_embd.weight' },
    { hf: `${FINAL_NORM}.weight`, gguf: 'output_norm.weight' },
    { hf: `${LM_HEAD}.weight`, gguf: 'output.weight' },
  ];
  for (let l = 0; l < nLayers; l++) {
    const n = phi3LayerNames(l);
    const blk = `blk.${l}`;
    pairs.push(
      { hf: n.inputNorm, gguf: `${blk}.attn_norm.weight` },
      { hf: n.qkv, gguf: `${blk}.attn_qkv.weight` },
      { hf: n.o, gguf: `${blk}.attn_output.weight` },
      { hf: n.postAttentionNorm, gguf: `${blk}.ffn_norm.weight` },
      { hf: n.gateUp, gguf: `${blk}.ffn_up.weight` },
      { hf: n.down, gguf: `${blk}.ffn_down.weight` },
    );
  }
  return pairs;
}
