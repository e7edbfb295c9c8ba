// Properties every registered format must have (formats added later are covered automatically).
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { QUANT_FORMATS, blockFormat, isQuantFormat } from '../../src/quant/registry.ts';
import { PROP, randomArray } from '../helpers.ts';

describe.each(Object.values(QUANT_FORMATS))('registered format $name', (format) => {
  test.prop([fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1e6 })], PROP)(
    'dotRow == dot of the dequantized row with x', (blocks, seed) => {
      const n = blocks * format.blockSize;
      const bytes = new Uint8Array(blocks * format.blockBytes);
      if (format.quantizeRowInto) format.quantizeRowInto(bytes, 0, randomArray(n, seed), 0, n);
      else for (let i = 0; i < bytes.length; i++) bytes[i] = (seed * 31 + i * 17) & 0xff;
      const x = randomArray(n, seed + 1);
      const w = new Float32Array(n);
      format.dequantizeRowInto(w, 0, bytes, 0, n);
      fc.pre(w.every(Number.isFinite)); // random bytes may spell an inf/NaN f16 scale
      let want = 0;
      let absSum = 0;
      for (let i = 0; i < n; i++) {
        want += w[i] * x[i];
        absSum += Math.abs(w[i] * x[i]);
      }
      // dequantizeRowInto rounds each weight to f32 once; dotRow may keep it in double.
      expect(Math.abs(format.dotRow(bytes, 0, x, 0, n) - want)).toBeLessThanOrEqual(2 ** -23 * absSum);
    });

  it('reads and writes at the given offsets only', () => {
    const n = format.blockSize;
    const bytes = new Uint8Array(3 * format.blockBytes);
    if (format.quantizeRowInto) {
      format.quantizeRowInto(bytes, format.blockBytes, randomArray(3 * n, 5), n, n);
      expect(bytes.subarray(0, format.blockBytes).every((v) => v === 0)).toBe(true);
      expect(bytes.subarray(2 * format.blockBytes).every((v) => v === 0)).toBe(true);
    }
    const out = new Float32Array(3 * n).fill(7);
    format.dequantizeRowInto(out, n, bytes, format.blockBytes, n);
    expect(out[0]).toBe(7);
    expect(out[2 * n]).toBe(7);
  });
});

describe('registry', () => {
  it('knows q8_0 and q4_0 and rejects unknown names', () => {
    expect(isQuantFormat('q8_0')).toBe(true);
    expect(isQuantFormat('q4_0')).toBe(true);
    expect(isQuantFormat('toString')).toBe(false);
    expect(() => blockFormat('q3_x')).toThrow(ShapeError);
  });
});
