/**
 * Phi-3-small configuration (model_type "phi3small"): HF remote code `configuration_phi3_small.py`
 * (`Phi3SmallConfig`) read into one typed record. Its key names differ from the other Phi-3
 * configs (rope_embedding_base, layer_norm_epsilon, ff_intermediate_size, blocksparse_*, mup_*); the
 * shared fields (sizes, heads, token ids) go through `parseDecoderConfig` with Phi3SmallConfig's defaults. Semantics: fixtures/phi3small-notes.md.
 */
import { ConfigReader, parseDecoderConfig, parseLongRopeFactors, type DecoderConfig, type LongRopeScaling } from '../config.ts';
import type { BlocksparseLayout } from '../layers/blocksparse.ts';
import { longRopeAttentionFactor } from '../layers/longrope.ts';

/** LongRoPE of the 128k model (`rope_scaling`, HF positional_embedding.py `LongRopeConfig`): factors plus these. */
export interface Phi3SmallLongRope extends LongRopeScaling {
  /** HF: rope_scaling.original_max_position_embeddings */
  readonly originalMaxPositionEmbeddings: number;
  /** cos/sin multiplier with the short factors (HF short_mscale, or 1 when it is absent or <= 0) */
  readonly shortMscale: number;
  /** cos/sin multiplier with the long factors (HF long_mscale, or the Phi-3 formula when absent or <= 0) */
  readonly longMscale: number;
}

export interface Phi3SmallConfig extends DecoderConfig {
  readonly kind: 'phi3small';
  /** HF: ff_intermediate_size, or ff_dim_multiplier·(D//3)·2 padded to 256 (Phi3SmallConfig.intermediate_size) */
  readonly intermediateSize: number;
  /** HF: layer_norm_epsilon (nn.LayerNorm with bias, not RMSNorm) */
  readonly layerNormEps: number;
  /** HF: gegelu_limit — the GEGLU clamp */
  readonly gegeluLimit: number;
  /** HF: blocksparse_block_size / _num_local_blocks / _vert_stride / _homo_head_pattern */
  readonly blocksparse: BlocksparseLayout;
  /** HF: dense_attention_every_n_layers — layer l is dense iff n > 0 and (l+1) % n == 0; 0 = all sparse */
  readonly denseAttentionEveryNLayers: number;
  /** HF: mup_embedding_multiplier — the embeddings are scaled by it */
  readonly mupEmbeddingMultiplier: number;
  /** HF: mup_attn_multiplier — softmax scale numerator when mup_use_scaling */
  readonly mupAttnMultiplier: number;
  /** HF: mup_width_multiplier — the logits are divided by it */
  readonly mupWidthMultiplier: number;
  /** HF: mup_use_scaling — softmax scale mupAttnMultiplier/Dh instead of 1/√Dh */
  readonly mupUseScaling: boolean;
  /** HF: rope_embedding_base */
  readonly ropeBase: number;
  /** HF: rope_position_scale (positions are multiplied by it; ignored under LongRoPE) */
  readonly ropePositionScale: number;
  /** HF: rope_scaling (128k model); null = plain RoPE */
  readonly ropeScaling: Phi3SmallLongRope | null;
  /** HF: tie_word_embeddings (transformers' default true: lm_head is embed_tokens) */
  readonly tieWordEmbeddings: boolean;
  /** Token ids whose logits are forced to float32 lowest (see `parseDummyTokenIds`). */
  readonly dummyTokenIds: readonly number[];
}

declare module '../config.ts' {
  interface ConfigByKind {
    phi3small: Phi3SmallConfig;
  }
}

/** Vocabulary size of the real checkpoints: cl100k_base (100256 ranks) + 96 special ids. */
const CL100K_PADDED_VOCAB = 100352;

/**
 * The dummy ids of the real models, which HF takes from the tokenizer
 * (`tokenization_phi3_small.py::Phi3SmallTokenizer.dummy_token_indices`): every `<|dummy_id_N|>`
 * (100256, 100264, 100265, 100267..100275, 100277..100351) plus the unused cl100k specials
 * `<|fim_prefix|>` 100258, `<|fim_middle|>` 100259, `<|fim_suffix|>` 100260, `<|endofprompt|>` 100276.
 */
export function cl100kDummyTokenIds(): number[] {
  const ids = [100256, 100258, 100259, 100260, 100264, 100265];
  for (let id = 100267; id < CL100K_PADDED_VOCAB; id++) ids.push(id);
  return ids;
}

/**
 * Which logits get float32 lowest: the config's `dummy_token_indices` when present (the fixtures
 * carry it), else the cl100k list for a vocabulary of the real size, else none.
 */
