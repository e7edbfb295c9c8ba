import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { denseMatrix, dequantizeMatrix, quantizeMatrix, type WeightMatrix } from '../../src/matrix.ts';
import { linearInto, linearRefInto } from '../../src/ops/linear.ts';
import { matvecRefInto } from '../../src/ops/matmul.ts';
import { F32_EPS, PROP, randomArray } from '../helpers.ts';

const T = fc.integer({ min: 0, max: 6 });
const rows = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 63, max: 67 }));
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const formats = ['f32', 'q8_0', 'q4_0'] as const;

function makeMatrix(format: (typeof formats)[number], r: number, c: number, s: number): WeightMatrix {
  const dense = denseMatrix(randomArray(r * c, s), r, c);
  return format === 'f32' ? dense : quantizeMatrix(dense, format);
}

/** Σ_c |x[t, c] · w[r, c]| for the k·ulp error bound. */
function absDot(x: Float32Array, w: Float32Array, t: number, r: number, cols: number): number {
  let s = 0;
  for (let c = 0; c < cols; c++) s += Math.abs(x[t * cols + c] * w[r * cols + c]);
  return s;
}

describe.each(formats)('linearInto over %s weights', (format) => {
  test.prop([T, rows, fc.integer({ min: 0, max: 4 }), seed, fc.boolean()], PROP)(
    'equals matvec on the dequantized matrix, per token row, with and without bias', (t, r, blocks, s, withBias) => {
      const cols = format === 'f32' ? blocks * 7 + (s % 5) : blocks * 32; // f32: any width; quantized: block multiples
      const w = makeMatrix(format, r, cols, s);
      const x = randomArray(t * cols, s + 1);
      const bias = withBias ? randomArray(r, s + 2) : undefined;
      const got = new Float32Array(t * r).fill(NaN);
      linearInto(got, x, w, t, bias);
      const dense = dequantizeMatrix(w);
      for (let ti = 0; ti < t; ti++) {
        const want = new Float32Array(r);
        matvecRefInto(want, dense, x.subarray(ti * cols, (ti + 1) * cols), r, cols);
        for (let ri = 0; ri < r; ri++) {
          const b = bias ? bias[ri] : 0;
          const bound = (cols + 2) * F32_EPS * absDot(x, dense, ti, ri, cols) + 2 * F32_EPS * Math.abs(want[ri] + b);
          expect(Math.abs(got[ti * r + ri] - (want[ri] + b))).toBeLessThanOrEqual(bound);
        }
      }
    });

  it('agrees with linearRefInto and accepts preallocated buffers longer than T rows', () => {
    const w = makeMatrix(format, 5, 64, 3);
    const x = new Float32Array(4 * 64);
    x.set(randomArray(2 * 64, 4));
    const got = new Float32Array(4 * 5).fill(9);
    const want = new Float32Array(2 * 5);
    linearInto(got, x, w, 2);
    linearRefInto(want, x.subarray(0, 128), w, 2);
    for (let i = 0; i < 10; i++) expect(got[i]).toBeCloseTo(want[i], 4);
    expect(Array.from(got.subarray(10))).toEqual(new Array(10).fill(9)); // rows past T untouched
  });
});

describe('linearInto shape errors', () => {
  const w = denseMatrix(new Float32Array(6), 2, 3);
  it('throws ShapeError for short x, short out, wrong bias, bad T, and out overlapping x', () => {
    expect(() => linearInto(new Float32Array(2), new Float32Array(2), w, 1)).toThrow(ShapeError);
    expect(() => linearInto(new Float32Array(1), new Float32Array(3), w, 1)).toThrow(ShapeError);
    expect(() => linearInto(new Float32Array(2), new Float32Array(3), w, 1, new Float32Array(3))).toThrow(ShapeError);
    expect(() => linearInto(new Float32Array(2), new Float32Array(3), w, -1)).toThrow(ShapeError);
    const buf = new Float32Array(8);
    expect(() => linearInto(buf.subarray(2, 4), buf.subarray(0, 3), w, 1)).toThrow(ShapeError);
  });
});
