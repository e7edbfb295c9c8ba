// Q4_0 (ggml `block_q4_0`): 32 elements per block = f16 scale d, then 16 bytes of nibbles;
// byte j holds element j in its low nibble and element j+16 in its high nibble; value = (q − 8) · d.
// 18 bytes per block, as in GGUF files.
import { f16ToF32, f32ToF16 } from '../dtype.ts';
import { packNibbles, quantizeBlockSymmetric } from './block-quantize.ts';
import { type BlockFormat, readU16, writeU16 } from './format.ts';

const QK = 32;
const HALF = QK / 2;
const BLOCK_BYTES = 2 + HALF;

const codes = new Uint8Array(QK); // one block's codes (scratch; kernels are synchronous)

/** ggml-quants.c `quantize_row_q4_0_ref`: symmetric, 16 levels (value = (q − 8) · d); d stored as f16. */
function quantizeRowInto(out: Uint8Array, outOffset: number, src: Float32Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = outOffset + b * BLOCK_BYTES;
    writeU16(out, o, f32ToF16(quantizeBlockSymmetric(codes, src, srcOffset + b * QK, QK, 16)));
    packNibbles(out, o + 2, codes);
  }
}

function dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * BLOCK_BYTES;
    const d = f16ToF32(readU16(src, o));
    const y = outOffset + b * QK;
    for (let j = 0; j < HALF; j++) {
      const byte = src[o + 2 + j];
      out[y + j] = ((byte & 0x0f) - 8) * d;
      out[y + HALF + j] = ((byte >> 4) - 8) * d;
    }
  }
}

function dotRow(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  let acc = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK; b++, o += BLOCK_BYTES, xi += QK) {
    const d = f16ToF32(src[o] | (src[o + 1] << 8));
    let s = 0; // Σ (q − 8)·x for this block; the scale is applied once below
    for (let j = 0; j < HALF; j += 2) {
      const b0 = src[o + 2 + j];
      const b1 = src[o + 3 + j];
      s += ((b0 & 0x0f) - 8) * x[xi + j] + ((b0 >> 4) - 8) * x[xi + HALF + j]
         + ((b1 & 0x0f) - 8) * x[xi + j + 1] + ((b1 >> 4) - 8) * x[xi + HALF + j + 1];
    }
    acc += d * s;
  }
  return acc;
}

/**
 * Decode kernel: four rows per pass share each load of x[j] and x[j + 16]; per block, Σ (q − 8)·x
 * then one multiply by the scale.
 */
function matvecInto(y: Float32Array, src: Uint8Array, rows: number, cols: number, x: Float32Array, xOffset: number): void {
  const rowBytes = (cols / QK) * BLOCK_BYTES;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    let acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
    for (let o0 = r * rowBytes, xi = xOffset; xi < xOffset + cols; o0 += BLOCK_BYTES, xi += QK) {
      const o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes; // block b of rows r..r+3
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < HALF; j++) {
        const lo = x[xi + j];
        const hi = x[xi + HALF + j];
        const b0 = src[o0 + 2 + j], b1 = src[o1 + 2 + j], b2 = src[o2 + 2 + j], b3 = src[o3 + 2 + j];
        s0 += ((b0 & 0x0f) - 8) * lo + ((b0 >> 4) - 8) * hi;
        s1 += ((b1 & 0x0f) - 8) * lo + ((b1 >> 4) - 8) * hi;
        s2 += ((b2 & 0x0f) - 8) * lo + ((b2 >> 4) - 8) * hi;
        s3 += ((b3 & 0x0f) - 8) * lo + ((b3 >> 4) - 8) * hi;
      }
      acc0 += f16ToF32(src[o0] | (src[o0 + 1] << 8)) * s0;
      acc1 += f16ToF32(src[o1] | (src[o1 + 1] << 8)) * s1;
      acc2 += f16ToF32(src[o2] | (src[o2 + 1] << 8)) * s2;
      acc3 += f16ToF32(src[o3] | (src[o3 + 1] << 8)) * s3;
    }
    y[r] = acc0; y[r + 1] = acc1; y[r + 2] = acc2; y[r + 3] = acc3;
  }
  for (; r < rows; r++) y[r] = dotRow(src, r * rowBytes, x, xOffset, cols);
}

/** GGUF type Q4_0. */
export const Q4_0: BlockFormat = { name: 'q4_0', blockSize: QK, blockBytes: BLOCK_BYTES, quantizeRowInto, dequantizeRowInto, dotRow, matvecInto };
