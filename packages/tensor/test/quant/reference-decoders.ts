// Straightforward per-element decoders written from ggml's block structs (ggml-common.h), used as
// the spec the format modules are tested against. Each answers "what is element i of this block?"
// directly from the struct description, one element at a time, with no shared unpacking code.
import { bf16ToF32, f16ToF32 } from '../../src/dtype.ts';

const f16At = (b: Uint8Array, o: number) => f16ToF32(b[o] | (b[o + 1] << 8));
const u32At = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const i8At = (b: Uint8Array, o: number) => (b[o] > 127 ? b[o] - 256 : b[o]);
/** The 4-bit value of element i when byte k holds elements k (low nibble) and k + half (high nibble). */
const splitNibble = (b: Uint8Array, o: number, i: number, half: number) =>
  i < half ? b[o + i] & 15 : b[o + i - half] >> 4;

/** One reference decoder: element i (0 ≤ i < blockSize) of the block starting at byte o. */
type ElementDecoder = (b: Uint8Array, o: number, i: number) => number;

/**
 * K-quant 6-bit scale/min j (0..7) from the 12 packed bytes at o, per the `block_q4_K` comment:
 * "scales and mins, quantized with 6 bits". j < 4: low 6 bits of byte j (scale) / byte j+4 (min);
 * j ≥ 4: low nibble (scale) / high nibble (min) of byte j+4, plus 2 high bits from the top bits of
 * byte j−4 (scale) / byte j (min).
 */
function kScaleMin(b: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [b[o + j] % 64, b[o + j + 4] % 64];
  const scale = (b[o + j + 4] % 16) + 16 * Math.floor(b[o + j - 4] / 64);
  const min = Math.floor(b[o + j + 4] / 16) + 16 * Math.floor(b[o + j] / 64);
  return [scale, min];
}

/** ggml block layouts → element decoders (the value is rounded to f32 by the caller, as C stores it). */
export const REFERENCE_DECODERS: Record<string, { blockSize: number; blockBytes: number; element: ElementDecoder }> = {
  // block_q4_1 { ggml_half d; ggml_half m; uint8_t qs[16]; }: x = q·d + m
  q4_1: { blockSize: 32, blockBytes: 20, element: (b, o, i) => splitNibble(b, o + 4, i, 16) * f16At(b, o) + f16At(b, o + 2) },
  // block_q5_0 { ggml_half d; uint8_t qh[4]; uint8_t qs[16]; }: 5th bit of element i is bit i of qh; x = (q − 16)·d
  q5_0: {
    blockSize: 32,
    blockBytes: 22,
    element: (b, o, i) => (splitNibble(b, o + 6, i, 16) + 16 * ((u32At(b, o + 2) >>> i) & 1) - 16) * f16At(b, o),
  },
  // block_q5_1 { ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[16]; }: x = q·d + m
  q5_1: {
    blockSize: 32,
    blockBytes: 24,
    element: (b, o, i) => (splitNibble(b, o + 8, i, 16) + 16 * ((u32At(b, o + 4) >>> i) & 1)) * f16At(b, o) + f16At(b, o + 2),
  },
  // block_q4_K { ggml_half d, dmin; uint8_t scales[12]; uint8_t qs[128]; }: sub-block s = i/32;
  // qs byte 32·(s/2) + i%32, low nibble for even s, high for odd; x = d·sc[s]·q − dmin·m[s]
  q4_k: {
    blockSize: 256,
    blockBytes: 144,
    element: (b, o, i) => {
      const s = Math.floor(i / 32);
      const byte = b[o + 16 + 32 * Math.floor(s / 2) + (i % 32)];
      const q = s % 2 === 0 ? byte % 16 : Math.floor(byte / 16);
      const [sc, m] = kScaleMin(b, o + 4, s);
      return Math.fround(f16At(b, o) * sc) * q - Math.fround(f16At(b, o + 2) * m);
    },
  },
  // block_q5_K { ggml_half d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; }:
  // as q4_K, plus the 5th bit of element i = bit s of qh[i % 32]
  q5_k: {
    blockSize: 256,
    blockBytes: 176,
    element: (b, o, i) => {
      const s = Math.floor(i / 32);
      const byte = b[o + 48 + 32 * Math.floor(s / 2) + (i % 32)];
      const low = s % 2 === 0 ? byte % 16 : Math.floor(byte / 16);
      const q = low + 16 * (Math.floor(b[o + 16 + (i % 32)] / 2 ** s) % 2);
      const [sc, m] = kScaleMin(b, o + 4, s);
      return Math.fround(f16At(b, o) * sc) * q - Math.fround(f16At(b, o + 2) * m);
    },
  },
  // block_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d; }: element i lies in
  // half h = i/128, quarter k = (i%128)/32, lane l = i%32; low 4 bits from ql[64h + 32·(k%2) + l]
  // (low nibble for k < 2, else high), high 2 bits = bits 2k..2k+1 of qh[32h + l]; x = d·sc[i/16]·(q − 32)
  q6_k: {
    blockSize: 256,
    blockBytes: 210,
    element: (b, o, i) => {
      const h = Math.floor(i / 128), k = Math.floor((i % 128) / 32), l = i % 32;
      const lowByte = b[o + 64 * h + 32 * (k % 2) + l];
      const low = k < 2 ? lowByte % 16 : Math.floor(lowByte / 16);
      const high = Math.floor(b[o + 128 + 32 * h + l] / 4 ** k) % 4;
      return f16At(b, o + 208) * i8At(b, o + 192 + Math.floor(i / 16)) * (low + 16 * high - 32);
    },
  },
  f16: { blockSize: 1, blockBytes: 2, element: (b, o) => f16At(b, o) },
  bf16: { blockSize: 1, blockBytes: 2, element: (b, o) => bf16ToF32(b[o] | (b[o + 1] << 8)) },
};

/**
 * Decodes n elements of `format` with the reference decoder.
 * @returns [n] f32
 */
export function referenceDequantize(format: string, bytes: Uint8Array, n: number): Float32Array {
  const { blockSize, blockBytes, element } = REFERENCE_DECODERS[format];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = element(bytes, Math.floor(i / blockSize) * blockBytes, i % blockSize);
  }
  return out;
}
