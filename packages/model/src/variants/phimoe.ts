/**
 * Phi-3.5-MoE: HF model_type "phimoe" (transformers v4.47.1 models/phimoe/modeling_phimoe.py;
 * semantics confirmed by the fixture logits, fixtures/phi3-notes.md §5).
 *
 *   h = embed_tokens[ids]                                              (no scaling, untied head)
 *   per layer:  h += o_proj(attn(rope(q_proj(ln(h)), k_proj(ln(h))), v_proj(ln(h))))   biases, GQA
 *               h += Σ_{k<2} w_k · expert_{e_k}(ln(h))                  sparsemixer top-2 (layers/moe.ts)
 *   logits = lm_head(ln(h)) + lm_head.bias
 *
 * Main differences with Phi-3: LayerNorm with bias (eps = rms_norm_eps) instead of RMSNorm, separate
 * q/k/v/o projections with biases, a mixture of experts instead of the MLP, an lm_head bias, and
 * LongRoPE with explicit short/long mscales and a different switch rule (`phimoeRopeParams`).
 */
import type { DecoderVariant } from '../decoder.ts';
import { ActivationBuffers } from '../layers/activations.ts';
import { cachedAttention, type AttentionLayout, type AttentionMask } from '../layers/attention.ts';
import { embedTokens } from '../layers/embedding.ts';
import { project, readLinear } from '../layers/linear.ts';
import { longRopeFrequencies } from '../layers/longrope.ts';
import { sparseMoe, type ExpertWeights, type MoeWeights } from '../layers/moe.ts';
import { layerNorms, readLayerNorm } from '../layers/norm.ts';
import { plainRopeParams, rotaryTableCache, type RopeParams } from '../layers/rope.ts';
import { checkRouterDecisions } from '../verify/router-check.ts';
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, phimoeLayerNames } from '../weights/names.ts';
import { readMatrix, type WeightSource } from '../weights/source.ts';
import { parsePhimoeConfig, type PhimoeConfig } from './phimoe-config.ts';
import type { VariantModule } from './registry.ts';

/**
 * The rotary parameters of a forward that sees `totalLength` positions (v4.47.1 `PhimoeRotaryEmbedding`
 * with `seq_len` = cached + new), two rules that differ from Phi-3's:
 * - inverse frequencies: long factors iff totalLength >= original_max (note >=) — the rope utils compare
 *   an "expanded" length (max_position_embeddings once seq_len >= original_max) with original_max;
 * - cos/sin multiplier: long_mscale iff totalLength > rope_scaling.original_max, else short_mscale (the
 *   computed LongRoPE attention factor is ignored when the mscales are given, which phimoe requires).
 * So exactly original_max tokens use long factors with the short mscale (fixture case seq32_boundary).
 * Newest upstream always uses the short factors (notes §6); we follow the version the reference ran.
 */
export function phimoeRopeParams(c: PhimoeConfig): (totalLength: number) => RopeParams {
  const s = c.ropeScaling;
  if (s === null) return plainRopeParams(c.headDim, c.ropeTheta);
  const freq = longRopeFrequencies(s, c.headDim, c.ropeTheta);
  const originalMax = c.originalMaxPositionEmbeddings;
  // HF `_compute_longrope_parameters`: expanded = max_position_embeddings (seq_len >= original_max) and
  // long iff expanded > original_max, so a model whose context is not longer never uses long factors.
  const hasLongRange = c.maxPositionEmbeddings > originalMax;
  return (totalLength) => ({
    invFreq: hasLongRange && totalLength >= originalMax ? freq.long : freq.short,
    scale: totalLength > s.originalMaxPositionEmbeddings ? s.longMscale : s.shortMscale,
  });
}

function readMoe(w: WeightSource, l: number, c: PhimoeConfig): MoeWeights {
  const { hiddenSize: D, intermediateSize: F, nExperts: E } = c;
  const n = phimoeLayerNames(l);
  const experts = Array.from({ length: E }, (_, e): ExpertWeights => ({
    w1: readMatrix(w, `${n.expert(e)}.w1.weight`, F, D),
    w2: readMatrix(w, `${n.expert(e)}.w2.weight`, D, F),
    w3: readMatrix(w, `${n.expert(e)}.w3.weight`, F, D),
  }));
  return { gate: readMatrix(w, n.gate, E, D), experts };
}

