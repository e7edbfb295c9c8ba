import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { f16ToF32, f32ToF16 } from '../../src/dtype.ts';
import { Q4_0 } from '../../src/quant/q4_0.ts';
import { PROP, dequantizeRow, quantizeRow, randomArray } from '../helpers.ts';

const quantize = (x: Float32Array): Uint8Array => quantizeRow(Q4_0, x);
const dequantize = (bytes: Uint8Array, n: number): Float32Array => dequantizeRow(Q4_0, bytes, n);

describe('Q4_0 block layout (ggml block_q4_0: f16 d, u8 qs[16])', () => {
  it('decodes a hand-built block: low nibbles are elements 0..15, high nibbles 16..31, value (q−8)·d', () => {
    const block = new Uint8Array(18);
    block[0] = 0x00; block[1] = 0x40; // d = 2.0
    block[2] = 0x1f; // element 0: q=15 -> 14; element 16: q=1 -> -14
    block[3] = 0x80; // element 1: q=0 -> -16; element 17: q=8 -> 0
    const y = dequantize(block, 32);
    expect([y[0], y[16], y[1], y[17], y[2], y[18]]).toEqual([14, -14, -16, 0, -16, -16]);
  });

  it('quantizes like quantize_row_q4_0_ref: d = max/−8 (signed max), q = min(15, trunc(x/d + 8.5))', () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => j - 16); // -16..15: max = -16, d = 2
    const b = quantize(x);
    expect(b[0] | (b[1] << 8)).toBe(f32ToF16(2));
    expect(b[2] & 0x0f).toBe(0); // x=-16 -> -8 + 8.5 = 0.5 -> 0
    expect(b[2] >> 4).toBe(8); // element 16: x=0 -> 8
    expect(b[2 + 1] >> 4).toBe(9); // element 17: x=1 -> 0.5 + 8.5 = 9
  });

  it('clamps the code on the side opposite the max to 15', () => {
    const x = new Float32Array(32);
    x[0] = 8; // max = 8, d = -1: code = trunc(-x + 8.5)
    x[1] = -8; // -> 16.5 -> clamped to 15, decodes to -7
    const y = dequantize(quantize(x), 32);
    expect(y[0]).toBe(8);
    expect(y[1]).toBe(-7);
    expect(Math.abs(y[2])).toBe(0); // (8 − 8)·(−1) = −0
  });

  test.prop([fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 1e-3, max: 1e3, noNaN: true })], PROP)(
    'dequantize(quantize(x)) is within half a step, except codes ggml clamps to 15', (blocks, seed, scale) => {
      const x = randomArray(blocks * 32, seed, scale);
      const y = dequantize(quantize(x), x.length);
      for (let b = 0; b < blocks; b++) {
        let max = 0;
        for (let j = 0; j < 32; j++) if (Math.abs(x[b * 32 + j]) > Math.abs(max)) max = x[b * 32 + j];
        const d = Math.fround(max / -8);
        const d16 = f16ToF32(f32ToF16(d));
        const slack = 8 * Math.abs(d - d16) + 2 ** -24 * Math.abs(max);
        for (let j = 0; j < 32; j++) {
          const v = x[b * 32 + j];
          // Codes 0..15 cover [-8d, 7d]; x/d above 7.5 is clamped to 7 (error up to one step).
          const err = Math.abs(y[b * 32 + j] - v);
          if (v / d <= 7.5) expect(err).toBeLessThanOrEqual(Math.abs(d) / 2 + slack);
          else expect(err).toBeLessThanOrEqual(Math.abs(v - 7 * d) + slack);
        }
      }
    });
});
