import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { abtInto, matmulInto, matmulRefInto, matvecInto, matvecRefInto } from '../../src/ops/matmul.ts';
import { transposeInto } from '../../src/ops/movement.ts';
import { F32_EPS, PROP, randomArray } from '../helpers.ts';

// Sizes straddle the 4-wide register tile and the 64-column cache block, and include 0 and 1.
const dim = fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 60, max: 70 }));
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/**
 * Blocked and naive sums differ only in summation order; both accumulate in double and round to f32
 * once, so |Δ| is bounded by one f32 rounding of each plus k·ulp of Σ|a||b| (the classic float32
 * bound, far looser than what double accumulation achieves).
 */
function expectWithinKUlp(got: Float32Array, want: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let absSum = 0;
      for (let p = 0; p < k; p++) absSum += Math.abs(a[i * k + p] * b[p * n + j]);
      const bound = (k + 2) * F32_EPS * absSum;
      expect(Math.abs(got[i * n + j] - want[i * n + j])).toBeLessThanOrEqual(bound);
    }
  }
}

describe('matmul', () => {
  test.prop([dim, dim, dim, seed], PROP)('blocked == naive within (k+2)·ulp·Σ|ab|', (m, k, n, s) => {
    const a = randomArray(m * k, s);
    const b = randomArray(k * n, s + 1);
    const want = new Float32Array(m * n);
    const got = new Float32Array(m * n).fill(NaN); // every entry must be written
    matmulRefInto(want, a, b, m, k, n);
    matmulInto(got, a, b, m, k, n);
    expectWithinKUlp(got, want, a, b, m, k, n);
  });

  it('computes a hand-checked product', () => {
    const out = new Float32Array(4);
    matmulInto(out, Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([7, 8, 9, 10, 11, 12]), 2, 3, 2);
    expect(Array.from(out)).toEqual([58, 64, 139, 154]);
  });

  it('an empty inner dimension gives zeros', () => {
    const out = new Float32Array(6).fill(7);
    matmulInto(out, new Float32Array(0), new Float32Array(0), 2, 0, 3);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('rejects inconsistent shapes with ShapeError', () => {
    expect(() => matmulInto(new Float32Array(4), new Float32Array(6), new Float32Array(5), 2, 3, 2)).toThrow(ShapeError);
    expect(() => matmulRefInto(new Float32Array(3), new Float32Array(6), new Float32Array(6), 2, 3, 2)).toThrow(ShapeError);
    expect(() => matmulInto(new Float32Array(0), new Float32Array(0), new Float32Array(0), -1, 0, 0)).toThrow(ShapeError);
    expect(() => matmulInto(new Float32Array(0), new Float32Array(0), new Float32Array(0), 1.5, 0, 0)).toThrow(ShapeError);
  });
});

describe('matvec (W stored [out, in])', () => {
  test.prop([dim, dim, seed], PROP)('fast == reference within (k+2)·ulp·Σ|wx|', (rows, cols, s) => {
    const w = randomArray(rows * cols, s);
    const x = randomArray(cols, s + 1);
    const want = new Float32Array(rows);
    const got = new Float32Array(rows).fill(NaN);
    matvecRefInto(want, w, x, rows, cols);
    matvecInto(got, w, x, rows, cols);
    // y = W·x is the matmul [rows, cols]·[cols, 1].
    expectWithinKUlp(got, want, w, x, rows, cols, 1);
  });

  test.prop([dim, dim, dim, seed], PROP)('abtInto(a, bᵀ) == matmul(a, b)', (m, k, n, s) => {
    const a = randomArray(m * k, s);
    const b = randomArray(k * n, s + 1);
    const bt = new Float32Array(n * k);
    transposeInto(bt, b, k, n);
    const want = new Float32Array(m * n);
    const got = new Float32Array(m * n);
    matmulRefInto(want, a, b, m, k, n);
    abtInto(got, a, bt, m, n, k);
    expectWithinKUlp(got, want, a, b, m, k, n);
  });

  it('abtInto writes through an out stride/offset and rejects short buffers', () => {
    const out = new Float32Array(2 * 5).fill(-1);
    abtInto(out, Float32Array.from([1, 2]), Float32Array.from([1, 0, 0, 1, 1, 1]), 1, 3, 2, 5, 6);
    expect(Array.from(out)).toEqual([-1, -1, -1, -1, -1, -1, 1, 2, 3, -1]);
    expect(() => abtInto(new Float32Array(8), Float32Array.from([1, 2]), new Float32Array(6), 1, 3, 2, 5, 6)).toThrow(ShapeError);
    expect(() => abtInto(new Float32Array(3), new Float32Array(1), new Float32Array(6), 1, 3, 2)).toThrow(ShapeError);
  });

  it('rejects a wrong x length with ShapeError', () => {
    expect(() => matvecInto(new Float32Array(2), new Float32Array(6), new Float32Array(2), 2, 3)).toThrow(ShapeError);
    expect(() => matvecRefInto(new Float32Array(3), new Float32Array(6), new Float32Array(3), 2, 3)).toThrow(ShapeError);
  });
});
