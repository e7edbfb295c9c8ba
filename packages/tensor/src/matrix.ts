// WeightMatrix: the one weight type model code multiplies by. A [rows = out, cols = in] matrix stored
// row-major either as dense f32 or as GGUF quantized blocks (kept byte-for-byte; never expanded).
import { ShapeError } from './errors.ts';
import { blockFormat, type QuantFormatName } from './quant/registry.ts';
import { rowGroupRowInto, type RowGroupFormat } from './quant/row-groups.ts';
import { assertDim, assertLength } from './shape.ts';

export type { QuantFormatName } from './quant/registry.ts';

/** Dense weights: data [rows, cols] f32 row-major (W stored [out, in] as HF checkpoints store it). */
export interface DenseMatrix {
  readonly format: 'f32';
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/**
 * Quantized weights: each row is cols / blockSize GGUF blocks, rows one after another
 * (data.length = rows · cols / blockSize · blockBytes), exactly the tensor bytes of a GGUF file —
 * unless `layout` is 'row-groups': Q8_0/Q4_0 placed for the wasm kernels, four rows interleaved
 * block by block (quant/row-groups.ts).
 */
export interface QuantizedMatrix {
  readonly format: QuantFormatName;
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
  /** How rows are stored; absent means 'rows' (GGUF order). */
  readonly layout?: 'rows' | 'row-groups';
}

/** A [rows = out features, cols = in features] weight matrix in any supported storage format. */
export type WeightMatrix = DenseMatrix | QuantizedMatrix;

/** Every storage format a WeightMatrix can have. */
export type MatrixFormat = WeightMatrix['format'];

/** Wraps dense f32 weights (not copied). @param data [rows, cols] f32 */
export function denseMatrix(data: Float32Array, rows: number, cols: number): DenseMatrix {
  assertDim(rows, 'denseMatrix rows');
  assertDim(cols, 'denseMatrix cols');
  assertLength(data, rows * cols, 'denseMatrix data');
  return { format: 'f32', rows, cols, data };
}

/** Bytes one row of `cols` elements takes in `format`; throws ShapeError if cols is not block-aligned. */
export function quantizedRowBytes(format: QuantFormatName, cols: number): number {
  const f = blockFormat(format);
  if (cols % f.blockSize !== 0) throw new ShapeError(`${format}: row length ${cols} is not a multiple of the block size ${f.blockSize}`);
  return (cols / f.blockSize) * f.blockBytes;
}

/** Wraps GGUF block bytes (not copied). @param data rows · quantizedRowBytes(format, cols) bytes */
export function quantizedMatrix(format: QuantFormatName, data: Uint8Array, rows: number, cols: number): QuantizedMatrix {
  assertDim(rows, `${format} matrix rows`);
  assertDim(cols, `${format} matrix cols`);
  assertLength(data, rows * quantizedRowBytes(format, cols), `${format} matrix bytes`);
  return { format, rows, cols, data };
}

/** Quantizes dense weights row by row with ggml's reference rounding. @param w [rows, cols] f32 */
export function quantizeMatrix(w: DenseMatrix, format: QuantFormatName): QuantizedMatrix {
  const f = blockFormat(format);
  if (!f.quantizeRowInto) throw new ShapeError(`${format}: quantization is not implemented (read-only format)`);
  const rowBytes = quantizedRowBytes(format, w.cols);
  const data = new Uint8Array(w.rows * rowBytes);
  for (let r = 0; r < w.rows; r++) f.quantizeRowInto(data, r * rowBytes, w.data, r * w.cols, w.cols);
  return { format, rows: w.rows, cols: w.cols, data };
}

/**
 * A matrix still where it is stored (a checkpoint file): its format and shape, and a reader of its bytes
 * in the order `data` has in a DenseMatrix (f32, little-endian) or a QuantizedMatrix in 'rows' layout.
 * WasmWeightArena.placeStored reads it piece by piece straight into wasm memory, so placing a model's
 * weights never holds a second copy of a tensor in ordinary memory.
 */
export interface StoredMatrix {
  readonly format: MatrixFormat;
  readonly rows: number;
  readonly cols: number;
  /** Fills `into` with the stored bytes [offset, offset + into.length) (throws past the end). */
  readBytes(into: Uint8Array, offset: number): void;
}

/** Bytes a [rows, cols] matrix takes stored in `format`; throws ShapeError for bad dims or unaligned rows. */
export function storedMatrixBytes(format: MatrixFormat, rows: number, cols: number): number {
  assertDim(rows, `${format} matrix rows`);
  assertDim(cols, `${format} matrix cols`);
  return format === 'f32' ? 4 * rows * cols : rows * quantizedRowBytes(format, cols);
}

/** An in-memory matrix in GGUF row order as a StoredMatrix reading its own data. */
export function storedInMemory(w: WeightMatrix): StoredMatrix {
  if (w.format !== 'f32' && w.layout === 'row-groups') throw new ShapeError(`${w.format} matrix in row groups: not in stored (row) order`);
  const bytes = new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength);
  return {
    format: w.format,
    rows: w.rows,
    cols: w.cols,
    readBytes(into, offset) {
      if (offset < 0 || offset + into.length > bytes.length) throw new ShapeError(`bytes [${offset}, ${offset + into.length}) past the ${bytes.length} of the matrix`);
      into.set(bytes.subarray(offset, offset + into.length));
    },
  };
}

