/**
 * LongRoPE ("su" scaling) for Phi-3 mini-128k / 3.5-mini (HF modeling_phi3.py v4.47.1,
 * `Phi3LongRoPEScaledRotaryEmbedding`): per-dimension short/long factors divide the inverse
 * frequencies, and cos/sin are multiplied by a constant attention factor.
 */
import type { LongRopeScaling } from '../config.ts';
import { inverseFrequencies, type RopeParams } from './rope.ts';

/**
 * The cos/sin multiplier sqrt(1 + ln(s) / ln(originalMax)), s = maxPositions / originalMax; 1 when s <= 1.
 * It does not depend on the current length: short sequences get it too.
 */
export function longRopeAttentionFactor(maxPositionEmbeddings: number, originalMaxPositionEmbeddings: number): number {
  const s = maxPositionEmbeddings / originalMaxPositionEmbeddings;
  return s <= 1 ? 1 : Math.sqrt(1 + Math.log(s) / Math.log(originalMaxPositionEmbeddings));
}

/**
 * Phi-3's switch rule: long factors iff the forward sees more than `originalMax` positions
 * (T = cached + new = last position + 1; exactly originalMax stays short). The choice applies to the
 * tokens of this forward only; cached keys keep their rotation (hence the session's cache rebuild).
 */
export function phi3LongRopeParams(
  scaling: LongRopeScaling, headDim: number, base: number, maxPositionEmbeddings: number, originalMax: number,
): (totalLength: number) => RopeParams {
  const scale = longRopeAttentionFactor(maxPositionEmbeddings, originalMax);
  const short: RopeParams = { invFreq: inverseFrequencies(headDim, base, scaling.shortFactor), scale };
  const long: RopeParams = { invFreq: inverseFrequencies(headDim, base, scaling.longFactor), scale };
  return (totalLength) => (totalLength > originalMax ? long : short);
}
