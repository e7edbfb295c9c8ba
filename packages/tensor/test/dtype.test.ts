import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { bf16ToF32, bf16ToF32Into, f16ToF32, f16ToF32Into, f32Bits, f32ToBf16, f32ToBf16Into, f32ToF16, f32ToF16Into } from '../src/dtype.ts';
import { ShapeError } from '../src/errors.ts';
import { PROP } from './helpers.ts';

/** f16 value of bits h from the IEEE definition, in plain arithmetic (independent of the bit tricks). */
function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Nearest f16 (ties to even) of a finite f32 value by search over the f16 grid: the spec of f32ToF16. */
function nearestF16(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65504 + half an ulp (16) rounds to inf
  let lo = 0;
  let hi = 0x7bff;
  while (lo < hi) { // largest positive pattern with value <= a
    const mid = (lo + hi + 1) >> 1;
    if (f16Value(mid) <= a) lo = mid; else hi = mid - 1;
  }
  const below = f16Value(lo);
  if (below === a) return sign | lo;
  const above = lo === 0x7bff ? 65536 : f16Value(lo + 1);
  const dl = a - below;
  const du = above - a;
  return sign | (dl < du || (dl === du && (lo & 1) === 0) ? lo : lo + 1);
}

describe('f16', () => {
  it('decodes all 65536 patterns as the IEEE definition says', () => {
    for (let h = 0; h < 65536; h++) {
      const v = f16ToF32(h);
      const want = f16Value(h);
      if (Number.isNaN(want)) expect(Number.isNaN(v)).toBe(true);
      else expect(Object.is(v, want)).toBe(true);
    }
  });

  it('round-trips every representable value (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const back = f32ToF16(f16ToF32(h));
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) expect(Number.isNaN(f16ToF32(back))).toBe(true);
      else expect(back).toBe(h);
    }
  });

  it('handles the edges: overflow to inf, subnormals, underflow to signed zero, ties to even', () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519.99)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(-1e9)).toBe(0xfc00);
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // exact tie between 0 and the smallest subnormal -> even (0)
    expect(f32ToF16(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 subnormal units -> even (2)
    expect(f32ToF16(-1e-10)).toBe(0x8000);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie -> even mantissa
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
  });

  test.prop([fc.float({ noNaN: true, noDefaultInfinity: true })], { ...PROP, numRuns: 2000 })(
    'f32 -> f16 is the nearest f16, ties to even', (x) => {
      expect(f32ToF16(x)).toBe(nearestF16(x));
    });

  it('array forms agree with the scalar ones and check lengths', () => {
    const bits = Uint16Array.from([0, 0x3c00, 0x8001, 0x7bff, 0xfc00]);
    const f = new Float32Array(5);
    f16ToF32Into(f, bits);
    expect(Array.from(f)).toEqual(Array.from(bits, f16ToF32));
    const back = new Uint16Array(5);
    f32ToF16Into(back, f);
    expect(Array.from(back)).toEqual(Array.from(bits));
    expect(() => f16ToF32Into(new Float32Array(4), bits)).toThrow(ShapeError);
  });
});

describe('bf16', () => {
  it('round-trips every representable value exactly (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const v = bf16ToF32(h);
      const isNaN = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (isNaN) {
        expect(Number.isNaN(v) && Number.isNaN(bf16ToF32(f32ToBf16(v)))).toBe(true);
      } else {
        expect(f32Bits(v)).toBe((h << 16) >>> 0); // exact: bf16 is the top half of the f32
        expect(f32ToBf16(v)).toBe(h);
      }
    }
  });

  it('the array decoder copies bit patterns, NaN payloads included', () => {
    const src = new Uint16Array(65536).map((_, h) => h);
    const out = new Float32Array(65536);
    bf16ToF32Into(out, src);
    const bits = new Uint32Array(out.buffer);
    for (let h = 0; h < 65536; h++) expect(bits[h]).toBe((h << 16) >>> 0);
  });

  test.prop([fc.float({ noNaN: true, noDefaultInfinity: true })], { ...PROP, numRuns: 2000 })('f32 -> bf16 rounds to nearest, ties to even', (x) => {
    const h = f32ToBf16(x);
    const lo = bf16ToF32((f32Bits(x) >>> 16) & 0xffff); // truncation toward zero
    // Next pattern away from zero; past the largest finite bf16 the IEEE rounding boundary is 2^128.
    const next = ((f32Bits(x) >>> 16) + 1) & 0xffff;
    const hi = (next & 0x7fff) === 0x7f80 ? Math.sign(x) * 2 ** 128 : bf16ToF32(next);
    const dLo = Math.abs(x - lo);
    const dHi = Math.abs(hi - x);
    const truncated = (f32Bits(x) >>> 16) & 0xffff;
    const want = dLo < dHi || (dLo === dHi && (truncated & 1) === 0) ? truncated : (truncated + 1) & 0xffff;
    expect(h).toBe(want);
  });

  it('decodes exactly and the array forms agree', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc000)).toBe(-2);
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0x0001)).toBe(2 ** -133); // smallest subnormal
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    expect(f32ToBf16(3.4028234663852886e38)).toBe(0x7f80); // above the largest bf16 + half an ulp
    const src = Uint16Array.from([0x3f80, 0xc000, 0x0001]);
    const out = new Float32Array(3);
    bf16ToF32Into(out, src);
    expect(Array.from(out)).toEqual([1, -2, 2 ** -133]);
    const back = new Uint16Array(3);
    f32ToBf16Into(back, out);
    expect(Array.from(back)).toEqual(Array.from(src));
  });
});
