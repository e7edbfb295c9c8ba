// Q4_1 (ggml `block_q4_1`): 32 elements per block = f16 scale d, f16 minimum m, then 16 bytes of
// nibbles; byte j holds element j in its low nibble and element j+16 in its high nibble;
// value = q · d + m. 20 bytes per block, as in GGUF files.
import { f16ToF32, f32ToF16 } from '../dtype.ts';
import { packNibbles, quantizeBlockWithMin } from './block-quantize.ts';
import { type BlockFormat, readU16, writeU16 } from './format.ts';

const QK = 32;
const HALF = QK / 2;
const BLOCK_BYTES = 4 + HALF;

const codes = new Uint8Array(QK); // one block's codes (scratch; kernels are synchronous)

/** ggml-quants.c `quantize_row_q4_1_ref`: 16 levels above the block minimum (value = q · d + m). */
function quantizeRowInto(out: Uint8Array, outOffset: number, src: Float32Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = outOffset + b * BLOCK_BYTES;
    const { d, min } = quantizeBlockWithMin(codes, src, srcOffset + b * QK, QK, 16);
    writeU16(out, o, f32ToF16(d));
    writeU16(out, o + 2, f32ToF16(min));
    packNibbles(out, o + 4, codes);
  }
}

function dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * BLOCK_BYTES;
    const d = f16ToF32(readU16(src, o));
    const m = f16ToF32(readU16(src, o + 2));
    const y = outOffset + b * QK;
    for (let j = 0; j < HALF; j++) {
      const byte = src[o + 4 + j];
      out[y + j] = (byte & 0x0f) * d + m;
      out[y + HALF + j] = (byte >> 4) * d + m;
    }
  }
}

function dotRow(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  let acc = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK; b++, o += BLOCK_BYTES, xi += QK) {
    const d = f16ToF32(readU16(src, o));
    const m = f16ToF32(readU16(src, o + 2));
    let sqx = 0; // Σ q·x
    let sx = 0; // Σ x, for the minimum term
    for (let j = 0; j < HALF; j++) {
      const byte = src[o + 4 + j];
      const xl = x[xi + j];
      const xh = x[xi + HALF + j];
      sqx += (byte & 0x0f) * xl + (byte >> 4) * xh;
      sx += xl + xh;
    }
    acc += d * sqx + m * sx;
  }
  return acc;
}

/** GGUF type Q4_1. */
export const Q4_1: BlockFormat = { name: 'q4_1', blockSize: QK, blockBytes: BLOCK_BYTES, quantizeRowInto, dequantizeRowInto, dotRow };