/** A stored matrix read whole into ordinary memory (fresh arrays): the WeightMatrix it stands for, in row order. */
export function matrixFromStored(stored: StoredMatrix): WeightMatrix {
  const { format, rows, cols } = stored;
  const bytes = new Uint8Array(storedMatrixBytes(format, rows, cols));
  stored.readBytes(bytes, 0);
  return format === 'f32' ? denseMatrix(new Float32Array(bytes.buffer), rows, cols) : quantizedMatrix(format, bytes, rows, cols);
}

/**
 * Decodes row r of w.
 * @param out [cols] f32 (written)
 */
export function matrixRowInto(out: Float32Array, w: WeightMatrix, r: number): void {
  if (!Number.isInteger(r) || r < 0 || r >= w.rows) throw new ShapeError(`matrix row ${r} out of range [0, ${w.rows})`);
  assertLength(out, w.cols, 'matrixRowInto out');
  if (w.format === 'f32') {
    out.set(w.data.subarray(r * w.cols, (r + 1) * w.cols));
    return;
  }
  const rowBytes = quantizedRowBytes(w.format, w.cols);
  if (w.layout === 'row-groups') {
    const row = new Uint8Array(rowBytes); // the row's blocks gathered back into GGUF order
    rowGroupRowInto(row, w.data, w.format as RowGroupFormat, w.cols, r);
    blockFormat(w.format).dequantizeRowInto(out, 0, row, 0, w.cols);
    return;
  }
  blockFormat(w.format).dequantizeRowInto(out, 0, w.data, r * rowBytes, w.cols);
}

/**
 * Embedding lookup from a matrix of any format: out[t, :] = w[ids[t], :].
 * @param out [T, cols] f32 (written)
 * @param ids [T] row indices in [0, rows)
 */
export function gatherMatrixRowsInto(out: Float32Array, w: WeightMatrix, ids: ArrayLike<number>): void {
  assertLength(out, ids.length * w.cols, 'gatherMatrixRowsInto out');
  for (let t = 0; t < ids.length; t++) matrixRowInto(out.subarray(t * w.cols, (t + 1) * w.cols), w, ids[t]);
}

/** The whole matrix as dense f32 (tests, conversion; model code multiplies through linearInto instead). @returns [rows, cols] f32 */
export function dequantizeMatrix(w: WeightMatrix): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) matrixRowInto(out.subarray(r * w.cols, (r + 1) * w.cols), w, r);
  return out;
}

/** Bytes of weight data held (what a matvec streams). */
export function matrixBytes(w: WeightMatrix): number {
  return w.data.byteLength;
}
