// Bit helpers shared by the two 5-bit formats Q5_0 and Q5_1 (ggml `block_q5_0`/`block_q5_1`).
import { packNibbles } from './block-quantize.ts';

/** Little-endian u32 at byte offset o. */
export function readU32(bytes: Uint8Array, o: number): number {
  return (bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24)) >>> 0;
}

/** Writes a little-endian u32 at byte offset o. */
export function writeU32(bytes: Uint8Array, o: number, v: number): void {
  bytes[o] = v & 0xff;
  bytes[o + 1] = (v >>> 8) & 0xff;
  bytes[o + 2] = (v >>> 16) & 0xff;
  bytes[o + 3] = (v >>> 24) & 0xff;
}

/**
 * Unpacks the 32 five-bit codes of one block: low nibbles from `qs` (byte j holds elements j and
 * j+16), the 5th bit of element j from bit j of `qh` (ggml-quants.c `dequantize_row_q5_0`).
 * @param codes [32] u8 (written), each 0..31
 * @param qh    the block's u32 of high bits
 * @param qs    bytes; the 16 nibble bytes start at qsOffset
 */
export function fifthBitCodes(codes: Uint8Array, qh: number, qs: Uint8Array, qsOffset: number): void {
  for (let j = 0; j < 16; j++) {
    const byte = qs[qsOffset + j];
    codes[j] = (byte & 0x0f) | (((qh >>> j) & 1) << 4);
    codes[j + 16] = (byte >> 4) | (((qh >>> (j + 16)) & 1) << 4);
  }
}

/**
 * Packs 32 five-bit codes into one block, the inverse of `fifthBitCodes` (ggml-quants.c
 * `quantize_row_q5_0_ref`): low nibbles into the 16 bytes at qsOffset, 5th bits into the u32 at qhOffset.
 * @param codes [32] u8, each 0..31
 */
export function packFifthBitCodes(out: Uint8Array, qhOffset: number, qsOffset: number, codes: Uint8Array): void {
  packNibbles(out, qsOffset, codes);
  let qh = 0;
  for (let j = 0; j < 32; j++) qh |= (codes[j] >> 4) << j;
  writeU32(out, qhOffset, qh >>> 0);
}
