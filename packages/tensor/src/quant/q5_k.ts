// Q5_K (ggml `block_q5_K`): 256 elements per super-block = f16 d, f16 dmin, 12 bytes of 6-bit
// sub-block scales/mins (k-scales.ts), 32 bytes `qh` of 5th bits, 128 bytes of low nibbles.
// Layout as Q4_K (each 64 elements share 32 nibble bytes: low = sub-block 2i, high = 2i+1); the
// 5th bit of element l of sub-block s is bit s of qh[l]. value = d·sc[s]·q − dmin·m[s].
// 176 bytes per block.
import { f16ToF32 } from '../dtype.ts';
import { type BlockFormat, readU16 } from './format.ts';
import { K_SUB, QK_K, unpackScalesMinsK4 } from './k-scales.ts';

const BLOCK_BYTES = 2 + 2 + 12 + QK_K / 8 + QK_K / 2;
const QH = 16; // byte offsets of qh and qs in the block
const QS = QH + QK_K / 8;

const sc = new Uint8Array(8); // scratch: one block's unpacked scales and mins
const mn = new Uint8Array(8);

/** ggml-quants.c `dequantize_row_q5_K`. */
function dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOffset + b * BLOCK_BYTES;
    const d = f16ToF32(readU16(src, o));
    const dmin = f16ToF32(readU16(src, o + 2));
    unpackScalesMinsK4(sc, mn, src, o + 4);
    let y = outOffset + b * QK_K;
    for (let i = 0; i < 4; i++) {
      const q = o + QS + i * K_SUB;
      const s1 = 2 * i, s2 = 2 * i + 1; // sub-blocks; their 5th bits are bits s1, s2 of qh[l]
      const d1 = Math.fround(d * sc[s1]), m1 = Math.fround(dmin * mn[s1]);
      const d2 = Math.fround(d * sc[s2]), m2 = Math.fround(dmin * mn[s2]);
      for (let l = 0; l < K_SUB; l++) {
        const hi = src[o + QH + l];
        out[y + l] = d1 * ((src[q + l] & 0x0f) | (((hi >> s1) & 1) << 4)) - m1;
        out[y + K_SUB + l] = d2 * ((src[q + l] >> 4) | (((hi >> s2) & 1) << 4)) - m2;
      }
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
      const s1 = 2 * i, s2 = 2 * i + 1;
      const x1 = xi + s1 * K_SUB;
      const x2 = x1 + K_SUB;
      let qx1 = 0, qx2 = 0, t1 = 0, t2 = 0;
      for (let l = 0; l < K_SUB; l++) {
        const byte = src[q + l];
        const hi = src[o + QH + l];
        qx1 += ((byte & 0x0f) | (((hi >> s1) & 1) << 4)) * x[x1 + l];
        qx2 += ((byte >> 4) | (((hi >> s2) & 1) << 4)) * x[x2 + l];
        t1 += x[x1 + l];
        t2 += x[x2 + l];
      }
      sumScaled += sc[s1] * qx1 + sc[s2] * qx2;
      sumMins += mn[s1] * t1 + mn[s2] * t2;
    }
    acc += d * sumScaled - dmin * sumMins;
  }
  return acc;
}

/** GGUF type Q5_K (read-only: files come quantized from llama.cpp). */
export const Q5_K: BlockFormat = { name: 'q5_k', blockSize: QK_K, blockBytes: BLOCK_BYTES, dequantizeRowInto, dotRow };
