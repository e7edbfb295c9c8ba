/**
 * Hugging Face tensor names, written once so variant files and converters agree. They are the names
 * in real checkpoints (users can grep them), e.g. `model.layers.3.self_attn.qkv_proj.weight`.
 */

/** Names shared by every Phi-3-family decoder. */
export const EMBED_TOKENS = 'model.embed_tokens.weight';
export const FINAL_NORM = 'model.norm';
export const LM_HEAD = 'lm_head';

/** Prefix of decoder layer l: `model.layers.{l}`. */
export function layerPrefix(l: number): string {
  return `model.layers.${l}`;
}

/** Phi-3 (mini / medium / 3.5-mini, and the phi3_v language model) per-layer tensor names. */
export function phi3LayerNames(l: number) {
  const p = layerPrefix(l);
  return {
    /** [D] RMSNorm weight before attention */
    inputNorm: `${p}.input_layernorm.weight`,
    /** [(H + 2 Hkv) Dh, D]: rows Q, then K, then V */
    qkv: `${p}.self_attn.qkv_proj.weight`,
    /** [D, H Dh] */
    o: `${p}.self_attn.o_proj.weight`,
    /** [D] RMSNorm weight before the MLP */
    postAttentionNorm: `${p}.post_attention_layernorm.weight`,
    /** [2F, D]: rows gate, then up */
    gateUp: `${p}.mlp.gate_up_proj.weight`,
    /** [D, F] */
    down: `${p}.mlp.down_proj.weight`,
  } as const;
}
