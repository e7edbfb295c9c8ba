// The "row groups" storage of Q8_0 / Q4_0 matrices: the layout the WebAssembly kernels read, made once
// when a matrix is placed in wasm memory (wasm/arena.ts). GGUF stores rows one after another, so a
// kernel that computes four rows at once reads four streams a row apart, and every block needs its
// own f16 scale lookup. Here ROW_GROUP consecutive rows are interleaved block by block:
//
//   group g (rows 4g … 4g+3), block b, at byte (g · blocks + b) · groupBlockBytes:
//     [d(4g) d(4g+1) d(4g+2) d(4g+3)]      four f16 scales (8 bytes), loaded as one vector
//     [codes(4g)] … [codes(4g+3)]          each row's 32 int8 codes (Q8_0) or 16 nibble bytes (Q4_0)
//
// so a group is one sequential stream, and the four scales convert to f32 with one vector op.
// Same bytes as GGUF (4 · 34 for Q8_0, 4 · 18 for Q4_0 per group block); the last group is padded
// with zero rows when rows is not a multiple of 4 (they decode to zeros and are never returned).
// llama.cpp does the same kind of repacking for its CPU backends (its "q4_0_4x4"/"q4_0_8x8" types).
import { ShapeError } from '../errors.ts';

/** Rows per group. */
export const ROW_GROUP = 4;

/** Formats that can be stored in row groups: both are [f16 d][codes] blocks of 32 weights. */
export type RowGroupFormat = 'q8_0' | 'q4_0';

/** True for the formats stored in row groups when placed for the wasm kernels. */
export function isRowGroupFormat(format: string): format is RowGroupFormat {
  return format === 'q8_0' || format === 'q4_0';
}

/** Bytes of one block's codes (after its 2-byte f16 scale). */
export function codeBytes(format: RowGroupFormat): number {
  return format === 'q8_0' ? 32 : 16;
}

/** Bytes of one GGUF block (scale + codes). */
function blockBytes(format: RowGroupFormat): number {
  return 2 + codeBytes(format);
}

/** Bytes of one group block: four scales, then four rows' codes. */
export function groupBlockBytes(format: RowGroupFormat): number {
  return ROW_GROUP * blockBytes(format);
}

/** Rows rounded up to whole groups (the padded row count the kernels compute). */
export function paddedRows(rows: number): number {
  return Math.ceil(rows / ROW_GROUP) * ROW_GROUP;
}

/** Bytes of a [rows, cols] matrix in row groups. */
export function rowGroupBytes(format: RowGroupFormat, rows: number, cols: number): number {
  return (paddedRows(rows) / ROW_GROUP) * (cols / 32) * groupBlockBytes(format);
}

/** Byte offset, in row-group storage, of row r's f16 scale of block b (its codes are elsewhere, see codesOffset). */
function scaleOffset(format: RowGroupFormat, blocks: number, r: number, b: number): number {
  const g = Math.floor(r / ROW_GROUP);
  return (g * blocks + b) * groupBlockBytes(format) + 2 * (r % ROW_GROUP);
}

/** Byte offset, in row-group storage, of row r's codes of block b. */
function codesOffset(format: RowGroupFormat, blocks: number, r: number, b: number): number {
  const g = Math.floor(r / ROW_GROUP);
  return (g * blocks + b) * groupBlockBytes(format) + 2 * ROW_GROUP + codeBytes(format) * (r % ROW_GROUP);
}

/**
 * Rearranges GGUF rows into row groups.
 * @param target rowGroupBytes(format, rows, cols) bytes (written, padding zeroed)
 * @param gguf   rows · (cols / 32) GGUF blocks, row-major
 * @throws ShapeError when a block scale is Inf or NaN (the vector f16 conversion the kernels use maps
 *   those to finite values, so a corrupt scale is refused here rather than silently changed)
 */
export function toRowGroupsInto(target: Uint8Array, gguf: Uint8Array, format: RowGroupFormat, rows: number, cols: number): void {
  const blocks = cols / 32;
  const block = blockBytes(format);
  const codes = codeBytes(format);
  if (!Number.isInteger(blocks)) throw new ShapeError(`${format}: row length ${cols} is not a multiple of 32`);
  if (gguf.byteLength !== rows * blocks * block) throw new ShapeError(`${format} [${rows}, ${cols}]: expected ${rows * blocks * block} bytes, got ${gguf.byteLength}`);
  if (target.byteLength !== rowGroupBytes(format, rows, cols)) throw new ShapeError(`${format} row groups: target holds ${target.byteLength} bytes, expected ${rowGroupBytes(format, rows, cols)}`);
  assertFiniteScales(gguf, format, rows, cols);
  if (rows % ROW_GROUP !== 0) target.fill(0); // the padding rows stay zero
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const src = (r * blocks + b) * block;
      const s = scaleOffset(format, blocks, r, b);
      target[s] = gguf[src];
      target[s + 1] = gguf[src + 1];
      target.set(gguf.subarray(src + 2, src + 2 + codes), codesOffset(format, blocks, r, b));
    }
  }
}

/**
 * Throws ShapeError when a GGUF block scale is Inf or NaN (f16 exponent bits all ones): the vector f16
 * conversion of the row-group kernels would turn it into a finite value.
 * @param gguf     whole rows of a [rows, cols] matrix as GGUF blocks, from row `firstRow` on (all of them by default)
 */
export function assertFiniteScales(gguf: Uint8Array, format: RowGroupFormat, rows: number, cols: number, firstRow = 0): void {
  const block = blockBytes(format);
  for (let at = 1; at < gguf.byteLength; at += block) {
    if ((gguf[at] & 0x7c) === 0x7c) {
      const index = (at - 1) / block;
      const blocks = cols / 32;
      throw new ShapeError(`${format} [${rows}, ${cols}]: row ${firstRow + Math.floor(index / blocks)} block ${index % blocks} has an Inf/NaN scale`);
    }
  }
}

/**
 * Row r of a row-group matrix as GGUF block bytes (what the block codecs of this package decode).
 * @param out cols / 32 GGUF blocks (written)
 */
export function rowGroupRowInto(out: Uint8Array, data: Uint8Array, format: RowGroupFormat, cols: number, r: number): void {
  const blocks = cols / 32;
  const block = blockBytes(format);
  const codes = codeBytes(format);
  for (let b = 0; b < blocks; b++) {
    const s = scaleOffset(format, blocks, r, b);
    const c = codesOffset(format, blocks, r, b);
    out[b * block] = data[s];
    out[b * block + 1] = data[s + 1];
    out.set(data.subarray(c, c + codes), b * block + 2);
  }
}
