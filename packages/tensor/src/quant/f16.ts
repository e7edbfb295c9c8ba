// F16 and BF16 weight rows as "formats" of one element per 2-byte block, so half-precision GGUF
// and safetensors weights stay half-size in memory and multiply through the same linearInto path
// as the block-quantized formats (each element is widened to f32 exactly as it is read).
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../dtype.ts';
import { type BlockFormat, readU16, writeU16 } from './format.ts';

/** A 16-bit float format given its bits → f32 decoder and f32 → bits encoder (round to nearest even). */
function halfFormat(name: string, decode: (bits: number) => number, encode: (x: number) => number): BlockFormat {
  return {
    name,
    blockSize: 1,
    blockBytes: 2,
    quantizeRowInto(out, outOffset, src, srcOffset, n) {
      for (let i = 0; i < n; i++) writeU16(out, outOffset + 2 * i, encode(src[srcOffset + i]));
    },
    dequantizeRowInto(out, outOffset, src, srcOffset, n) {
      for (let i = 0; i < n; i++) out[outOffset + i] = decode(readU16(src, srcOffset + 2 * i));
    },
    dotRow(src, srcOffset, x, xOffset, n) {
      let s = 0;
      for (let i = 0, o = srcOffset; i < n; i++, o += 2) s += decode(src[o] | (src[o + 1] << 8)) * x[xOffset + i];
      return s;
    },
  };
}

/** GGUF type F16 (IEEE binary16). */
export const F16: BlockFormat = halfFormat('f16', f16ToF32, f32ToF16);
/** GGUF type BF16 (bfloat16: the upper half of an f32). */
export const BF16: BlockFormat = halfFormat('bf16', bf16ToF32, f32ToBf16);
