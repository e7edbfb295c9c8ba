/**
 * Phi-3 mini (4k / 128k), medium and 3.5-mini: HF model_type "phi3"
 * (transformers v4.47.1 models/phi3/modeling_phi3.py; semantics in fixtures/phi3-notes.md §4).
 *
 *   h = embed_tokens[ids]                                     (no scaling)
 *   per layer:  h += o_proj(attn(rope(qkv_proj(rmsnorm(h)))))  (fused qkv: Q, K, V rows; GQA)
 *               h += down_proj(up ⊙ silu(gate))                (fused gate_up: gate rows first)
 *   logits = lm_head(rmsnorm(h))                              (lm_head tied to embed_tokens if asked)
 *
 * No biases anywhere (`attention_bias` in real configs is ignored by v4.47.1).
 */
import { linearInto, type WeightMatrix } from '@phi3/tensor';
import { ConfigReader, parseDecoderConfig, parseLongRopeFactors, type Phi3Config } from '../config.ts';
import type { DecoderVariant } from '../decoder.ts';
import { WeightsFormatError } from '../errors.ts';
import { ActivationBuffers } from '../layers/activations.ts';
import { cachedAttention, splitFusedQkv, type AttentionLayout, type AttentionMask } from '../layers/attention.ts';
import { embedTokens } from '../layers/embedding.ts';
import { project, type Linear } from '../layers/linear.ts';
import { longRopeAttentionFactor, longRopeFrequencies } from '../layers/longrope.ts';
import { fusedSwiGluMlp } from '../layers/mlp.ts';
import { rmsNorms } from '../layers/norm.ts';
import { plainRopeParams, rotaryTableCache, type RopeParams } from '../layers/rope.ts';
import { EMBED_TOKENS, FINAL_NORM, LM_HEAD, phi3LayerNames } from '../weights/names.ts';
import { readMatrix, readTensor, type WeightSource } from '../weights/source.ts';
import type { VariantModule } from './registry.ts';

/**
 * config.json → Phi3Config, with v4.47.1's defaults and checks (`Phi3Config.__init__`,
 * `_rope_scaling_adjustment`, `_rope_scaling_validation`).
 */
export function parsePhi3Config(r: ConfigReader): Phi3Config {
  const base = parseDecoderConfig(r, 'phi3');
  const act = r.string('hidden_act', 'silu');
  if (act !== 'silu') throw r.error('hidden_act', `"${act}" is not supported (Phi-3 uses "silu")`);
  // v4.47.1 rotates the whole head and ignores this key, but the checkpoints that set it (Phi-4-mini,
  // 0.75) were trained with a partial rotation: running them with a full one would be silently wrong.
  const partial = r.number('partial_rotary_factor', 1);
  if (partial !== 1) throw r.error('partial_rotary_factor', `is ${partial}; only full-head rotary embeddings (1.0, every Phi-3 checkpoint) are supported`);
  return {
    ...base,
    intermediateSize: r.int('intermediate_size'),
    originalMaxPositionEmbeddings: r.int('original_max_position_embeddings', 4096),
    ropeTheta: r.positive('rope_theta', 10000),
    // "su" and "yarn" are older names v4.47.1 rewrites to "longrope"; no other key is accepted.
    ropeScaling: parseLongRopeFactors(r, base.headDim, ['longrope', 'su', 'yarn']),
    rmsNormEps: r.positive('rms_norm_eps', 1e-5),
    slidingWindow: r.intOrNull('sliding_window', 1),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
  };
}

/**
 * The rotary parameters of a forward that sees `totalLength` positions (HF v4.47.1
 * `Phi3LongRoPEScaledRotaryEmbedding.forward`, seq_len = cached + new = last position + 1):
 * long factors iff totalLength > original_max (exactly original_max stays short), and the constant
 * cos/sin factor sqrt(1 + ln(max/original_max) / ln(original_max)) for both tables. The choice applies
 * to the tokens of this forward only; cached keys keep their rotation (hence `rebuildCacheAbove`).
 */
