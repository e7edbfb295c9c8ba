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

/** Per-layer HF tensor names of Phi-3.5-MoE (`model.layers.{l}.…`, fixtures/phi3-notes.md §7). */
export function phimoeLayerNames(l: number) {
  const p = layerPrefix(l);
  return {
    /** LayerNorm before attention: `.weight`, `.bias` [D] */
    inputNorm: `${p}.input_layernorm`,
    /** q: [H Dh, D], k and v: [Hkv Dh, D], o: [D, H Dh]; each with `.bias` when attention_bias */
    q: `${p}.self_attn.q_proj`,
    k: `${p}.self_attn.k_proj`,
    v: `${p}.self_attn.v_proj`,
    o: `${p}.self_attn.o_proj`,
    /** LayerNorm before the experts: `.weight`, `.bias` [D] */
    postAttentionNorm: `${p}.post_attention_layernorm`,
    /** router [E, D], no bias */
    gate: `${p}.block_sparse_moe.gate.weight`,
    /** expert e: w1 (gate) [F, D], w2 (down) [D, F], w3 (up) [F, D] */
    expert: (e: number) => `${p}.block_sparse_moe.experts.${e}`,
  } as const;
}

/** Per-layer HF tensor names of Phi-3-small (`model.layers.{l}.…`, fixtures/phi3small-notes.md §4.10). */
export function phi3SmallLayerNames(l: number) {
  const p = layerPrefix(l);
  return {
    /** [D] LayerNorm weight / bias before attention */
    inputNorm: `${p}.input_layernorm`,
    /** [(H + 2 Hkv) Dh, D] + bias: rows grouped per kv head as [q_{g,0..m−1}, k_g, v_g] */
    qkv: `${p}.self_attn.query_key_value`,
    /** [D, H Dh] + bias (the output projection) */
    dense: `${p}.self_attn.dense`,
    /** [D] LayerNorm weight / bias before the MLP */
    postAttentionNorm: `${p}.post_attention_layernorm`,
    /** [2F, D] + bias: columns of its output interleave gelu (even) and linear (odd) halves */
    up: `${p}.mlp.up_proj`,
    /** [D, F] + bias */
    down: `${p}.mlp.down_proj`,
  } as const;
}

/** Phi-3-small's final norm, HF `model.final_layernorm` (phi3 and phimoe call it `model.norm`): `.weight`, `.bias` [D]. */
export const FINAL_LAYERNORM = 'model.final_layernorm';
