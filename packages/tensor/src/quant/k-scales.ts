// The packed 6-bit sub-block scales and minimums shared by Q4_K and Q5_K (ggml-common.h
// `block_q4_K.scales[K_SCALE_SIZE = 12]`): 8 scales and 8 mins of 6 bits each in 12 bytes.
//   bytes 0..3:  scale[0..3] in bits 0..5; bits 6..7 are the top bits of scale[4..7]
//   bytes 4..7:  min[0..3]   in bits 0..5; bits 6..7 are the top bits of min[4..7]
//   bytes 8..11: low 4 bits of scale[4..7] (low nibble) and of min[4..7] (high nibble)

/** Elements per K-quant super-block (ggml QK_K) and per sub-block. */
export const QK_K = 256;
export const K_SUB = 32;

/**
 * Unpacks all 8 (scale, min) pairs of a Q4_K/Q5_K block (ggml-quants.c `get_scale_min_k4`).
 * @param scales [8] u8 (written), each 0..63
 * @param mins   [8] u8 (written), each 0..63
 * @param src    bytes; the 12 packed bytes start at o
 */
export function unpackScalesMinsK4(scales: Uint8Array, mins: Uint8Array, src: Uint8Array, o: number): void {
  for (let j = 0; j < 4; j++) {
    scales[j] = src[o + j] & 63;
    mins[j] = src[o + j + 4] & 63;
    scales[j + 4] = (src[o + j + 8] & 0x0f) | ((src[o + j] >> 6) << 4);
    mins[j + 4] = (src[o + j + 8] >> 4) | ((src[o + j + 4] >> 6) << 4);
  }
}
