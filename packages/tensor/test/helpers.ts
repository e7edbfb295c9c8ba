// Shared test utilities: the fast-check settings, seeded random arrays, and error measures.
import { createRng, fillNormal } from '../src/random.ts';
import type { BlockFormat } from '../src/quant/format.ts';

/** Fixed seed so CI runs are reproducible. */
export const PROP = { seed: 20261129, numRuns: 60 };

/** n standard-normal f32 values from a seed (values ×scale). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  fillNormal(out, createRng(seed), scale);
  return out;
}

/** max_i |a[i] − b[i]| (0 for empty arrays). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Index of the first byte where a and b differ, -1 when they are equal (length included). For MB-sized
 * arrays, where `expect(a).toEqual(b)` compares element by element for seconds.
 */
export function firstByteDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Unit roundoff of float32. */
export const F32_EPS = 2 ** -24;

/** One row of x [n] f32 (n a multiple of the block size) encoded in `format`'s blocks. */
export function quantizeRow(format: BlockFormat, x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / format.blockSize) * format.blockBytes);
  format.quantizeRowInto!(out, 0, x, 0, x.length);
  return out;
}

/** The n f32 values stored in `bytes` (blocks of `format`). */
export function dequantizeRow(format: BlockFormat, bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  format.dequantizeRowInto(out, 0, bytes, 0, n);
  return out;
}
