// Q5_1 (ggml `block_q5_1`): 32 elements per block = f16 scale d, f16 minimum m, a u32 `qh` of 5th
// bits (bit j for element j), then 16 bytes of low nibbles (byte j: element j low, element j+16
// high); value = q · d + m. 24 bytes per block, as in GGUF files.
import { f16ToF32, f32ToF16 } from '../dtype.ts';
import { quantizeBlockWithMin } from './block-quantize.ts';
import { type BlockFormat, readU16, writeU16 } from './format.ts';
import { fifthBitCodes, packFifthBitCodes, readU32 } from './q5-bits.ts';

const QK = 32;
const HALF = QK / 2;
const BLOCK_BYTES = 2 + 2 + 4 + HALF;

const q = new Uint8Array(QK); // one block's codes (scratch; kernels are synchronous)

/** ggml-quants.c `quantize_row_q5_1_ref`: 32 levels above the block minimum (value = q · d + m). */
function quantizeRowInto(out: Uint8Array, outOffset: number, src: Float32Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = outOffset + b * BLOCK_BYTES;
    const { d, min } = quantizeBlockWithMin(q, src, srcOffset + b * QK, QK, 32);
    writeU16(out, o, f32ToF16(d));
    writeU16(out, o + 2, f32ToF16(min));
    packFifthBitCodes(out, o + 4, o + 8, q);
  }
}

function dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * BLOCK_BYTES;
    const d = f16ToF32(readU16(src, o));
    const m = f16ToF32(readU16(src, o + 2));
    fifthBitCodes(q, readU32(src, o + 4), src, o + 8);
    const y = outOffset + b * QK;
    for (let j = 0; j < QK; j++) out[y + j] = q[j] * d + m;
  }
}

function dotRow(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  let acc = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK; b++, o += BLOCK_BYTES, xi += QK) {
    const d = f16ToF32(readU16(src, o));
    const m = f16ToF32(readU16(src, o + 2));
    fifthBitCodes(q, readU32(src, o + 4), src, o + 8);
    let sqx = 0; // Σ q·x
    let sx = 0; // Σ x, for the minimum term
    for (let j = 0; j < QK; j++) {
      sqx += q[j] * x[xi + j];
      sx += x[xi + j];
    }
    acc += d * sqx + m * sx;
  }
  return acc;
}

/** GGUF type Q5_1. */
export const Q5_1: BlockFormat = { name: 'q5_1', blockSize: QK, blockBytes: BLOCK_BYTES, quantizeRowInto, dequantizeRowInto, dotRow };
