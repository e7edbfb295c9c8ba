/**
 * Phi-3-small (8k / 128k): HF model_type "phi3small", remote code `modeling_phi3_small.py`
 * (semantics confirmed in fixtures/phi3small-notes.md §4).
 *
 *   h = embed_tokens[ids] · mup_embedding_multiplier
 *   per layer:  h += dense(attn(rope(query_key_value(layernorm(h)))))   qkv grouped per kv head [q×m, k, v]
 *               h += down_proj(gegelu(up_proj(layernorm(h))))            interleaved split, clamps, +1
 *   logits = f32(final_layernorm(h) · embed_tokensᵀ) / mup_width_multiplier;  dummy ids → f32 lowest
 *
 * Attention: layer l is dense causal iff (l+1) % dense_attention_every_n_layers == 0, else block-sparse
 * (local blocks + per-head vertical stripes, layers/blocksparse*.ts). Softmax scale is muP's
 * mup_attn_multiplier / Dh (not 1/√Dh). LayerNorm with bias everywhere; every linear layer has a bias
 * (the config's attention_bias: false is unused); the head has no bias and is tied to embed_tokens
 * unless the config says tie_word_embeddings: false.
 */
import type { DecoderVariant } from '../decoder.ts';
import { ContextLengthError } from '../errors.ts';
import { activation, ActivationBuffers } from '../layers/activations.ts';
import { attentionInto, rotateAndCache, type AttentionLayout } from '../layers/attention.ts';
import { blocksparseAttentionInto } from '../layers/blocksparse-kernel.ts';
import { embedTokens } from '../layers/embedding.ts';
import { gegluMlp } from '../layers/geglu.ts';
import { project, readLinear, type Linear } from '../layers/linear.ts';
import { longRopeFrequencies } from '../layers/longrope.ts';
import { layerNorms, readLayerNorm } from '../layers/norm.ts';
import { plainRopeParams, rotaryTableCache, type RopeParams } from '../layers/rope.ts';
import { EMBED_TOKENS, FINAL_LAYERNORM, LM_HEAD, phi3SmallLayerNames } from '../weights/names.ts';
import { readMatrix, type WeightSource } from '../weights/source.ts';
import { parsePhi3SmallConfig, type Phi3SmallConfig } from './phi3-small-config.ts';
import type { VariantModule } from './registry.ts';

/** float32 lowest (−FLT_MAX): HF writes it, not −inf, into the dummy-token logits (`torch.finfo(float32).min`). */
export const FLOAT32_LOWEST = -3.4028234663852886e38;

/** Whether layer l (0-based) uses dense causal attention (HF `Phi3SmallSelfAttention.__init__`). */
export function isDenseAttentionLayer(c: Phi3SmallConfig, l: number): boolean {
  const n = c.denseAttentionEveryNLayers;
  return n > 0 && (l + 1) % n === 0;
}

/**
 * Splits the fused projection, whose features are grouped per kv head: for g = 0..Hkv−1 a block of
 * (m + 2)·Dh features [q_{g,0}, …, q_{g,m−1}, k_g, v_g] (m = H / Hkv); query head h = g·m + i.
 * @param qkv     [T, Hkv, m + 2, Dh] f32
 * @param buffers where q, k, v go (buffers of those names), else fresh arrays
 * @returns q [T, H, Dh], k [T, Hkv, Dh], v [T, Hkv, Dh] f32
 */
export function splitGroupedQkv(
  qkv: Float32Array, T: number, layout: AttentionLayout, buffers?: ActivationBuffers,
): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const { nHeads: H, nKvHeads: Hkv, headDim: Dh } = layout;
  const m = H / Hkv;
  const q = activation(buffers, 'q', T * H * Dh);
  const k = activation(buffers, 'k', T * Hkv * Dh);
  const v = activation(buffers, 'v', T * Hkv * Dh);
  for (let t = 0; t < T; t++) {
    for (let g = 0; g < Hkv; g++) {
      const group = (t * Hkv + g) * (m + 2) * Dh; // qkv[t, g, :, :]
      q.set(qkv.subarray(group, group + m * Dh), (t * H + g * m) * Dh); // heads g·m .. g·m+m−1
      k.set(qkv.subarray(group + m * Dh, group + (m + 1) * Dh), (t * Hkv + g) * Dh);
      v.set(qkv.subarray(group + (m + 1) * Dh, group + (m + 2) * Dh), (t * Hkv + g) * Dh);
    }
  }
  return { q, k, v };
}

/**
 * The rotary parameters of a forward that sees `totalLength` positions (HF positional_embedding.py).
 * Plain RoPE: angle = position · rope_position_scale · base^(−2i/Dh). LongRoPE: short factors and
 * short_mscale while totalLength <= original_max, long factors and long_mscale when strictly past it
 * (rope_position_scale is ignored there). Both cos and sin carry the mscale. The long table serves
 * totals below max_position_embeddings only (ContextLengthError otherwise, as HF asserts).
 */
