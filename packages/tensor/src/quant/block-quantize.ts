// The two ways ggml's legacy formats turn a block of 32 floats into integer codes, shared by the
// 4-bit and 5-bit variants (ggml-quants.c `quantize_row_q4_0_ref` … `quantize_row_q5_1_ref`), and the
// nibble packing they share. Arithmetic is rounded to f32 at each step, as the C code does.

const f = Math.fround;

/**
 * Symmetric (q4_0, q5_0): the signed value of largest magnitude (the first one on ties) maps to
 * code 0, so d = max / −(levels/2); code = min(levels − 1, trunc(x · (1/d) + levels/2 + 0.5)).
 * @param codes [n] u8 (written), each in [0, levels)
 * @param src   f32, n values read from `from`
 * @returns the scale d (f32; stored as f16 by the caller)
 */
export function quantizeBlockSymmetric(codes: Uint8Array, src: Float32Array, from: number, n: number, levels: number): number {
  let amax = 0;
  let max = 0;
  for (let j = from; j < from + n; j++) {
    if (amax < Math.abs(src[j])) {
      amax = Math.abs(src[j]);
      max = src[j];
    }
  }
  const d = f(max / -(levels / 2));
  const id = d !== 0 ? f(1 / d) : 0;
  const offset = levels / 2 + 0.5; // C: (int8_t)(x0 + 8.5f) for q4_0, 16.5f for q5_0
  for (let j = 0; j < n; j++) codes[j] = Math.min(levels - 1, Math.trunc(f(f(src[from + j] * id) + offset)));
  return d;
}

/**
 * With a minimum (q4_1, q5_1): d = (max − min) / (levels − 1), m = min;
 * code = min(levels − 1, trunc((x − min) · (1/d) + 0.5)) (the clamp only guards rounding).
 * @param codes [n] u8 (written), each in [0, levels)
 * @returns the scale d and the minimum m (f32; stored as f16 by the caller)
 */
export function quantizeBlockWithMin(codes: Uint8Array, src: Float32Array, from: number, n: number, levels: number): { d: number; min: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let j = from; j < from + n; j++) {
    min = Math.min(min, src[j]);
    max = Math.max(max, src[j]);
  }
  const d = f(f(max - min) / (levels - 1));
  const id = d !== 0 ? f(1 / d) : 0;
  for (let j = 0; j < n; j++) codes[j] = Math.min(levels - 1, Math.trunc(f(f(f(src[from + j] - min) * id) + 0.5)));
  return { d, min };
}

/**
 * Packs the low 4 bits of 32 codes into 16 bytes at `offset`: byte j holds code j in its low nibble
 * and code j + 16 in its high nibble (ggml `block_q4_0.qs`).
 */
export function packNibbles(out: Uint8Array, offset: number, codes: Uint8Array): void {
  for (let j = 0; j < 16; j++) out[offset + j] = (codes[j] & 0x0f) | ((codes[16 + j] & 0x0f) << 4);
}
