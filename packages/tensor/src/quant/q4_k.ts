// Q4_K (ggml `block_q4_K`): 256 elements per super-block = f16 d, f16 dmin, 12 bytes of 6-bit
// sub-block scales/mins (k-scales.ts), then 128 bytes of nibbles. Sub-block s (32 elements) uses
// scale sc[s] and min m[s]: value = d·sc[s]·q − dmin·m[s]. Each 64 elements share 32 bytes: the
// low nibbles are sub-block 2i, the high nibbles sub-block 2i+1. 144 bytes per block.
import { f16ToF32 } from '../dtype.ts';
import { type BlockFormat, readU16 } from './format.ts';
import { K_SUB, QK_K, unpackScalesMinsK4 } from './k-scales.ts';

const BLOCK_BYTES = 2 + 2 + 12 + QK_K / 2;
const QS = 16; // byte offset of qs in the block

const sc = new Uint8Array(8); // scratch: one block's unpacked scales and mins
const mn = new Uint8Array(8);

/** ggml-quants.c `dequantize_row_q4_K`; d·sc and dmin·m are f32 products as in C (exact here). */
function dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOffset + b * BLOCK_BYTES;
    const d = f16ToF32(readU16(src, o));
    const dmin = f16ToF32(readU16(src, o + 2));
    unpackScalesMinsK4(sc, mn, src, o + 4);
    let y = outOffset + b * QK_K;
    for (let i = 0; i < 4; i++) {
      const q = o + QS + i * K_SUB; // 32 bytes: sub-blocks 2i (low) and 2i+1 (high)
      const d1 = Math.fround(d * sc[2 * i]), m1 = Math.fround(dmin * mn[2 * i]);
      const d2 = Math.fround(d * sc[2 * i + 1]), m2 = Math.fround(dmin * mn[2 * i + 1]);
      for (let l = 0; l < K_SUB; l++) out[y + l] = d1 * (src[q + l] & 0x0f) - m1;
      for (let l = 0; l < K_SUB; l++) out[y + K_SUB + l] = d2 * (src[q + l] >> 4) - m2;
      y += 2 * K_SUB;
    }
  }
}

function dotRow(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  let acc = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK_K; b++, o += BLOCK_BYTES, xi += QK_K) {
    const d = f16ToF32(readU16(src, o));
    const dmin = f16ToF32(readU16(src, o + 2));
    unpackScalesMinsK4(sc, mn, src, o + 4);
    let sumScaled = 0; // Σ_s sc[s]·Σ q·x
    let sumMins = 0; // Σ_s m[s]·Σ x
    for (let i = 0; i < 4; i++) {
      const q = o + QS + i * K_SUB;
      const x1 = xi + 2 * i * K_SUB;
      const x2 = x1 + K_SUB;
      let qx1 = 0, qx2 = 0, s1 = 0, s2 = 0;
      for (let l = 0; l < K_SUB; l++) {
        const byte = src[q + l];
        qx1 += (byte & 0x0f) * x[x1 + l];
        qx2 += (byte >> 4) * x[x2 + l];
        s1 += x[x1 + l];
        s2 += x[x2 + l];
      }
      sumScaled += sc[2 * i] * qx1 + sc[2 * i + 1] * qx2;
      sumMins += mn[2 * i] * s1 + mn[2 * i + 1] * s2;
    }
    acc += d * sumScaled - dmin * sumMins;
  }
  return acc;
}

/** GGUF type Q4_K (read-only: files come quantized from llama.cpp). */
export const Q4_K: BlockFormat = { name: 'q4_k', blockSize: QK_K, blockBytes: BLOCK_BYTES, dequantizeRowInto, dotRow };
