import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ShapeError } from '../../src/errors.ts';
import { argmax, logSoftmaxInto, logSumExpInto, softmaxInto, topK } from '../../src/ops/reduce.ts';
import { PROP, randomArray } from '../helpers.ts';

const shape = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 40 }));
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** The textbook softmax without the max shift (safe here: inputs are O(10)). */
function naiveSoftmax(x: Float32Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[r * cols + j]);
    for (let j = 0; j < cols; j++) out[r * cols + j] = Math.exp(x[r * cols + j]) / s;
  }
  return out;
}

describe('softmax', () => {
  test.prop([shape, seed], PROP)('matches the naive formula and each row sums to 1', ([rows, cols], s) => {
    const x = randomArray(rows * cols, s, 3);
    const out = new Float32Array(rows * cols);
    softmaxInto(out, x, rows, cols);
    const want = naiveSoftmax(x, rows, cols);
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - want[i])).toBeLessThanOrEqual(1e-7 * Math.max(want[i], 1e-3));
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += out[r * cols + j];
      expect(Math.abs(sum - 1)).toBeLessThanOrEqual(cols * 2 ** -24);
    }
  });

  test.prop([shape, seed, fc.double({ min: -1e4, max: 1e4, noNaN: true })], PROP)('is shift-invariant (and stable for huge logits)', ([rows, cols], s, c) => {
    const x = randomArray(rows * cols, s, 3);
    const shifted = x.map((v) => v + c);
    const a = new Float32Array(x.length);
    const b = new Float32Array(x.length);
    softmaxInto(a, x, rows, cols);
    softmaxInto(b, shifted, rows, cols);
    // Adding c to an f32 changes each logit by up to ulp(c): the bound follows from that rounding.
    const tol = 4 * 2 ** -24 * (Math.abs(c) + 10);
    for (let i = 0; i < a.length; i++) {
      expect(Number.isFinite(b[i])).toBe(true);
      expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * Math.max(a[i], 2 ** -20) + 1e-7);
    }
  });

  test.prop([shape, seed], PROP)('logSoftmax = log(softmax) and logSumExp = log Σ exp', ([rows, cols], s) => {
    const x = randomArray(rows * cols, s, 3);
    const ls = new Float32Array(x.length);
    logSoftmaxInto(ls, x, rows, cols);
    const want = naiveSoftmax(x, rows, cols);
    for (let i = 0; i < ls.length; i++) expect(Math.abs(ls[i] - Math.log(want[i]))).toBeLessThanOrEqual(1e-5);
    const lse = new Float32Array(rows);
    logSumExpInto(lse, x, rows, cols);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(x[r * cols + j]);
      expect(Math.abs(lse[r] - Math.log(sum))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('works in place, handles -inf entries and rejects bad shapes', () => {
    const x = Float32Array.from([0, -Infinity, 0]);
    softmaxInto(x, x, 1, 3);
    expect(Array.from(x)).toEqual([0.5, 0, 0.5]);
    expect(() => softmaxInto(new Float32Array(4), new Float32Array(6), 2, 3)).toThrow(ShapeError);
    expect(() => logSumExpInto(new Float32Array(1), new Float32Array(0), 1, 0)).toThrow(ShapeError);
  });
});

describe('argmax and topK', () => {
  // Values from a small integer set so ties are common.
  const tied = fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 50 }).map((a) => Float32Array.from(a));

  test.prop([tied], PROP)('argmax is the first maximal index', (x) => {
    const m = Math.max(...x);
    expect(argmax(x)).toBe(x.indexOf(m));
  });

  test.prop([tied, fc.nat()], PROP)('topK equals a stable sort by value descending, truncated to k', (x, kSeed) => {
    const k = kSeed % (x.length + 1);
    const order = Array.from(x.keys()).sort((a, b) => x[b] - x[a] || a - b).slice(0, k);
    const got = topK(x, k);
    expect(Array.from(got.indices)).toEqual(order);
    expect(Array.from(got.values)).toEqual(order.map((i) => x[i]));
  });

  it('treats NaN as smallest and rejects bad arguments', () => {
    const x = Float32Array.from([NaN, 1, NaN, 2]);
    expect(argmax(x)).toBe(3);
    expect(Array.from(topK(x, 2).indices)).toEqual([3, 1]);
    expect(() => argmax(new Float32Array(0))).toThrow(ShapeError);
    expect(() => topK(x, 5)).toThrow(ShapeError);
    expect(() => topK(x, -1)).toThrow(ShapeError);
  });
});
