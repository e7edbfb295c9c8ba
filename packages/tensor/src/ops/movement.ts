// Data movement: transpose and embedding-row gather. No arithmetic.
import { ShapeError } from '../errors.ts';
import { assertDim, assertLength } from '../shape.ts';

/**
 * out = xᵀ.
 * @param out [cols, rows] f32 (written; must not alias x)
 * @param x   [rows, cols] f32
 */
export function transposeInto(out: Float32Array, x: Float32Array, rows: number, cols: number): void {
  assertDim(rows, 'transposeInto rows');
  assertDim(cols, 'transposeInto cols');
  assertLength(x, rows * cols, 'transposeInto x');
  assertLength(out, rows * cols, 'transposeInto out');
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  }
}

/**
 * Embedding lookup: out[t, :] = table[ids[t], :].
 * @param out   [T, D] f32 (written)
 * @param table [V, D] f32
 * @param ids   [T] integer row indices, each in [0, V)
 * @param D     row length (>= 1)
 */
export function gatherRowsInto(out: Float32Array, table: Float32Array, ids: ArrayLike<number>, D: number): void {
  if (!Number.isSafeInteger(D) || D < 1) throw new ShapeError(`gatherRowsInto: D must be a positive integer, got ${D}`);
  if (table.length % D !== 0) throw new ShapeError(`gatherRowsInto: table length ${table.length} is not a multiple of D=${D}`);
  const V = table.length / D;
  assertLength(out, ids.length * D, 'gatherRowsInto out');
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new ShapeError(`gatherRowsInto: id ${id} at position ${t} out of range [0, ${V})`);
    out.set(table.subarray(id * D, (id + 1) * D), t * D);
  }
}
