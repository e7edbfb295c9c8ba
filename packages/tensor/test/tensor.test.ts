import { describe, expect, it } from 'vitest';
import { ShapeError } from '../src/errors.ts';
import { reshape, sliceRows, tensor, zeros } from '../src/tensor.ts';
import { assertShape, numel } from '../src/shape.ts';

describe('Tensor and shape helpers', () => {
  it('wraps data with a shape, reshapes and slices rows as views', () => {
    const t = tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    const r = reshape(t, [2, 3]);
    expect(r.shape).toEqual([2, 3]);
    expect(r.data).toBe(t.data);
    const s = sliceRows(t, 1, 3);
    expect(s.shape).toEqual([2, 2]);
    expect(Array.from(s.data)).toEqual([3, 4, 5, 6]);
    s.data[0] = 9;
    expect(t.data[2]).toBe(9); // a view, not a copy
    expect(zeros([2, 0, 3]).data.length).toBe(0);
    expect(numel([])).toBe(1);
  });

  it('throws ShapeError on mismatches', () => {
    expect(() => tensor(new Float32Array(5), [2, 3])).toThrow(ShapeError);
    expect(() => tensor(new Float32Array(0), [-1])).toThrow(ShapeError);
    expect(() => reshape(zeros([6]), [4])).toThrow(ShapeError);
    expect(() => sliceRows(zeros([3, 2]), 2, 4)).toThrow(ShapeError);
    expect(() => assertShape([2, 3], [2, 4], 'x')).toThrow(/x: expected shape \[2, 4\], got \[2, 3\]/);
    expect(() => assertShape([2, 3], [2, 3], 'x')).not.toThrow();
  });
});
