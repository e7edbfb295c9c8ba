import { assertLength } from './shape.ts';

// Scalar dtype conversions between IEEE binary16 (f16), bfloat16 (bf16) and f32, done on bit patterns
// so that subnormals, ±0, ±inf and NaN come out right. 16-bit values are passed as their bit pattern
// (a number 0..65535, as stored in a Uint16Array).

/** Element dtypes the loaders know about. */
export type DType = 'f32' | 'f16' | 'bf16';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = { f32: 4, f16: 2, bf16: 2 };

// One shared 4-byte scratch to reinterpret f32 <-> u32 bits.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Bits of the f32 nearest to `x` (`x` is first rounded to f32). */
export function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/** The f32 value whose bit pattern is `bits` (u32). */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0];
}

/** bf16 bits -> f32 value. Exact: bf16 is the upper half of an f32. */
export function bf16ToF32(h: number): number {
  return f32FromBits((h & 0xffff) << 16);
}

/** f32 value -> bf16 bits, rounding to nearest, ties to even (NaN stays a quiet NaN). */
export function f32ToBf16(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x40; // NaN: keep sign/payload, force quiet
  // Adding 0x7fff plus the lowest kept bit rounds half to even; overflow carries into the exponent.
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** f16 bits -> f32 bits (exact: every f16 value is an f32 value). */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN
  if (exp !== 0) return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal f16 (mant * 2^-24): normalise so the leading 1 becomes the implicit bit.
  let e = -14 + 127;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

// All 65536 f16 values decoded once (256 KiB); quantized kernels read block scales through it.
const F16_TABLE = (() => {
  const bits = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) bits[h] = f16BitsToF32Bits(h);
  return new Float32Array(bits.buffer);
})();

/** f16 bits -> f32 value (exact; table lookup). */
export function f16ToF32(h: number): number {
  return F16_TABLE[h & 0xffff];
}

/** f32 value -> f16 bits, rounding to nearest, ties to even; overflow -> ±inf, underflow -> subnormal/±0. */
export function f32ToF16(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // inf / quiet NaN
  const e = exp - 127 + 15; // f16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    // Normal: drop 13 mantissa bits, round half to even; a carry may roll into the exponent (-> inf).
    const h = sign | (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    return rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h;
  }
  // Subnormal result: value = m * 2^(exp-150) with the implicit bit; in units of 2^-24 that is m >> (14 - e).
  const shift = 14 - e;
  if (shift > 24) return sign; // below half the smallest subnormal: rounds to ±0
  const m = mant | 0x800000;
  const q = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return sign | (rest > half || (rest === half && (q & 1) === 1) ? q + 1 : q);
}

/**
 * Decodes a run of bf16 values.
 * @param out [n] f32 (written)
 * @param src [n] bf16 bit patterns
 */
export function bf16ToF32Into(out: Float32Array, src: Uint16Array): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const n = out.length;
  assertLength(src, n, 'dtype conversion src');
  for (let i = 0; i < n; i++) bits[i] = src[i] << 16; // exact bit copy, NaN payloads kept
}

/**
 * Decodes a run of f16 values.
 * @param out [n] f32 (written)
 * @param src [n] f16 bit patterns
 */
export function f16ToF32Into(out: Float32Array, src: Uint16Array): void {
  const n = out.length;
  assertLength(src, n, 'dtype conversion src');
  for (let i = 0; i < n; i++) out[i] = F16_TABLE[src[i]];
}

/**
 * Encodes f32 values as f16 (round to nearest even).
 * @param out [n] f16 bit patterns (written)
 * @param src [n] f32
 */
export function f32ToF16Into(out: Uint16Array, src: Float32Array): void {
  const n = out.length;
  assertLength(src, n, 'dtype conversion src');
  for (let i = 0; i < n; i++) out[i] = f32ToF16(src[i]);
}

/**
 * Encodes f32 values as bf16 (round to nearest even).
 * @param out [n] bf16 bit patterns (written)
 * @param src [n] f32
 */
export function f32ToBf16Into(out: Uint16Array, src: Float32Array): void {
  const n = out.length;
  assertLength(src, n, 'dtype conversion src');
  for (let i = 0; i < n; i++) out[i] = f32ToBf16(src[i]);
}
