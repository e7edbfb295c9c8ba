/**
 * GGUF metadata → ModelConfig: the one place that knows llama.cpp's `<arch>.*` keys (the inverse of
 * convert_hf_to_gguf.py `Phi3MiniModel.set_gguf_parameters` and `PhiMoeModel`). Token ids come from
 * `tokenizer.ggml.*`; LongRoPE factors from the `rope_factors_long/short` tensors; a missing
 * `output.weight` means the head is tied to the embedding (llama.cpp falls back to token_embd too).
 */
import type { DecoderConfig, LongRopeScaling, Phi3Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { PhimoeConfig } from '../variants/phimoe-config.ts';
import { ggufFloat, ggufInt, type GgufHeader, type GgufTensorInfo } from './gguf.ts';
import { ROPE_FACTORS_LONG, ROPE_FACTORS_SHORT } from './gguf-names.ts';

/** Reads a GGUF tensor as f32 (used for the small LongRoPE factor tensors). */
export type GgufTensorReader = (info: GgufTensorInfo) => Float32Array;

/**
 * Keys our converter adds for Phi-3.5-MoE's explicit LongRoPE multipliers (HF rope_scaling
 * short_mscale / long_mscale). llama.cpp stores only `rope.scaling.attn_factor`; files without
 * these keys use it for both.
 */
export const PHIMOE_SHORT_MSCALE = 'phimoe.rope.scaling.short_mscale';
export const PHIMOE_LONG_MSCALE = 'phimoe.rope.scaling.long_mscale';
/** Our key for HF rope_scaling.original_max_position_embeddings (the mscale switch), when it differs from the top-level one. */
export const PHIMOE_MSCALE_ORIGINAL_MAX = 'phimoe.rope.scaling.original_max_position_embeddings';
/** Our key for HF router_jitter_noise (sets the sparsemixer threshold); absent → HF's default 0.01. */
export const PHIMOE_ROUTER_JITTER = 'phimoe.router_jitter_noise';

/**
 * The shortest decimal that rounds to the same f32: GGUF stores floats as f32, so HF's 1e-5 comes
 * back as 9.99999974738e-6; this returns 1e-5 again (same f32, the value a user wrote).
 */
export function f32ToShortestDecimal(x: number): number {
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.fround(candidate) === Math.fround(x)) return candidate;
  }
  return x;
}

/** Typed access to one architecture's keys, with ConfigErrors naming the file and key. */
class GgufKeys {
  constructor(
    readonly header: GgufHeader,
    readonly label: string,
    readonly arch: string,
  ) {}

  fail(key: string, why: string): never {
    throw new ConfigError(`${this.label}: GGUF metadata ${key} ${why}`);
  }
  /** `<arch>.<key>` as an integer ≥ 1. */
  positive(key: string, fallback?: number): number {
    const k = `${this.arch}.${key}`;
    const v = ggufInt(this.header.metadata, k, fallback);
    if (v < 1) this.fail(k, `must be a positive integer (got ${v})`);
    return v;
  }
  /** `<arch>.<key>` as a float, restored to the decimal the HF config held. */
  float(key: string, fallback?: number): number {
    return f32ToShortestDecimal(ggufFloat(this.header.metadata, `${this.arch}.${key}`, fallback));
  }
  tensor(name: string): GgufTensorInfo | undefined {
    return this.header.tensors.find((t) => t.name === name);
  }
  /** A `tokenizer.ggml.<key>` token id, or null. */
  tokenId(key: string): number | null {
    const k = `tokenizer.ggml.${key}`;
    return this.header.metadata.has(k) ? ggufInt(this.header.metadata, k) : null;
  }
}

/** The fields shared by phi3 and phimoe, plus the raw values their configs name differently. */
interface CommonFields {
  readonly base: DecoderConfig;
  readonly intermediateSize: number;
  readonly originalMaxPositionEmbeddings: number;
  readonly ropeTheta: number;
  readonly normEps: number;
  readonly slidingWindow: number | null;
  readonly longRope: LongRopeScaling | null;
}

function commonFields(k: GgufKeys, kind: 'phi3' | 'phimoe', read: GgufTensorReader): CommonFields {
  const embed = k.tensor('token_embd.weight');
  if (embed === undefined) throw new ConfigError(`${k.label}: no token_embd.weight tensor (a vocab-only GGUF holds a tokenizer, not a model)`);
  const hiddenSize = k.positive('embedding_length');
  const nHeads = k.positive('attention.head_count');
  const nKvHeads = k.positive('attention.head_count_kv', nHeads);
  if (hiddenSize % nHeads !== 0) k.fail(`${k.arch}.attention.head_count`, `(${nHeads}) must divide embedding_length (${hiddenSize})`);
  if (nHeads % nKvHeads !== 0) k.fail(`${k.arch}.attention.head_count_kv`, `(${nKvHeads}) must divide head_count (${nHeads})`);
  const headDim = hiddenSize / nHeads;
  if (headDim % 2 !== 0) k.fail(`${k.arch}.attention.head_count`, `gives an odd head dim ${headDim}`);
  const ropeDims = k.positive('rope.dimension_count', headDim);
  if (ropeDims !== headDim) k.fail(`${k.arch}.rope.dimension_count`, `is ${ropeDims}; Phi-3 models rotate the whole head (${headDim})`);
  const nLayers = k.positive('block_count');
  // Every layer has tensors; a count beyond the tensors in the file is corrupt (and would drive huge loops).
  if (nLayers > k.header.tensors.length) k.fail(`${k.arch}.block_count`, `(${nLayers}) exceeds the ${k.header.tensors.length} tensors in the file`);
  const contextLength = k.positive('context_length');
  const eos = k.tokenId('eos_token_id');
  // convert_hf_to_gguf.py writes 0 when HF's sliding_window is None.
  const slidingWindow = ggufInt(k.header.metadata, `${k.arch}.attention.sliding_window`, 0);
  return {
    base: {
      kind,
      vocabSize: embed.shape[0],
      hiddenSize,
      nLayers,
      nHeads,
      nKvHeads,
      headDim,
      maxPositionEmbeddings: contextLength,
      bosTokenId: k.tokenId('bos_token_id'),
      eosTokenIds: eos === null ? [] : [eos],
      padTokenId: k.tokenId('padding_token_id'),
    },
    intermediateSize: k.positive('feed_forward_length'),
    originalMaxPositionEmbeddings: k.positive('rope.scaling.original_context_length', contextLength),
    ropeTheta: k.float('rope.freq_base', 10000),
    normEps: k.float('attention.layer_norm_rms_epsilon'),
    slidingWindow: slidingWindow > 0 ? slidingWindow : null,
    longRope: longRopeFactors(k, headDim, read),
  };
}

