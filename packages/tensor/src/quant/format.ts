// The contract every block-quantized weight format implements. A format module (q8_0.ts, q4_0.ts, ...)
// exports one `BlockFormat` and is listed once in registry.ts; matrices, linearInto and the GGUF loader
// dispatch through that table, so adding a format never touches them.

/**
 * A GGUF block layout: a row of n elements (n a multiple of `blockSize`) is stored as
 * n / blockSize consecutive blocks of `blockBytes` bytes, byte-for-byte as in a GGUF file.
 */
export interface BlockFormat {
  /** GGUF/ggml type name as users know it, e.g. 'q8_0'. */
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly blockBytes: number;
  /**
   * Decodes n elements.
   * @param out [n] f32 written at outOffset
   * @param src blocks starting at byte srcOffset (n / blockSize of them)
   */
  dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void;
  /**
   * Σ_i dequant(src)[i] · x[xOffset + i] over n elements, block by block without expanding the row:
   * each block's integer codes are dotted with x and the block scale is applied once.
   * @param src blocks starting at byte srcOffset
   * @param x   f32 activations, n read from xOffset
   */
  dotRow(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number;
  /**
   * Optional fast decode kernel, used by linearInto for short inputs (T < 4) when present:
   * y[r] = Σ_c dequant(W)[r, c] · x[xOffset + c] for every row of a [rows, cols] matrix stored in
   * `src` (rows back to back). Must agree with `dotRow` up to summation order.
   * @param y [rows] f32 (written)
   */
  matvecInto?(y: Float32Array, src: Uint8Array, rows: number, cols: number, x: Float32Array, xOffset: number): void;
  /**
   * Encodes n elements exactly as ggml's `quantize_row_<name>_ref` does. Optional: formats that are
   * only ever read from files need not implement it.
   * @param out blocks written from byte outOffset
   * @param src [n] f32 read from srcOffset
   */
  quantizeRowInto?(out: Uint8Array, outOffset: number, src: Float32Array, srcOffset: number, n: number): void;
}

/** Little-endian u16 at byte offset o (the f16 block scale of ggml's `block_q*` structs). */
export function readU16(bytes: Uint8Array, o: number): number {
  return bytes[o] | (bytes[o + 1] << 8);
}

/** Writes a little-endian u16 at byte offset o. */
export function writeU16(bytes: Uint8Array, o: number, v: number): void {
  bytes[o] = v & 0xff;
  bytes[o + 1] = (v >>> 8) & 0xff;
}

