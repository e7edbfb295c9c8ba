import { describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.ts';
import {
  denseMatrix, dequantizeMatrix, gatherMatrixRowsInto, matrixBytes, matrixFromStored, matrixRowInto, quantizedMatrix, quantizedRowBytes, quantizeMatrix,
  storedInMemory,
} from '../src/matrix.ts';
import { randomArray } from './helpers.ts';

describe('WeightMatrix', () => {
  const data = randomArray(3 * 64, 11);
  const dense = denseMatrix(data, 3, 64);

  it('keeps GGUF block sizes: 34 bytes per 32 for q8_0, 18 for q4_0', () => {
    expect(quantizedRowBytes('q8_0', 64)).toBe(68);
    expect(quantizedRowBytes('q4_0', 64)).toBe(36);
    expect(matrixBytes(quantizeMatrix(dense, 'q8_0'))).toBe(3 * 68);
    expect(matrixBytes(quantizeMatrix(dense, 'q4_0'))).toBe(3 * 36);
    expect(matrixBytes(dense)).toBe(3 * 64 * 4);
  });

  it('quantizes row by row: each row equals quantizing that row alone', () => {
    const q = quantizeMatrix(dense, 'q8_0');
    const row1 = quantizeMatrix(denseMatrix(data.slice(64, 128), 1, 64), 'q8_0');
    expect(Array.from(q.data.subarray(68, 136))).toEqual(Array.from(row1.data));
  });

  it('decodes rows and gathers them as embeddings, in every format', () => {
    for (const w of [dense, quantizeMatrix(dense, 'q8_0'), quantizeMatrix(dense, 'q4_0')]) {
      const all = dequantizeMatrix(w);
      const row = new Float32Array(64);
      matrixRowInto(row, w, 2);
      expect(Array.from(row)).toEqual(Array.from(all.subarray(128, 192)));
      const out = new Float32Array(3 * 64);
      gatherMatrixRowsInto(out, w, [2, 0, 2]);
      expect(Array.from(out.subarray(0, 64))).toEqual(Array.from(row));
      expect(Array.from(out.subarray(64, 128))).toEqual(Array.from(all.subarray(0, 64)));
      expect(() => gatherMatrixRowsInto(new Float32Array(64), w, [3])).toThrow(ShapeError);
    }
    expect(Array.from(dequantizeMatrix(dense))).toEqual(Array.from(data));
  });

  it('rejects inconsistent sizes with ShapeError', () => {
    expect(() => denseMatrix(new Float32Array(5), 2, 3)).toThrow(ShapeError);
    expect(() => quantizedMatrix('q8_0', new Uint8Array(33), 1, 32)).toThrow(ShapeError);
    expect(() => quantizedMatrix('q4_0', new Uint8Array(18), 1, 33)).toThrow(ShapeError); // not block-aligned
    expect(() => quantizeMatrix(denseMatrix(new Float32Array(40), 1, 40), 'q8_0')).toThrow(ShapeError);
    expect(quantizedMatrix('q4_0', new Uint8Array(36), 2, 32).rows).toBe(2);
  });

  it('reads a stored matrix back whole: fresh arrays of the same format, shape and bytes', () => {
    for (const w of [dense, quantizeMatrix(dense, 'q4_0'), quantizeMatrix(dense, 'f16')]) {
      const back = matrixFromStored(storedInMemory(w));
      expect(back).toMatchObject({ format: w.format, rows: 3, cols: 64 });
      expect(back.data.constructor).toBe(w.data.constructor);
      expect(back.data).toEqual(w.data);
      expect(back.data.buffer).not.toBe(w.data.buffer);
    }
  });
});
