/**
 * llama.cpp GGUF tensor names ↔ Hugging Face names (llama.cpp `src/llama-arch.cpp`, LLM_ARCH_PHI3,
 * and gguf-py `tensor_mapping.py`). The shared decoder only ever asks for HF names; the GGUF
 * WeightSource translates through this table, so GGUF files load through the same variant code.
 */
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, phi3LayerNames, phimoeLayerNames } from './names.ts';

/** One tensor's name in both worlds. */
export interface TensorNamePair {
  readonly hf: string;
  readonly gguf: string;
  /**
   * Set when the HF tensor is one slice of a stacked GGUF tensor: llama.cpp stores the experts of a
   * layer as one 3-D tensor [E, rows, cols] (ne = [cols, rows, E]); expert e is the e-th [rows, cols].
   */
  readonly expert?: number;
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

/**
 * Every weight of a Phi-3.5-MoE decoder (llama.cpp LLM_ARCH_PHIMOE; convert_hf_to_gguf.py
 * `PhiMoeModel` stacks experts w1/w2/w3 into ffn_gate_exps/ffn_down_exps/ffn_up_exps). LayerNorms,
 * projections and the head carry `.bias` tensors under the same GGUF stems.
 */
export function phimoeTensorNames(nLayers: number, nExperts: number): TensorNamePair[] {
  const withBias = (hf: string, gguf: string): TensorNamePair[] => [
    { hf: `${hf}.weight`, gguf: `${gguf}.weight` },
    { hf: `${hf}.bias`, gguf: `${gguf}.bias` },
  ];
  const pairs: TensorNamePair[] = [
    { hf: EMBED_TOKENS, gguf: 'token_embd.weight' },
    ...withBias(FINAL_NORM, 'output_norm'),
    ...withBias(LM_HEAD, 'output'),
  ];
  for (let l = 0; l < nLayers; l++) {
    const n = phimoeLayerNames(l);
    const blk = `blk.${l}`;
    pairs.push(
      ...withBias(n.inputNorm, `${blk}.attn_norm`),
      ...withBias(n.q, `${blk}.attn_q`),
      ...withBias(n.k, `${blk}.attn_k`),
      ...withBias(n.v, `${blk}.attn_v`),
      ...withBias(n.o, `${blk}.attn_output`),
      ...withBias(n.postAttentionNorm, `${blk}.ffn_norm`),
      { hf: n.gate, gguf: `${blk}.ffn_gate_inp.weight` },
    );
    for (let e = 0; e < nExperts; e++) {
      pairs.push(
        { hf: `${n.expert(e)}.w1.weight`, gguf: `${blk}.ffn_gate_exps.weight`, expert: e },
        { hf: `${n.expert(e)}.w2.weight`, gguf: `${blk}.ffn_down_exps.weight`, expert: e },
        { hf: `${n.expert(e)}.w3.weight`, gguf: `${blk}.ffn_up_exps.weight`, expert: e },
      );
    }
  }
  return pairs;
}