/** LongRoPE factors from the rope_factors_long/short tensors (both or neither), each [Dh/2]. */
function longRopeFactors(k: GgufKeys, headDim: number, read: GgufTensorReader): LongRopeScaling | null {
  const long = k.tensor(ROPE_FACTORS_LONG);
  const short = k.tensor(ROPE_FACTORS_SHORT);
  if (long === undefined && short === undefined) return null;
  if (long === undefined || short === undefined) throw new ConfigError(`${k.label}: has only one of ${ROPE_FACTORS_LONG} and ${ROPE_FACTORS_SHORT}`);
  for (const t of [long, short]) {
    if (t.nElements !== headDim / 2) throw new ConfigError(`${k.label}: ${t.name} has ${t.nElements} values, expected ${headDim / 2}`);
  }
  // Factors were f32 in the file; restore the decimals HF's config.json held (see f32ToShortestDecimal).
  const factors = (t: GgufTensorInfo) => Float64Array.from(read(t), f32ToShortestDecimal);
  return { longFactor: factors(long), shortFactor: factors(short) };
}

/**
 * Config of a GGUF file with `general.architecture` "phi3".
 * @param read reads a tensor of the file as f32 (for rope factors)
 * @throws ConfigError for missing/inconsistent keys
 */
export function phi3ConfigFromGguf(header: GgufHeader, label: string, read: GgufTensorReader): Phi3Config {
  const k = new GgufKeys(header, label, 'phi3');
  const c = commonFields(k, 'phi3', read);
  return {
    ...c.base,
    kind: 'phi3',
    intermediateSize: c.intermediateSize,
    originalMaxPositionEmbeddings: c.originalMaxPositionEmbeddings,
    ropeTheta: c.ropeTheta,
    ropeScaling: c.longRope,
    rmsNormEps: c.normEps,
    slidingWindow: c.slidingWindow,
    tieWordEmbeddings: k.tensor('output.weight') === undefined,
  };
}

/**
 * Config of a GGUF file with `general.architecture` "phimoe" (Phi-3.5-MoE). Biases are detected
 * from the tensors; the router jitter, absent from llama.cpp's files, defaults to HF's 0.01.
 * @throws ConfigError for missing/inconsistent keys
 */
export function phimoeConfigFromGguf(header: GgufHeader, label: string, read: GgufTensorReader): PhimoeConfig {
  const k = new GgufKeys(header, label, 'phimoe');
  const c = commonFields(k, 'phimoe', read);
  const topK = k.positive('expert_used_count', 2);
  if (topK !== 2) k.fail('phimoe.expert_used_count', `is ${topK}; sparsemixer routing is defined for 2 only`);
  const nExperts = k.positive('expert_count');
  if (nExperts < 2 || nExperts > header.tensors.length) k.fail('phimoe.expert_count', `(${nExperts}) is not a plausible expert count`);
  let ropeScaling: PhimoeConfig['ropeScaling'] = null;
  if (c.longRope !== null) {
    const attnFactor = k.float('rope.scaling.attn_factor', 1);
    const mscale = (key: string) => ggufFloat(header.metadata, key, attnFactor); // f64 keys: exact
    ropeScaling = {
      ...c.longRope,
      shortMscale: mscale(PHIMOE_SHORT_MSCALE),
      longMscale: mscale(PHIMOE_LONG_MSCALE),
      originalMaxPositionEmbeddings: ggufInt(header.metadata, PHIMOE_MSCALE_ORIGINAL_MAX, c.originalMaxPositionEmbeddings),
    };
  }
  if (k.tensor('output.weight') === undefined) throw new ConfigError(`${label}: phimoe needs output.weight (its head is never tied)`);
  return {
    ...c.base,
    kind: 'phimoe',
    intermediateSize: c.intermediateSize,
    nExperts,
    nExpertsPerToken: 2,
    routerJitterNoise: ggufFloat(header.metadata, PHIMOE_ROUTER_JITTER, 0.01),
    originalMaxPositionEmbeddings: c.originalMaxPositionEmbeddings,
    ropeTheta: c.ropeTheta,
    ropeScaling,
    layerNormEps: c.normEps,
    slidingWindow: c.slidingWindow,
    attentionBias: k.tensor('blk.0.attn_q.bias') !== undefined,
    lmHeadBias: k.tensor('output.bias') !== undefined,
  };
}
