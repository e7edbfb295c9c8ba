// Q8_0 (ggml `block_q8_0`): 32 elements per block = f16 scale d, then 32 int8 codes q;
// value = q · d. 34 bytes per block, as in GGUF files.
import { f16ToF32, f32ToF16 } from '../dtype.ts';
import { type BlockFormat, readU16, writeU16 } from './format.ts';

const QK = 32;
const BLOCK_BYTES = 2 + QK;

/** Sign-extends a stored byte to int8. */
function int8(b: number): number {
  return (b << 24) >> 24;
}

/** ggml-quants.c `quantize_row_q8_0_ref`: d = amax/127 (f32), q = roundf(x · (1/d)); d stored as f16. */
function quantizeRowInto(out: Uint8Array, outOffset: number, src: Float32Array, srcOffset: number, n: number): void {
  const f = Math.fround;
  for (let b = 0; b < n / QK; b++) {
    const x0 = srcOffset + b * QK;
    const o = outOffset + b * BLOCK_BYTES;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x0 + j]));
    const d = f(amax / 127);
    const id = d !== 0 ? f(1 / d) : 0;
    writeU16(out, o, f32ToF16(d));
    for (let j = 0; j < QK; j++) {
      const v = f(src[x0 + j] * id);
      out[o + 2 + j] = Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // C roundf: half away from zero
    }
  }
}

function dequantizeRowInto(out: Float32Array, outOffset: number, src: Uint8Array, srcOffset: number, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = srcOffset + b * BLOCK_BYTES;
    const d = f16ToF32(readU16(src, o));
    for (let j = 0; j < QK; j++) out[outOffset + b * QK + j] = int8(src[o + 2 + j]) * d;
  }
}

function dotRow(src: Uint8Array, srcOffset: number, x: Float32Array, xOffset: number, n: number): number {
  let acc = 0;
  for (let b = 0, o = srcOffset, xi = xOffset; b < n / QK; b++, o += BLOCK_BYTES, xi += QK) {
    const d = f16ToF32(src[o] | (src[o + 1] << 8));
    let s = 0; // Σ q·x for this block; the scale is applied once below
    for (let j = 0; j < QK; j += 4) {
      const q = o + 2 + j;
      s += ((src[q] << 24) >> 24) * x[xi + j] + ((src[q + 1] << 24) >> 24) * x[xi + j + 1]
         + ((src[q + 2] << 24) >> 24) * x[xi + j + 2] + ((src[q + 3] << 24) >> 24) * x[xi + j + 3];
    }
    acc += d * s;
  }
  return acc;
}

/** GGUF type Q8_0. */
export const Q8_0: BlockFormat = { name: 'q8_0', blockSize: QK, blockBytes: BLOCK_BYTES, quantizeRowInto, dequantizeRowInto, dotRow };
