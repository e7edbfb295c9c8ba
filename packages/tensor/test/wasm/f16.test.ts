// f16_matmul (GGUF F16 weights; decode) and f16_panels (prefill: chunks widened into f32 panels for
// the f32 tiles) against the float64 product of the decoded weights.
import { afterAll, describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { denseMatrix, dequantizeMatrix, quantizeMatrix, type QuantizedMatrix } from '../../src/matrix.ts';
import { linearInto, linearRefInto } from '../../src/ops/linear.ts';
import { WasmWeightArena } from '../../src/wasm/arena.ts';
import { wasmLinearInto } from '../../src/wasm/linear.ts';
import { F32_EPS, PROP, randomArray } from '../helpers.ts';

const one = new WasmWeightArena({ maxBytesPerMemory: 64 * 1024 * 1024 });
const two = new WasmWeightArena({ threads: 2, maxBytesPerMemory: 64 * 1024 * 1024, parallelMinWork: 0 }); // split every product
afterAll(() => two.close());

/** Random f16 weights [rows, cols]; `tiny` puts many of them in the f16 subnormal range (< 2^-14). */
function f16Matrix(rows: number, cols: number, seed: number, tiny: boolean): QuantizedMatrix {
  return quantizeMatrix(denseMatrix(randomArray(rows * cols, seed, tiny ? 1e-4 : 1), rows, cols), 'f16');
}

describe('f16_matmul and f16_panels', () => {
  test.prop([
    fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 8 }), fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 63, max: 66 })),
    fc.boolean(), fc.integer({ min: 0, max: 10_000 }),
  ], { ...PROP, numRuns: 30 })('equal the float64 product of the decoded weights up to f32 summation (subnormals, 16-row chunks, decode and prefill tokens, threads)', (rows, steps, T, tiny, s) => {
    const cols = 16 * steps;
    const w = f16Matrix(rows, cols, s, tiny);
    const dense = dequantizeMatrix(w); // exact f16 → f32
    const x = randomArray(T * cols, s + 1);
    const got = new Float32Array(T * rows).fill(NaN);
    expect(wasmLinearInto(got, x, one.place(w), T)).toBe(true);
    for (let t = 0; t < T; t++) {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        let abs = 0;
        for (let c = 0; c < cols; c++) {
          sum += dense[r * cols + c] * x[t * cols + c];
          abs += Math.abs(dense[r * cols + c] * x[t * cols + c]);
        }
        expect(Math.abs(got[t * rows + r] - sum)).toBeLessThanOrEqual((cols + 8) * F32_EPS * abs + 1e-30);
      }
    }
    const threaded = new Float32Array(T * rows);
    expect(wasmLinearInto(threaded, x, two.place(w), T)).toBe(true);
    expect(threaded).toEqual(got); // rows split over a worker change no bit
  });

  it('leaves rows whose length is not a multiple of 16 to the TypeScript kernels (same results)', () => {
    const w = f16Matrix(5, 24, 3, false);
    const x = randomArray(24, 4);
    const placed = one.place(w);
    expect(wasmLinearInto(new Float32Array(5), x, placed, 1)).toBe(false);
    const got = new Float32Array(5);
    const want = new Float32Array(5);
    linearInto(got, x, placed, 1);
    linearRefInto(want, x, w, 1);
    for (let r = 0; r < 5; r++) expect(Math.abs(got[r] - want[r])).toBeLessThan(1e-5);
  });

  it.each([[0x7c00, 'Inf'], [0x7e00, 'NaN'], [0xfc00, '-Inf']])('refuses a matrix holding %s (%s) when it is placed', (bits) => {
    for (const at of [5, 49]) { // in the vector part (elements 0–47), and in the tail (48–50)
      const w = f16Matrix(3, 17, 5, false);
      const data = w.data.slice();
      data[2 * at] = bits & 0xff;
      data[2 * at + 1] = bits >> 8;
      expect(() => one.place({ ...w, data })).toThrow(ShapeError);
    }
  });
});