export function phi3RopeParams(c: Phi3Config): (totalLength: number) => RopeParams {
  if (c.ropeScaling === null) return plainRopeParams(c.headDim, c.ropeTheta);
  const originalMax = c.originalMaxPositionEmbeddings;
  const freq = longRopeFrequencies(c.ropeScaling, c.headDim, c.ropeTheta);
  const scale = longRopeAttentionFactor(c.maxPositionEmbeddings, originalMax);
  const short: RopeParams = { invFreq: freq.short, scale };
  const long: RopeParams = { invFreq: freq.long, scale };
  return (totalLength) => (totalLength > originalMax ? long : short);
}

/**
 * The output head: `lm_head.weight`, or `embed_tokens` when the checkpoint has no head and the config
 * ties them (v4.47.1 `PreTrainedModel.tie_weights`, as `phi3-shakespeare-tiny` does).
 */
export function outputHead(c: Phi3Config, w: WeightSource, embed: WeightMatrix): WeightMatrix {
  if (w.has(`${LM_HEAD}.weight`)) return readMatrix(w, `${LM_HEAD}.weight`, c.vocabSize, c.hiddenSize);
  if (c.tieWordEmbeddings) return embed;
  throw new WeightsFormatError(`${w.description}: missing tensor "${LM_HEAD}.weight" (and tie_word_embeddings is false)`);
}

/** Reads the weights and wires the Phi-3 decoder. */
export function buildPhi3(c: Phi3Config, w: WeightSource): DecoderVariant {
  const { hiddenSize: D, nHeads: H, nKvHeads: Hkv, headDim: Dh, intermediateSize: F, vocabSize: V } = c;
  const embed = readMatrix(w, EMBED_TOKENS, V, D);
  const head = outputHead(c, w, embed);
  const layers = Array.from({ length: c.nLayers }, (_, l) => {
    const n = phi3LayerNames(l);
    return {
      inputNorm: readTensor(w, n.inputNorm, [D]),
      qkv: readMatrix(w, n.qkv, (H + 2 * Hkv) * Dh, D),
      o: readMatrix(w, n.o, D, H * Dh),
      postAttentionNorm: readTensor(w, n.postAttentionNorm, [D]),
      gateUp: readMatrix(w, n.gateUp, 2 * F, D),
      down: readMatrix(w, n.down, D, F),
    };
  });
  const finalNorm = readTensor(w, `${FINAL_NORM}.weight`, [D]);
  const rotary = rotaryTableCache(phi3RopeParams(c));
  const layout: AttentionLayout = { nHeads: H, nKvHeads: Hkv, headDim: Dh };
  const mask: AttentionMask = { window: c.slidingWindow };
  const scale = 1 / Math.sqrt(Dh); // scores = q·k / sqrt(Dh); LongRoPE scales through cos/sin only
  const lmHead: Linear = { weight: head, bias: undefined };
  const buffers = new ActivationBuffers(); // the layers' intermediates, reused layer after layer

  return {
    config: c,
    // HF Phi3ForCausalLM.prepare_inputs_for_generation drops the cache when the length first passes
    // original_max, so every key is re-rotated with the long factors (fixtures/phi3-notes.md §4).
    rebuildCacheAbove: c.ropeScaling !== null ? c.originalMaxPositionEmbeddings : null,

    embed: (tokens) => embedTokens(embed, tokens), // no scaling

    norm: rmsNorms(layers, finalNorm, D, c.rmsNormEps, buffers),

    attention(x, T, l, cache) {
      const qkv = buffers.take('qkv', T * (H + 2 * Hkv) * Dh);
      linearInto(qkv, x, layers[l].qkv, T);
      const { q, k, v } = splitFusedQkv(qkv, T, layout, buffers);
      const attn = cachedAttention(q, k, v, l, cache, rotary(cache.length, T), layout, scale, mask, buffers); // [T, H Dh]
      const out = buffers.take('o_proj', T * D);
      linearInto(out, attn, layers[l].o, T);
      return out;
    },

    ffn(x, T, l) {
      return fusedSwiGluMlp(x, T, layers[l].gateUp, layers[l].down, buffers);
    },

    head: (h, T) => project(h, T, lmHead), // [T, V], no bias
  };
}

/** Registry entry for model_type "phi3". */
export const phi3Variant: VariantModule<Phi3Config> = {
  kind: 'phi3',
  modelTypes: ['phi3'],
  parseConfig: parsePhi3Config,
  build: buildPhi3,
};
