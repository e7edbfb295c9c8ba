// A thin Tensor record: data plus a row-major shape. Views and reshapes only, no math; kernels take
// plain typed arrays and dimensions (see ops/).
import { ShapeError } from './errors.ts';
import { assertDim, numel } from './shape.ts';

/** Row-major f32 tensor. `data.length === numel(shape)`. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Wraps `data` (not copied) with `shape`; throws ShapeError if the element counts differ. */
export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  shape.forEach((d, i) => assertDim(d, `tensor shape[${i}]`));
  if (numel(shape) !== data.length) {
    throw new ShapeError(`tensor: shape [${shape.join(', ')}] needs ${numel(shape)} elements, data has ${data.length}`);
  }
  return { data, shape: [...shape] };
}

/** A new zero-filled tensor of `shape`. */
export function zeros(shape: readonly number[]): Tensor {
  shape.forEach((d, i) => assertDim(d, `zeros shape[${i}]`));
  return { data: new Float32Array(numel(shape)), shape: [...shape] };
}

/** Same data, new shape (a view; no copy). Throws ShapeError if element counts differ. */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  return tensor(t.data, shape);
}

/**
 * Rows `[start, end)` of the leading dimension as a view sharing `t.data`.
 * @param t [N, ...rest] f32
 * @returns [end - start, ...rest] f32 (view)
 */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  if (t.shape.length === 0) throw new ShapeError('sliceRows: scalar tensor has no rows');
  const n = t.shape[0];
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > n || start > end) {
    throw new ShapeError(`sliceRows: range [${start}, ${end}) out of bounds for ${n} rows`);
  }
  const rowSize = numel(t.shape.slice(1));
  return { data: t.data.subarray(start * rowSize, end * rowSize), shape: [end - start, ...t.shape.slice(1)] };
}
