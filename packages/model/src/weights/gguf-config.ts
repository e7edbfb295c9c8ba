/**
 * GGUF metadata → ModelConfig: the one place that knows llama.cpp's `<arch>.*` keys (the inverse of
 * convert_hf_to_gguf.py `Phi3MiniModel.set_gguf_parameters`). Token ids come from `tokenizer.ggml.*`;
 * LongRoPE factors come from the `rope_factors_long/short` tensors; a missing `output.weight`
 * means the head is tied to the embedding (llama.cpp falls back to token_embd the same way).
 */
import type { Phi3Config } from '../config.ts';
import { ConfigError, UnsupportedModelError } from '../errors.ts';
import { ggufFloat, ggufInt, ggufString, type GgufHeader, type GgufTensorInfo } from './gguf.ts';
import { ROPE_FACTORS_LONG, ROPE_FACTORS_SHORT } from './gguf-names.ts';

/** Reads a GGUF tensor as f32 (used for the small LongRoPE factor tensors). */
export type GgufTensorReader = (info: GgufTensorInfo) => Float32Array;

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

/**
 * Builds the config of a GGUF file whose `general.architecture` is "phi3".
 * @param read reads a tensor of the file as f32 (for rope factors)
 * @throws ConfigError for missing/inconsistent keys, UnsupportedModelError for other architectures
 */
export function phi3ConfigFromGguf(header: GgufHeader, label: string, read: GgufTensorReader): Phi3Config {
  const meta = header.metadata;
  const arch = ggufString(meta, 'general.architecture');
  if (arch !== 'phi3') throw new UnsupportedModelError(`${label}: GGUF architecture "${arch}" is not supported (supported: phi3)`);
  const key = (k: string) => `phi3.${k}`;
  const fail = (k: string, why: string): never => {
    throw new ConfigError(`${label}: GGUF metadata ${k} ${why}`);
  };
  const positiveInt = (k: string, fallback?: number) => {
    const v = ggufInt(meta, k, fallback);
    if (v < 1) fail(k, `must be a positive integer (got ${v})`);
    return v;
  };
  const tensor = (name: string) => header.tensors.find((t) => t.name === name);

  const hiddenSize = positiveInt(key('embedding_length'));
  const nHeads = positiveInt(key('attention.head_count'));
  const nKvHeads = positiveInt(key('attention.head_count_kv'), nHeads);
  if (hiddenSize % nHeads !== 0) fail(key('attention.head_count'), `(${nHeads}) must divide embedding_length (${hiddenSize})`);
  if (nHeads % nKvHeads !== 0) fail(key('attention.head_count_kv'), `(${nKvHeads}) must divide head_count (${nHeads})`);
  const headDim = hiddenSize / nHeads;
  if (headDim % 2 !== 0) fail(key('attention.head_count'), `gives an odd head dim ${headDim}`);
  const ropeDims = ggufInt(meta, key('rope.dimension_count'), headDim);
  if (ropeDims !== headDim) fail(key('rope.dimension_count'), `is ${ropeDims}; Phi-3 rotates the whole head (${headDim})`);

  const embed = tensor('token_embd.weight');
  if (embed === undefined) {
    throw new ConfigError(`${label}: no token_embd.weight tensor (a vocab-only GGUF holds a tokenizer, not a model)`);
  }
  const nLayers = positiveInt(key('block_count'));
  // Every layer has tensors; a count beyond the tensors in the file is corrupt (and would drive huge loops).
  if (nLayers > header.tensors.length) fail(key('block_count'), `(${nLayers}) exceeds the ${header.tensors.length} tensors in the file`);
  const contextLength = positiveInt(key('context_length'));
  const slidingWindow = ggufInt(meta, key('attention.sliding_window'), 0);
  const id = (k: string) => (meta.has(`tokenizer.ggml.${k}`) ? ggufInt(meta, `tokenizer.ggml.${k}`) : null);
  const eos = id('eos_token_id');

  return {
    kind: 'phi3',
    vocabSize: embed.shape[0],
    hiddenSize,
    nLayers,
    nHeads,
    nKvHeads,
    headDim,
    maxPositionEmbeddings: contextLength,
    bosTokenId: id('bos_token_id'),
    eosTokenIds: eos === null ? [] : [eos],
    padTokenId: id('padding_token_id'),
    intermediateSize: positiveInt(key('feed_forward_length')),
    originalMaxPositionEmbeddings: positiveInt(key('rope.scaling.original_context_length'), contextLength),
    ropeTheta: f32ToShortestDecimal(ggufFloat(meta, key('rope.freq_base'), 10000)),
    ropeScaling: longRopeFactors(header, label, headDim, read),
    rmsNormEps: f32ToShortestDecimal(ggufFloat(meta, key('attention.layer_norm_rms_epsilon'))),
    // convert_hf_to_gguf.py writes 0 when HF's sliding_window is None.
    slidingWindow: slidingWindow > 0 ? slidingWindow : null,
    tieWordEmbeddings: tensor('output.weight') === undefined,
  };
}

/** LongRoPE factors from the rope_factors_long/short tensors (both or neither), each [Dh/2]. */
function longRopeFactors(header: GgufHeader, label: string, headDim: number, read: GgufTensorReader): Phi3Config['ropeScaling'] {
  const long = header.tensors.find((t) => t.name === ROPE_FACTORS_LONG);
  const short = header.tensors.find((t) => t.name === ROPE_FACTORS_SHORT);
  if (long === undefined && short === undefined) return null;
  if (long === undefined || short === undefined) {
    throw new ConfigError(`${label}: has only one of ${ROPE_FACTORS_LONG} and ${ROPE_FACTORS_SHORT}`);
  }
  for (const t of [long, short]) {
    if (t.nElements !== headDim / 2) throw new ConfigError(`${label}: ${t.name} has ${t.nElements} values, expected ${headDim / 2}`);
  }
  // Factors were f32 in the file; restore the decimals HF's config.json held (see f32ToShortestDecimal).
  const factors = (t: GgufTensorInfo) => Float64Array.from(read(t), f32ToShortestDecimal);
  return { longFactor: factors(long), shortFactor: factors(short) };
}
