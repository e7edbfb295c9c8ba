// Q5_0 (ggml `block_q5_0`): 32 elements per block = f16 scale d, a u32 `qh` holding the 5th bit of
// every element (bit j for element j), then 16 bytes of low nibbles (byte j: element j low, element
// j+16 high); value = (q − 16) · d. 22 bytes per block, as in GGUF files.
import { f16ToF32, f32ToF16 } from '../dtype.ts';
import { quantizeBlockSymmetric } from './block-quantize.ts';
import { type BlockFormat, readU16, writeU16 } from './format.ts';
import { fifthBitCodes, packFifthBitCodes, readU32 } from './q5-bits.ts';

const QK = 32;
const HALF = QK / 2;
const BLOCK_BYTES = 2 + 4 + HALF;

const q = new Uint8Array(QK); // one block's codes (scratch; kernels are synchronous)

/** ggml-quants.c `quantize_row_q5_0_ref`: symmetric like Q4_0, 32 levels (value = (q − 16) · d). */
function quantizeRowInto(out: Uint8Array, outOffset: number, src: Float32Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = outOffset + b * BLOCK_BYTES;
    writeU16(out, o, f32ToF16(quantizeBlockSymmetric(q, src, srcOffset + b * QK, QK, 32)));
    packFifthBitCodes(out, o + 2, o + 6, q);
  }
}

function dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * BLOCK_BYTES;
    const d = f16ToF32(readU16(src, o));
    fifthBitCodes(q, readU32(src, o + 2), src, o + 6);
    const y = outOffset + b * QK;
    for (let j = 0; j < QK; j++) out[y + j] = (q[j] - 16) * d;
  }
}

function dotRow(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  let acc = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK; b++, o += BLOCK_BYTES, xi += QK) {
    const d = f16ToF32(readU16(src, o));
    fifthBitCodes(q, readU32(src, o + 2), src, o + 6);
    let s = 0; // Σ (q − 16)·x for this block; the scale is applied once below
    for (let j = 0; j < QK; j++) s += (q[j] - 16) * x[xi + j];
    acc += d * s;
  }
  return acc;
}

/** GGUF type Q5_0. */
export const Q5_0: BlockFormat = { name: 'q5_0', blockSize: QK, blockBytes: BLOCK_BYTES, quantizeRowInto, dequantizeRowInto, dotRow };
