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
import { gatherMatrixRowsInto, layerNormInto, linearInto } from '@phi3/tensor';
import type { DecoderVariant } from '../decoder.ts';
import { ContextLengthError } from '../errors.ts';
import { attentionInto, type AttentionLayout } from '../layers/attention.ts';
import { blocksparseAttentionInto } from '../layers/blocksparse-kernel.ts';
import { gegluMlp, type GegluMlpWeights } from '../layers/geglu.ts';
import { applyRotary, inverseFrequencies, rotaryTableCache, type RopeParams } from '../layers/rope.ts';
import { EMBED_TOKENS, LM_HEAD, layerPrefix } from '../weights/names.ts';
import { readMatrix, readTensor, type WeightSource } from '../weights/source.ts';
import { parsePhi3SmallConfig, type Phi3SmallConfig } from './phi3-small-config.ts';
import type { VariantModule } from './registry.ts';

/** float32 lowest (−FLT_MAX): HF writes it, not −inf, into the dummy-token logits (`torch.finfo(float32).min`). */
export const FLOAT32_LOWEST = -3.4028234663852886e38;

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

/** HF `model.final_layernorm` (phi3 calls it `model.norm`). */
const FINAL_LAYERNORM = 'model.final_layernorm';

/** Whether layer l (0-based) uses dense causal attention (HF `Phi3SmallSelfAttention.__init__`). */
export function isDenseAttentionLayer(c: Phi3SmallConfig, l: number): boolean {
  const n = c.denseAttentionEveryNLayers;
  return n > 0 && (l + 1) % n === 0;
}

/**
 * Splits the fused projection, whose features are grouped per kv head: for g = 0..Hkv−1 a block of
 * (m + 2)·Dh features [q_{g,0}, …, q_{g,m−1}, k_g, v_g] (m = H / Hkv); query head h = g·m + i.
 * @param qkv [T, Hkv, m + 2, Dh] f32
 * @returns q [T, H, Dh], k [T, Hkv, Dh], v [T, Hkv, Dh] f32 (fresh)
 */
export function splitGroupedQkv(qkv: Float32Array, T: number, layout: AttentionLayout): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const { nHeads: H, nKvHeads: Hkv, headDim: Dh } = layout;
  const m = H / Hkv;
  const q = new Float32Array(T * H * Dh);
  const k = new Float32Array(T * Hkv * Dh);
  const v = new Float32Array(T * Hkv * Dh);
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
  if (s === null) {
    const invFreq = inverseFrequencies(c.headDim, c.ropeBase).map((f) => f * c.ropePositionScale);
    const plain: RopeParams = { invFreq, scale: 1 };
    return () => plain;
  }
  const short: RopeParams = { invFreq: inverseFrequencies(c.headDim, c.ropeBase, s.shortFactor), scale: s.shortMscale };
  const long: RopeParams = { invFreq: inverseFrequencies(c.headDim, c.ropeBase, s.longFactor), scale: s.longMscale };
  return (totalLength) => {
    if (totalLength <= s.originalMaxPositionEmbeddings) return short;
    // positional_embedding.py asserts seq_len < max_position_embeddings on the long branch.
    if (totalLength >= c.maxPositionEmbeddings) {
      throw new ContextLengthError(`phi3small LongRoPE supports fewer than ${c.maxPositionEmbeddings} positions (got ${totalLength})`);
    }
    return long;
  };
}

