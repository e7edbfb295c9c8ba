import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { f16ToF32, f32ToF16 } from '../../src/dtype.ts';
import { Q8_0 } from '../../src/quant/q8_0.ts';
import { PROP, dequantizeRow, quantizeRow, randomArray } from '../helpers.ts';

const quantize = (x: Float32Array): Uint8Array => quantizeRow(Q8_0, x);
const dequantize = (bytes: Uint8Array, n: number): Float32Array => dequantizeRow(Q8_0, bytes, n);

describe('Q8_0 block layout (ggml block_q8_0: f16 d, int8 qs[32])', () => {
  it('decodes a hand-built block: little-endian f16 scale, then signed bytes', () => {
    const block = new Uint8Array(34);
    block[0] = 0x00; block[1] = 0x40; // d = 2.0 (f16 0x4000)
    block.set([1, 0xff, 0x7f, 0x80], 2); // 1, -1, 127, -128
    const y = dequantize(block, 32);
    expect(Array.from(y.subarray(0, 5))).toEqual([2, -2, 254, -256, 0]);
  });

  it('quantizes like quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d)', () => {
    const x = Float32Array.from({ length: 32 }, (_, j) => j); // amax 31
    const b = quantize(x);
    const d = Math.fround(31 / 127);
    expect(b[0] | (b[1] << 8)).toBe(f32ToF16(d));
    expect(b[2]).toBe(0);
    expect(b[2 + 31]).toBe(127);
    expect(b[2 + 16]).toBe(66); // 16 · 127/31 = 65.55 -> 66
    const neg = quantize(Float32Array.from(x, (v) => -v));
    expect(neg[2 + 31]).toBe(0x81); // -127
    expect(neg[2 + 16]).toBe(256 - 66);
  });

  it('rounds exact halves away from zero (C roundf)', () => {
    const x = new Float32Array(32);
    x[0] = 127; // d = 1, id = 1
    x[1] = 2.5;
    x[2] = -2.5;
    const b = quantize(x);
    expect(b[3]).toBe(3);
    expect(b[4]).toBe(256 - 3);
  });

  it('an all-zero block has d = 0 and decodes to zeros', () => {
    const b = quantize(new Float32Array(64));
    expect(Array.from(b).every((v) => v === 0)).toBe(true);
    expect(Array.from(dequantize(b, 64)).every((v) => v === 0)).toBe(true);
  });

  test.prop([fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 1e-3, max: 1e3, noNaN: true })], PROP)(
    'dequantize(quantize(x)) is within half a step of x (step = the block scale)', (blocks, seed, scale) => {
      const x = randomArray(blocks * 32, seed, scale);
      const y = dequantize(quantize(x), x.length);
      for (let b = 0; b < blocks; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
        const d = Math.fround(amax / 127); // the f32 step the codes were rounded with
        const d16 = f16ToF32(f32ToF16(d)); // the stored step
        // Half a step, plus what storing the scale as f16 moves the largest code (127·|d − d16|),
        // plus the f32 rounding of the product.
        const bound = d / 2 + 127 * Math.abs(d - d16) + 2 ** -24 * amax;
        for (let j = 0; j < 32; j++) expect(Math.abs(y[b * 32 + j] - x[b * 32 + j])).toBeLessThanOrEqual(bound);
      }
    });
});
