// Shape and length checks used at the boundary of every public op (inner loops never assert).
import { ShapeError } from './errors.ts';

/** Number of elements of a shape (1 for the scalar shape `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws ShapeError unless `n` is a non-negative safe integer (a dimension or a count). */
export function assertDim(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new ShapeError(`${what}: expected a non-negative integer, got ${n}`);
}

/** Throws ShapeError unless `actual` equals `expected` element-wise. */
export function assertShape(actual: readonly number[], expected: readonly number[], what: string): void {
  if (actual.length === expected.length && actual.every((d, i) => d === expected[i])) return;
  throw new ShapeError(`${what}: expected shape [${expected.join(', ')}], got [${actual.join(', ')}]`);
}

/** Throws ShapeError unless `arr.length === n`. */
export function assertLength(arr: { readonly length: number }, n: number, what: string): void {
  if (arr.length !== n) throw new ShapeError(`${what}: expected length ${n}, got ${arr.length}`);
}

/**
 * Throws ShapeError unless `arr.length >= n`. Used for buffers that may be preallocated larger
 * than one call needs (a session's scratch sized for the longest prompt); only the first `n` are used.
 */
export function assertMinLength(arr: { readonly length: number }, n: number, what: string): void {
  if (arr.length < n) throw new ShapeError(`${what}: expected length >= ${n}, got ${arr.length}`);
}
