/**
 * Rotary position embeddings (rotate_half layout) at the model level: which inverse frequencies and
 * which cos/sin multiplier a forward uses, and per-forward cos/sin tables. The rotation itself is the
 * tensor kernel `applyRotaryInPlace`.
 */
import { applyRotaryInPlace, rotaryTablesInto } from '@phi3/tensor';

/**
 * inv_freq[j] = 1 / (factor[j] · base^(2j/rotDim)), computed in float32 as HF does
 * (`Phi3RotaryEmbedding.__init__` / `Phi3LongRoPEScaledRotaryEmbedding.forward` in modeling_phi3.py:
 * `1.0 / (ext_factors * base ** (arange(0, dim, 2).float() / dim))`, all float32 tensors).
 * @param rotDim  rotated features per head (even)
 * @param factors [rotDim/2] LongRoPE factors, or undefined for plain RoPE
 * @returns [rotDim/2] f32
 */
export function inverseFrequencies(rotDim: number, base: number, factors?: ArrayLike<number>): Float32Array {
  const half = rotDim / 2;
  const out = new Float32Array(half);
  const f32 = Math.fround;
  for (let j = 0; j < half; j++) {
    const exponent = f32((2 * j) / rotDim); // arange(...).float() / dim, in float32
    const power = f32(Math.pow(f32(base), exponent)); // base ** exponent, float32 pow
    const denom = factors === undefined ? power : f32(f32(factors[j]) * power);
    out[j] = f32(1 / denom);
  }
  return out;
}

/** The rotary parameters one forward uses (they may depend on the total length, see longrope.ts). */
export interface RopeParams {
  /** [rotDim/2] f32 inverse frequencies */
  readonly invFreq: Float32Array;
  /** cos/sin multiplier (LongRoPE attention factor / mscale; 1 for plain RoPE) */
  readonly scale: number;
}

/**
 * Plain RoPE, whatever the length: inv_freq = positionScale / base^(2j/Dh) and no cos/sin multiplier.
 * `positionScale` is Phi-3-small's `rope_position_scale` (angle = position · scale · inv_freq); 1 elsewhere.
 */
export function plainRopeParams(headDim: number, base: number, positionScale = 1): (totalLength: number) => RopeParams {
  const invFreq = inverseFrequencies(headDim, base);
  if (positionScale !== 1) for (let j = 0; j < invFreq.length; j++) invFreq[j] *= positionScale; // rounded to f32
  const plain: RopeParams = { invFreq, scale: 1 };
  return () => plain;
}

/** cos/sin tables for the T positions [pos0, pos0 + T) of one forward. */
export interface RotaryTables {
  readonly pos0: number;
  readonly T: number;
  /** [T, rotDim/2] f32 */
  readonly cos: Float32Array;
  /** [T, rotDim/2] f32 */
  readonly sin: Float32Array;
}

/**
 * Builds the tables for positions [pos0, pos0 + T).
 * @returns cos/sin [T, rotDim/2] f32, already multiplied by `params.scale`
 */
export function rotaryTables(params: RopeParams, pos0: number, T: number): RotaryTables {
  const half = params.invFreq.length;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  rotaryTablesInto(cos, sin, params.invFreq, pos0, T, params.scale);
  return { pos0, T, cos, sin };
}

/**
 * Memoizes the tables of the current forward so the L layers share one computation.
 * `paramsFor(totalLength)` picks the frequencies (LongRoPE switches on the total length).
 */
export function rotaryTableCache(paramsFor: (totalLength: number) => RopeParams): (pos0: number, T: number) => RotaryTables {
  let last: RotaryTables | null = null;
  return (pos0, T) => {
    if (last === null || last.pos0 !== pos0 || last.T !== T) last = rotaryTables(paramsFor(pos0 + T), pos0, T);
    return last;
  };
}

/**
 * Rotates q and k of T tokens in place with the tables of this forward.
 * @param x [T, nHeads, Dh] f32 (modified); rotDim defaults to Dh
 */
export function applyRotary(x: Float32Array, tables: RotaryTables, nHeads: number, headDim: number, rotDim = headDim): void {
  applyRotaryInPlace(x, tables.cos, tables.sin, tables.T, nHeads, headDim, rotDim);
}