function parseDummyTokenIds(r: ConfigReader, vocabSize: number): number[] {
  if (r.has('dummy_token_indices')) {
    const ids = r.tokenIds('dummy_token_indices');
    for (const id of ids) if (id >= vocabSize) throw r.error('dummy_token_indices', `contains ${id} >= vocab_size ${vocabSize}`);
    return ids;
  }
  return vocabSize === CL100K_PADDED_VOCAB ? cl100kDummyTokenIds() : [];
}

/** HF Phi3SmallConfig.intermediate_size: exactly one of ff_intermediate_size / ff_dim_multiplier. */
function parseIntermediateSize(r: ConfigReader, hiddenSize: number): number {
  const explicit = r.has('ff_intermediate_size');
  const multiplier = r.has('ff_dim_multiplier');
  if (explicit === multiplier) {
    throw r.error('ff_intermediate_size', 'and ff_dim_multiplier: exactly one of them must be set');
  }
  if (explicit) return r.int('ff_intermediate_size');
  const size = r.number('ff_dim_multiplier') * Math.floor(hiddenSize / 3) * 2;
  const padded = r.bool('gegelu_pad_to_256', true) ? Math.ceil(size / 256) * 256 : size;
  if (!Number.isSafeInteger(padded) || padded < 1) throw r.error('ff_dim_multiplier', `gives an invalid intermediate size ${padded}`);
  return padded;
}

/** HF default 2 when the key is absent; an explicit null or 0 (falsy in the HF check) means no dense layers. */
function parseDenseEveryN(r: ConfigReader): number {
  if (r.raw.dense_attention_every_n_layers === undefined) return 2;
  return r.has('dense_attention_every_n_layers') ? r.int('dense_attention_every_n_layers', undefined, 0) : 0;
}

/**
 * `rope_scaling` as HF positional_embedding.py `LongRopeConfig` reads it (the dataclass rejects any other
 * key): type "su" or "longrope", factors, original_max_position_embeddings, optional mscales.
 */
function parseLongRope(r: ConfigReader, headDim: number, maxPositions: number): Phi3SmallLongRope | null {
  const factors = parseLongRopeFactors(r, headDim, ['su', 'longrope'], ['original_max_position_embeddings', 'short_mscale', 'long_mscale']);
  const s = r.child('rope_scaling');
  if (factors === null || s === null) return null;
  const originalMax = s.int('original_max_position_embeddings');
  if (originalMax >= maxPositions) {
    throw s.error('original_max_position_embeddings', `(${originalMax}) must be below max_position_embeddings (${maxPositions})`);
  }
  const shortMscale = s.number('short_mscale', 0);
  const longMscale = s.number('long_mscale', 0);
  return {
    ...factors,
    originalMaxPositionEmbeddings: originalMax,
    // positional_embedding.py: a non-positive mscale falls back to 1 (short) and the Phi-3 paper's factor (long).
    shortMscale: shortMscale > 0 ? shortMscale : 1,
    longMscale: longMscale > 0 ? longMscale : longRopeAttentionFactor(maxPositions, originalMax),
  };
}

/**
 * Parses and validates a phi3small config.json.
 * @param r reader over the raw config (its `file` names the config in error messages)
 */
export function parsePhi3SmallConfig(r: ConfigReader): Phi3SmallConfig {
  // Phi3SmallConfig defaults: 8 kv heads, bos = eos = <|endoftext|> (100257).
  const base = parseDecoderConfig(r, 'phi3small', { nKvHeads: 8, bosTokenId: 100257, eosTokenId: 100257 });
  const { hiddenSize, headDim, nHeads, vocabSize, maxPositionEmbeddings } = base;
  const act = r.string('hidden_act', 'gegelu');
  if (act !== 'gegelu') throw r.error('hidden_act', `"${act}" is not supported (phi3small uses gegelu)`);
  return {
    ...base,
    intermediateSize: parseIntermediateSize(r, hiddenSize),
    layerNormEps: r.positive('layer_norm_epsilon', 1e-5),
    gegeluLimit: r.positive('gegelu_limit', 20),
    blocksparse: {
      blockSize: r.int('blocksparse_block_size', 64),
      numLocalBlocks: r.int('blocksparse_num_local_blocks', 16),
      vertStride: r.int('blocksparse_vert_stride', 8),
      nHeads,
      homoHeadPattern: r.bool('blocksparse_homo_head_pattern', false),
    },
    denseAttentionEveryNLayers: parseDenseEveryN(r),
    mupEmbeddingMultiplier: r.number('mup_embedding_multiplier', 10),
    mupAttnMultiplier: r.number('mup_attn_multiplier', 1),
    mupWidthMultiplier: r.positive('mup_width_multiplier', 8),
    mupUseScaling: r.bool('mup_use_scaling', true),
    ropeBase: r.positive('rope_embedding_base', 1e6),
    ropePositionScale: r.positive('rope_position_scale', 1),
    ropeScaling: parseLongRope(r, headDim, maxPositionEmbeddings),
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    dummyTokenIds: parseDummyTokenIds(r, vocabSize),
  };
}