export function phi3SmallRopeParams(c: Phi3SmallConfig): (totalLength: number) => RopeParams {
  const s = c.ropeScaling;
  if (s === null) return plainRopeParams(c.headDim, c.ropeBase, c.ropePositionScale);
  const freq = longRopeFrequencies(s, c.headDim, c.ropeBase);
  const short: RopeParams = { invFreq: freq.short, scale: s.shortMscale };
  const long: RopeParams = { invFreq: freq.long, scale: s.longMscale };
  return (totalLength) => {
    if (totalLength <= s.originalMaxPositionEmbeddings) return short;
    // positional_embedding.py asserts seq_len < max_position_embeddings on the long branch.
    if (totalLength >= c.maxPositionEmbeddings) {
      throw new ContextLengthError(`phi3small LongRoPE supports fewer than ${c.maxPositionEmbeddings} positions (got ${totalLength})`);
    }
    return long;
  };
}

/** Reads the weights (shape-checked) and wires the Phi-3-small decoder. */
export function buildPhi3Small(c: Phi3SmallConfig, w: WeightSource): DecoderVariant {
  const { hiddenSize: D, nHeads: H, nKvHeads: Hkv, headDim: Dh, intermediateSize: F, vocabSize: V } = c;
  const embed = readMatrix(w, EMBED_TOKENS, V, D);
  // Tied (the real configs leave tie_word_embeddings at transformers' default, true): HF shares one
  // parameter, so any lm_head.weight in such a checkpoint equals embed_tokens and is not read.
  const head: Linear = { weight: c.tieWordEmbeddings ? embed : readMatrix(w, `${LM_HEAD}.weight`, V, D), bias: undefined };
  // Every linear layer has a bias (the config's attention_bias: false is unused).
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const n = phi3SmallLayerNames(l);
    return {
      inputNorm: readLayerNorm(w, n.inputNorm, D),
      qkv: readLinear(w, n.qkv, (H + 2 * Hkv) * Dh, D, true),
      dense: readLinear(w, n.dense, D, H * Dh, true),
      postAttentionNorm: readLayerNorm(w, n.postAttentionNorm, D),
      mlp: { up: readLinear(w, n.up, 2 * F, D, true), down: readLinear(w, n.down, D, F, true) },
      denseAttention: isDenseAttentionLayer(c, l),
    };
  });
  const finalNorm = readLayerNorm(w, FINAL_LAYERNORM, D);
  const rotary = rotaryTableCache(phi3SmallRopeParams(c));
  const layout: AttentionLayout = { nHeads: H, nKvHeads: Hkv, headDim: Dh };
  // muP: scores = q·k · mup_attn_multiplier / Dh (1/128 in the real model), else the usual 1/√Dh.
  const scale = c.mupUseScaling ? c.mupAttnMultiplier / Dh : 1 / Math.sqrt(Dh);
  const buffers = new ActivationBuffers(); // the layers' intermediates, reused layer after layer

  return {
    config: c,
    // The phi3small reference generate() keeps the cache at the LongRoPE switch: cached keys keep their
    // short rotation and only new tokens use the long table (fixtures/phi3small-notes.md §4.5).
    rebuildCacheAbove: null,

    embed: (tokens) => embedTokens(embed, tokens, c.mupEmbeddingMultiplier), // muP

    norm: layerNorms(layers, finalNorm, D, c.layerNormEps, buffers),

    attention(x, T, l, cache) {
      const layer = layers[l];
      const { q, k, v } = splitGroupedQkv(project(x, T, layer.qkv, buffers, 'qkv'), T, layout, buffers); // qkv: [T, Hkv, m + 2, Dh]
      const pos0 = cache.length;
      rotateAndCache(q, k, v, l, cache, rotary(pos0, T), layout);
      const attn = buffers.take('attention', T * H * Dh); // [T, H, Dh], every row written below
      if (layer.denseAttention) {
        attentionInto(attn, q, cache.keysOf(l), cache.valuesOf(l), pos0, T, layout, scale, { window: null });
      } else {
        blocksparseAttentionInto(attn, q, cache.keysOf(l), cache.valuesOf(l), c.blocksparse, { T, pos0, H, Hkv, Dh }, scale);
      }
      return project(attn, T, layer.dense, buffers, 'o_proj');
    },

    ffn(x, T, l) {
      return gegluMlp(x, T, layers[l].mlp, c.gegeluLimit, buffers);
    },

    head(h, T) {
      const logits = project(h, T, head); // [T, V]
      // HF: logits.float() / mup_width_multiplier — the division happens on float32 values.
      for (let i = 0; i < logits.length; i++) logits[i] /= c.mupWidthMultiplier;
      for (let t = 0; t < T; t++) for (const id of c.dummyTokenIds) logits[t * V + id] = FLOAT32_LOWEST;
      return logits;
    },
  };
}

/** Registry entry for model_type "phi3small". */
export const phi3SmallVariant: VariantModule<Phi3SmallConfig> = {
  kind: 'phi3small',
  modelTypes: ['phi3small'],
  parseConfig: parsePhi3SmallConfig,
  build: buildPhi3Small,
};