/** Reads the weights (shape-checked) and wires the Phi-3.5-MoE decoder. */
export function buildPhimoe(c: PhimoeConfig, w: WeightSource): DecoderVariant {
  const { hiddenSize: D, nHeads: H, nKvHeads: Hkv, headDim: Dh, vocabSize: V, attentionBias } = c;
  const embed = readMatrix(w, EMBED_TOKENS, V, D);
  const head = readLinear(w, LM_HEAD, V, D, c.lmHeadBias);
  const finalNorm = readLayerNorm(w, FINAL_NORM, D);
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const n = phimoeLayerNames(l);
    return {
      inputNorm: readLayerNorm(w, n.inputNorm, D),
      q: readLinear(w, n.q, H * Dh, D, attentionBias),
      k: readLinear(w, n.k, Hkv * Dh, D, attentionBias),
      v: readLinear(w, n.v, Hkv * Dh, D, attentionBias),
      o: readLinear(w, n.o, D, H * Dh, attentionBias),
      postAttentionNorm: readLayerNorm(w, n.postAttentionNorm, D),
      moe: readMoe(w, l, c),
    };
  });
  const rotary = rotaryTableCache(phimoeRopeParams(c));
  const layout: AttentionLayout = { nHeads: H, nKvHeads: Hkv, headDim: Dh };
  // PhimoeModel's causal mask (Mistral's `_prepare_4d_causal_attention_mask_with_cache_position`) applies the
  // sliding window too: key j is masked iff j <= i - W, so a query sees W keys including itself.
  const mask: AttentionMask = { window: c.slidingWindow };
  const scale = 1 / Math.sqrt(Dh); // scores = q·k / sqrt(Dh); LongRoPE scales through cos/sin only
  const buffers = new ActivationBuffers(); // the layers' intermediates (not the experts'), reused layer after layer

  return {
    config: c,
    // PhimoeForCausalLM.prepare_inputs_for_generation drops the cache the first time the length passes
    // original_max. v4.47.1 then re-runs without a causal mask (a bug, notes §5); we re-run causally,
    // the intended policy the fixtures' `reset_causal` entries target.
    rebuildCacheAbove: c.ropeScaling !== null ? c.originalMaxPositionEmbeddings : null,

    embed: (tokens) => embedTokens(embed, tokens), // no scaling

    // LayerNorm with bias, eps = rms_norm_eps despite the name (HF PhimoeDecoderLayer)
    norm: layerNorms(layers, finalNorm, D, c.layerNormEps, buffers),

    attention(x, T, l, cache) {
      const layer = layers[l];
      const q = project(x, T, layer.q, buffers, 'q'); // [T, H Dh]
      const k = project(x, T, layer.k, buffers, 'k'); // [T, Hkv Dh]
      const v = project(x, T, layer.v, buffers, 'v'); // [T, Hkv Dh]
      const attn = cachedAttention(q, k, v, l, cache, rotary(cache.length, T), layout, scale, mask, buffers); // [T, H Dh]
      return project(attn, T, layer.o, buffers, 'o_proj');
    },

    ffn(x, T, l, tap) {
      const { out, routerLogits, routing } = sparseMoe(x, T, layers[l].moe, c.routerJitterNoise);
      if (tap !== undefined) {
        tap('router_logits', l, routerLogits);
        tap('router_experts', l, Float32Array.from(routing.experts));
        tap('router_weights', l, routing.weights);
      }
      return out;
    },

    head(h, T) {
      return project(h, T, head); // [T, V]
    },
  };
}

/** Registry entry for model_type "phimoe". */
export const phimoeVariant: VariantModule<PhimoeConfig> = {
  kind: 'phimoe',
  modelTypes: ['phimoe'],
  parseConfig: parsePhimoeConfig,
  build: buildPhimoe,
  verifyHook: { extraChecks: checkRouterDecisions },
};
