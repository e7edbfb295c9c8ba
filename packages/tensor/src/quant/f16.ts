// F16 and BF16 weight rows as "formats" of one element per 2-byte block, so half-precision GGUF
// and safetensors weights stay half-size in memory and multiply through the same linearInto path
// as the block-quantized formats (each element is widened to f32 exactly as it is read).
import { f16ToF32, f32ToBf16, f32ToF16 } from '../dtype.ts';
import { type BlockFormat, readU16, writeU16 } from './format.ts';

// Scratch for widening a run of bf16 values: bf16 bits << 16 are the f32 bits (exact), written
// through a u32 view and read back as floats — much faster than one bit-cast call per element.
const CHUNK = 256;
const chunkBits = new Uint32Array(CHUNK);
const chunkF32 = new Float32Array(chunkBits.buffer);

/** Widens n ≤ CHUNK bf16 values at byte o into chunkF32. */
function widenBf16(src: Uint8Array, o: number, n: number): void {
  for (let i = 0; i < n; i++, o += 2) chunkBits[i] = (src[o] | (src[o + 1] << 8)) << 16;
}

function quantizeWith(encode: (x: number) => number): BlockFormat['quantizeRowInto'] {
  return (out, outOffset, src, srcOffset, n) => {
    for (let i = 0; i < n; i++) writeU16(out, outOffset + 2 * i, encode(src[srcOffset + i]));
  };
}

/** GGUF type F16 (IEEE binary16; decoded through dtype.ts's 64 Ki-entry table). */
export const F16: BlockFormat = {
  name: 'f16',
  blockSize: 1,
  blockBytes: 2,
  quantizeRowInto: quantizeWith(f32ToF16),
  dequantizeRowInto(out, outOffset, src, srcOffset, n) {
    for (let i = 0; i < n; i++) out[outOffset + i] = f16ToF32(readU16(src, srcOffset + 2 * i));
  },
  dotRow(src, srcOffset, x, xOffset, n) {
    let s = 0;
    for (let i = 0, o = srcOffset; i < n; i++, o += 2) s += f16ToF32(src[o] | (src[o + 1] << 8)) * x[xOffset + i];
    return s;
  },
};

/** GGUF type BF16 (bfloat16: the upper half of an f32). */
export const BF16: BlockFormat = {
  name: 'bf16',
  blockSize: 1,
  blockBytes: 2,
  quantizeRowInto: quantizeWith(f32ToBf16),
  dequantizeRowInto(out, outOffset, src, srcOffset, n) {
    for (let i0 = 0; i0 < n; i0 += CHUNK) {
      const m = Math.min(CHUNK, n - i0);
      widenBf16(src, srcOffset + 2 * i0, m);
      out.set(chunkF32.subarray(0, m), outOffset + i0);
    }
  },
  dotRow(src, srcOffset, x, xOffset, n) {
    let s = 0;
    for (let i0 = 0; i0 < n; i0 += CHUNK) {
      const m = Math.min(CHUNK, n - i0);
      widenBf16(src, srcOffset + 2 * i0, m);
      for (let i = 0; i < m; i++) s += chunkF32[i] * x[xOffset + i0 + i];
    }
    return s;
  },
};
