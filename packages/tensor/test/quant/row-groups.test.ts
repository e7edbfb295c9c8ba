// Row-group storage (the layout the wasm kernels read) against the GGUF rows it came from.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { denseMatrix, dequantizeMatrix, matrixRowInto, quantizeMatrix } from '../../src/matrix.ts';
import { linearInto, linearRefInto } from '../../src/ops/linear.ts';
import { paddedRows, rowGroupBytes, rowGroupRowInto, toRowGroupsInto } from '../../src/quant/row-groups.ts';
import { PROP, randomArray } from '../helpers.ts';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

describe.each(['q8_0', 'q4_0'] as const)('%s row groups', (format) => {
  test.prop([fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 4 }), seed], PROP)(
    'keep every row: rowGroupRowInto gives back the GGUF bytes, padding rows are zero', (rows, blocks, s) => {
      const cols = 32 * blocks;
      const w = quantizeMatrix(denseMatrix(randomArray(rows * cols, s), rows, cols), format);
      const grouped = new Uint8Array(rowGroupBytes(format, rows, cols)).fill(0xaa);
      toRowGroupsInto(grouped, w.data, format, rows, cols);
      const rowBytes = w.data.byteLength / rows;
      const row = new Uint8Array(rowBytes);
      for (let r = 0; r < paddedRows(rows); r++) {
        rowGroupRowInto(row, grouped, format, cols, r);
        if (r < rows) expect(row).toEqual(w.data.subarray(r * rowBytes, (r + 1) * rowBytes));
        else expect(row.every((byte) => byte === 0)).toBe(true);
      }
      const placed = { ...w, data: grouped, layout: 'row-groups' as const };
      expect(dequantizeMatrix(placed)).toEqual(dequantizeMatrix(w));
      // the TypeScript kernels still run such a matrix (the fallback when wasm has no scratch room)
      const T = 1 + (s % 5);
      const x = randomArray(T * cols, s + 1);
      const got = new Float32Array(T * rows);
      const want = new Float32Array(T * rows);
      linearInto(got, x, placed, T);
      linearRefInto(want, x, w, T);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i])));
    });

  it('puts a group\'s four scales first, then each row\'s codes', () => {
    const w = quantizeMatrix(denseMatrix(randomArray(4 * 32, 3), 4, 32), format);
    const grouped = new Uint8Array(rowGroupBytes(format, 4, 32));
    toRowGroupsInto(grouped, w.data, format, 4, 32);
    const block = w.data.byteLength / 4;
    for (let r = 0; r < 4; r++) {
      expect([...grouped.subarray(2 * r, 2 * r + 2)]).toEqual([...w.data.subarray(r * block, r * block + 2)]);
      expect(grouped.subarray(8 + (block - 2) * r, 8 + (block - 2) * (r + 1))).toEqual(w.data.subarray(r * block + 2, (r + 1) * block));
    }
  });

  it('refuses Inf/NaN scales and wrong sizes with a ShapeError', () => {
    const w = quantizeMatrix(denseMatrix(randomArray(2 * 32, 4), 2, 32), format);
    const bad = w.data.slice();
    bad[1] = 0x7c; // f16 exponent all ones: Inf
    bad[0] = 0;
    const target = new Uint8Array(rowGroupBytes(format, 2, 32));
    expect(() => toRowGroupsInto(target, bad, format, 2, 32)).toThrow(/Inf\/NaN scale/);
    expect(() => toRowGroupsInto(target, w.data.subarray(1), format, 2, 32)).toThrow(ShapeError);
    expect(() => toRowGroupsInto(target.subarray(1), w.data, format, 2, 32)).toThrow(ShapeError);
    const out = new Float32Array(32);
    expect(() => matrixRowInto(out, { ...w, data: target, layout: 'row-groups' }, 2)).toThrow(ShapeError); // row out of range
  });
});
