/**
 * Phi-3.5-MoE configuration (HF model_type "phimoe"): transformers v4.47.1
 * `models/phimoe/configuration_phimoe.py` (`PhimoeConfig.__init__`, `_rope_scaling_validation`),
 * with the LongRoPE details of `modeling_rope_utils._compute_longrope_parameters` and
 * `PhimoeRotaryEmbedding.forward` (fixtures/phi3-notes.md §5).
 */
import {
  ConfigReader,
  parseDecoderConfig,
  parseLongRopeFactors,
  type DecoderConfig,
  type LongRopeScaling,
} from '../config.ts';

/** Phimoe's `rope_scaling`: LongRoPE factors plus explicit cos/sin multipliers. */
export interface PhimoeRopeScaling extends LongRopeScaling {
  /** HF: rope_scaling.short_mscale — cos/sin multiplier while the total length is <= original_max */
  readonly shortMscale: number;
  /** HF: rope_scaling.long_mscale — cos/sin multiplier once the total length is > original_max */
  readonly longMscale: number;
  /** HF: rope_scaling.original_max_position_embeddings — `PhimoeRotaryEmbedding` switches the mscale on it */
  readonly originalMaxPositionEmbeddings: number;
}

/** Phi-3.5-MoE (model_type "phimoe"). */
export interface PhimoeConfig extends DecoderConfig {
  readonly kind: 'phimoe';
  /** HF: intermediate_size (F, per expert) */
  readonly intermediateSize: number;
  /** HF: num_local_experts (E) */
  readonly nExperts: number;
  /** HF: num_experts_per_tok — always 2 (sparsemixer is top-2 only) */
  readonly nExpertsPerToken: 2;
  /** HF: router_jitter_noise — the sparsemixer mask threshold is 2× this at inference */
  readonly routerJitterNoise: number;
  /**
   * HF: original_max_position_embeddings (top level; falls back to the rope_scaling entry). LongRoPE
   * picks the long factors from this length on, and generate() rebuilds the cache past it.
   */
  readonly originalMaxPositionEmbeddings: number;
  /** HF: rope_theta (PhimoeConfig default 1e6) */
  readonly ropeTheta: number;
  /** HF: rope_scaling (type "longrope" with mscales); null = plain RoPE */
  readonly ropeScaling: PhimoeRopeScaling | null;
  /** HF: rms_norm_eps — despite the name, the eps of every LayerNorm */
  readonly layerNormEps: number;
  /** HF: sliding_window — a query sees this many keys including itself; null = unlimited */
  readonly slidingWindow: number | null;
  /** HF: attention_bias — q/k/v/o projections carry biases */
  readonly attentionBias: boolean;
  /** HF: lm_head_bias */
  readonly lmHeadBias: boolean;
}

declare module '../config.ts' {
  interface ConfigByKind {
    phimoe: PhimoeConfig;
  }
}

/** `PhimoeConfig.__init__` defaults where v4.47.1 has them and Phi-3 differs. */
const DEFAULT_ROPE_THETA = 1e6;
const DEFAULT_KV_HEADS = 8;
const DEFAULT_BOS = 1;
const DEFAULT_EOS = 2;

/** config.json → PhimoeConfig; ConfigError naming the field for anything v4.47.1 rejects or we do not run. */
export function parsePhimoeConfig(r: ConfigReader): PhimoeConfig {
  // PhimoeConfig defaults num_key_value_heads to 8 (not to the head count, as phi3 does).
  const base = parseDecoderConfig(r, 'phimoe', { nKvHeads: DEFAULT_KV_HEADS, bosTokenId: DEFAULT_BOS, eosTokenId: DEFAULT_EOS });
  const act = r.string('hidden_act', 'silu');
  if (act !== 'silu') throw r.error('hidden_act', `"${act}" is not supported (Phi-3.5-MoE experts use "silu")`);
  const topK = r.int('num_experts_per_tok', 2);
  if (topK !== 2) throw r.error('num_experts_per_tok', `is ${topK}; sparsemixer routing is defined for 2 only`);
  const nExperts = r.int('num_local_experts', 16, 2);
  if (r.bool('tie_word_embeddings', false)) {
    throw r.error('tie_word_embeddings', 'is true; Phi-3.5-MoE keeps a separate lm_head (with bias), tied heads are not supported');
  }
  const ropeScaling = parsePhimoeRopeScaling(r, base.headDim);
  const originalMax = r.int('original_max_position_embeddings', ropeScaling?.originalMaxPositionEmbeddings ?? base.maxPositionEmbeddings);
  return {
    ...base,
    intermediateSize: r.int('intermediate_size'),
    nExperts,
    nExpertsPerToken: 2,
    routerJitterNoise: nonNegative(r, 'router_jitter_noise', 0.01),
    originalMaxPositionEmbeddings: originalMax,
    ropeTheta: r.positive('rope_theta', DEFAULT_ROPE_THETA),
    ropeScaling,
    layerNormEps: r.positive('rms_norm_eps', 1e-5),
    slidingWindow: r.intOrNull('sliding_window', 1),
    attentionBias: r.bool('attention_bias', false),
    lmHeadBias: r.bool('lm_head_bias', false),
  };
}

/**
 * `rope_scaling` as v4.47.1 `PhimoeConfig.__init__` needs it: type "longrope" (read from `rope_type`, else
 * the older `type`), short/long factors (Dh/2 each), numeric short/long mscales, and
 * original_max_position_embeddings (`PhimoeRotaryEmbedding.forward` indexes it). Other keys are refused.
 */
function parsePhimoeRopeScaling(r: ConfigReader, headDim: number): PhimoeRopeScaling | null {
  const raw = r.child('rope_scaling')?.raw;
  if (raw === undefined) return null;
  const { rope_type: ropeType, ...rest } = raw;
  const view = ropeType === undefined ? r : new ConfigReader({ ...r.raw, rope_scaling: { ...rest, type: ropeType } }, r.file);
  const extraKeys = ['short_mscale', 'long_mscale', 'original_max_position_embeddings'];
  const factors = parseLongRopeFactors(view, headDim, ['longrope'], extraKeys);
  const s = view.child('rope_scaling');
  if (factors === null || s === null) return null;
  return {
    ...factors,
    shortMscale: s.positive('short_mscale'),
    longMscale: s.positive('long_mscale'),
    originalMaxPositionEmbeddings: s.int('original_max_position_embeddings'),
  };
}

function nonNegative(r: ConfigReader, key: string, fallback: number): number {
  const v = r.number(key, fallback);
  if (v < 0) throw r.error(key, `must be >= 0 (got ${v})`);
  return v;
}