interface LayerNormWeights {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

function readLayerNorm(w: WeightSource, name: string, D: number): LayerNormWeights {
  return { weight: readTensor(w, `${name}.weight`, [D]), bias: readTensor(w, `${name}.bias`, [D]) };
}

/** Reads the weights (shape-checked) and wires the Phi-3-small decoder. */
export function buildPhi3Small(c: Phi3SmallConfig, w: WeightSource): DecoderVariant {
  const { hiddenSize: D, nHeads: H, nKvHeads: Hkv, headDim: Dh, intermediateSize: F, vocabSize: V } = c;
  const qkvRows = (H + 2 * Hkv) * Dh;
  const embed = readMatrix(w, EMBED_TOKENS, V, D);
  // Tied (the real configs leave tie_word_embeddings at transformers' default, true): HF shares one
  // parameter, so any lm_head.weight in such a checkpoint equals embed_tokens and is not read.
  const head = c.tieWordEmbeddings ? embed : readMatrix(w, `${LM_HEAD}.weight`, V, D);
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const n = phi3SmallLayerNames(l);
    const mlp: GegluMlpWeights = {
      up: readMatrix(w, `${n.up}.weight`, 2 * F, D), upBias: readTensor(w, `${n.up}.bias`, [2 * F]),
      down: readMatrix(w, `${n.down}.weight`, D, F), downBias: readTensor(w, `${n.down}.bias`, [D]),
    };
    return {
      inputNorm: readLayerNorm(w, n.inputNorm, D),
      qkv: readMatrix(w, `${n.qkv}.weight`, qkvRows, D),
      qkvBias: readTensor(w, `${n.qkv}.bias`, [qkvRows]),
      dense: readMatrix(w, `${n.dense}.weight`, D, H * Dh),
      denseBias: readTensor(w, `${n.dense}.bias`, [D]),
      postAttentionNorm: readLayerNorm(w, n.postAttentionNorm, D),
      mlp,
      denseAttention: isDenseAttentionLayer(c, l),
    };
  });
  const finalNorm = readLayerNorm(w, FINAL_LAYERNORM, D);
  const rotary = rotaryTableCache(phi3SmallRopeParams(c));
  const layout: AttentionLayout = { nHeads: H, nKvHeads: Hkv, headDim: Dh };
  // muP: scores = q·k · mup_attn_multiplier / Dh (1/128 in the real model), else the usual 1/√Dh.
  const scale = c.mupUseScaling ? c.mupAttnMultiplier / Dh : 1 / Math.sqrt(Dh);

  return {
    config: c,
    // The phi3small reference generate() keeps the cache at the LongRoPE switch: cached keys keep their
    // short rotation and only new tokens use the long table (fixtures/phi3small-notes.md §4.5).
    rebuildCacheAbove: null,

    embed(tokens) {
      const out = new Float32Array(tokens.length * D); // [T, D]
      gatherMatrixRowsInto(out, embed, tokens);
      for (let i = 0; i < out.length; i++) out[i] *= c.mupEmbeddingMultiplier;
      return out;
    },

    norm(x, T, l, which) {
      const ln = which === 'final' ? finalNorm : which === 'attn' ? layers[l].inputNorm : layers[l].postAttentionNorm;
      const out = new Float32Array(T * D);
      layerNormInto(out, x, ln.weight, ln.bias, T, D, c.layerNormEps);
      return out;
    },

    attention(x, T, l, cache) {
      const layer = layers[l];
      const qkv = new Float32Array(T * qkvRows); // [T, Hkv, m + 2, Dh]
      linearInto(qkv, x, layer.qkv, T, layer.qkvBias);
      const { q, k, v } = splitGroupedQkv(qkv, T, layout);
      const pos0 = cache.length;
      // As in the shared `cachedAttention`: rotate, then cache (keys are cached rotated), then attend.
      const tables = rotary(pos0, T);
      applyRotary(q, tables, H, Dh);
      applyRotary(k, tables, Hkv, Dh);
      cache.write(l, k, v);
      const attn = new Float32Array(T * H * Dh); // [T, H, Dh]
      if (layer.denseAttention) {
        attentionInto(attn, q, cache.keysOf(l), cache.valuesOf(l), pos0, T, layout, scale, { window: null });
      } else {
        blocksparseAttentionInto(attn, q, cache.keysOf(l), cache.valuesOf(l), c.blocksparse, { T, pos0, H, Hkv, Dh }, scale);
      }
      const out = new Float32Array(T * D);
      linearInto(out, attn, layer.dense, T, layer.denseBias);
      return out;
    },

    ffn(x, T, l) {
      return gegluMlp(x, T, layers[l].mlp, c.gegeluLimit);
    },

    head(h, T) {
      const logits = new Float32Array(T * V); // [T, V]
      linearInto(logits, h, head, T);
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
