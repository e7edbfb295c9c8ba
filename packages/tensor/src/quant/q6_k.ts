// Q6_K (ggml `block_q6_K`): 256 elements per super-block = 128 bytes `ql` (low 4 bits), 64 bytes
// `qh` (high 2 bits), 16 int8 sub-block scales (16 elements each), f16 d at the end.
// value = d·scale[s]·(q − 32) with q in 0..63. Each half of 128 elements uses 64 ql bytes and
// 32 qh bytes: for l < 32, elements l, l+32, l+64, l+96 take the low nibble of ql[l], the low
// nibble of ql[l+32], the high nibble of ql[l], the high nibble of ql[l+32], and bit pairs
// 0-1, 2-3, 4-5, 6-7 of qh[l]. 210 bytes per block.
import { f16ToF32 } from '../dtype.ts';
import { type BlockFormat, readU16 } from './format.ts';
import { QK_K } from './k-scales.ts';

const BLOCK_BYTES = QK_K / 2 + QK_K / 4 + QK_K / 16 + 2;
const QH = QK_K / 2; // byte offsets of qh, scales and d in the block
const SC = QH + QK_K / 4;
const D = SC + QK_K / 16;

const q = new Int8Array(QK_K); // scratch: one block's codes minus 32

/** Unpacks the 256 signed codes (q − 32) of the block at byte o (ggml-quants.c `dequantize_row_q6_K`). */
function unpackCodes(src: Uint8Array, o: number): void {
  for (let half = 0; half < 2; half++) {
    const ql = o + half * 64;
    const qh = o + QH + half * 32;
    const y = half * 128;
    for (let l = 0; l < 32; l++) {
      const h = src[qh + l];
      q[y + l] = ((src[ql + l] & 0x0f) | ((h & 3) << 4)) - 32;
      q[y + l + 32] = ((src[ql + l + 32] & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
      q[y + l + 64] = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
      q[y + l + 96] = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
    }
  }
}

/** The int8 scale of sub-block s (16 elements) of the block at byte o. */
function scale(src: Uint8Array, o: number, s: number): number {
  return (src[o + SC + s] << 24) >> 24;
}

function dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK_K; b++) {
    const o = srcOffset + b * BLOCK_BYTES;
    const d = f16ToF32(readU16(src, o + D));
    unpackCodes(src, o);
    const y = outOffset + b * QK_K;
    for (let s = 0; s < 16; s++) {
      const ds = d * scale(src, o, s); // exact in f32 (11 × 8 bits), as C's d * sc[is]
      for (let l = s * 16; l < s * 16 + 16; l++) out[y + l] = ds * q[l];
    }
  }
}

function dotRow(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  let acc = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK_K; b++, o += BLOCK_BYTES, xi += QK_K) {
    const d = f16ToF32(readU16(src, o + D));
    unpackCodes(src, o);
    let sum = 0; // Σ_s scale[s]·Σ q·x; d is applied once per block
    for (let s = 0; s < 16; s++) {
      let qx = 0;
      for (let l = s * 16; l < s * 16 + 16; l++) qx += q[l] * x[xi + l];
      sum += scale(src, o, s) * qx;
    }
    acc += d * sum;
  }
  return acc;
}

/** GGUF type Q6_K (read-only: files come quantized from llama.cpp). */
export const Q6_K: BlockFormat = { name: 'q6_k', blockSize: QK_K, blockBytes: BLOCK_BYTES, dequantizeRowInto, dotRow };
