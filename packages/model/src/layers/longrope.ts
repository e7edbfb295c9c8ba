/**
 * LongRoPE ("su" scaling), the parts phi3, phi3_v, phimoe and phi3small share (HF modeling_phi3.py
 * v4.47.1 `Phi3LongRoPEScaledRotaryEmbedding`, modeling_rope_utils `_compute_longrope_parameters`,
 * phi3small positional_embedding.py): per-dimension short/long factors divide the inverse
 * frequencies, and cos/sin carry a multiplier. *When* each table applies, and with which multiplier,
 * differs per variant, so each variant file states its own switch rule on top of these tables.
 */
import type { LongRopeScaling } from '../config.ts';
import { inverseFrequencies } from './rope.ts';

/**
 * The cos/sin multiplier sqrt(1 + ln(s) / ln(originalMax)), s = maxPositions / originalMax; 1 when s <= 1
 * (HF Phi-3 `scaling_factor`, phi3small's fallback when no mscale is given). It does not depend on the
 * current length: short sequences get it too.
 */
export function longRopeAttentionFactor(maxPositionEmbeddings: number, originalMaxPositionEmbeddings: number): number {
  const s = maxPositionEmbeddings / originalMaxPositionEmbeddings;
  return s <= 1 ? 1 : Math.sqrt(1 + Math.log(s) / Math.log(originalMaxPositionEmbeddings));
}

/** Inverse frequencies of both LongRoPE tables. */
export interface LongRopeFrequencies {
  /** [Dh/2] f32: 1 / (short_factor[j] · base^(2j/Dh)) */
  readonly short: Float32Array;
  /** [Dh/2] f32: 1 / (long_factor[j] · base^(2j/Dh)) */
  readonly long: Float32Array;
}

/** Both tables' inverse frequencies, computed once per model. */
export function longRopeFrequencies(scaling: LongRopeScaling, headDim: number, base: number): LongRopeFrequencies {
  return {
    short: inverseFrequencies(headDim, base, scaling.shortFactor),
    long: inverseFrequencies(headDim, base, scaling.longFactor),
  };
}
