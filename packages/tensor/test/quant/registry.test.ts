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

describe.each(Object.values(QUANT_FORMATS).filter((f) => f.matvecInto))('decode kernel of $name', (format) => {
  test.prop([fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 })], PROP)(
    'matvecInto == dotRow per row (rows not a multiple of 4, x at an offset)', (rows, blocks, seed) => {
      const cols = blocks * format.blockSize;
      const rowBytes = blocks * format.blockBytes;
      const bytes = new Uint8Array(rows * rowBytes);
      if (format.quantizeRowInto) {
        const w = randomArray(rows * cols, seed);
        for (let r = 0; r < rows; r++) format.quantizeRowInto(bytes, r * rowBytes, w, r * cols, cols);
      } else for (let i = 0; i < bytes.length; i++) bytes[i] = (seed * 31 + i * 17) & 0xff;
      const x = randomArray(cols + 3, seed + 1);
      const y = new Float32Array(rows).fill(NaN);
      format.matvecInto!(y, bytes, rows, cols, x, 3);
      for (let r = 0; r < rows; r++) {
        const want = format.dotRow(bytes, r * rowBytes, x, 3, cols);
        if (Number.isFinite(want)) expect(Math.abs(y[r] - want)).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 1e-6);
        else expect(Number.isFinite(y[r])).toBe(false); // an inf/NaN scale from random bytes propagates alike
      }
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
