// Instruction sequences shared by the K-quant kernels (k-quant-nibbles.ts, k-quant-q6.ts): the
// transpose-add of four sub-blocks' partial dots, unpacked 6-bit scales, and
// the activation pairs (quantize-x.ts) taken apart into d_x and 8·Σ codes lanes.
import { HIGH_64, LOW_64, pairSum, ZIP_HIGH_32, ZIP_LOW_32 } from './snippets.ts';

/** i8x16.shuffle lanes taking the f32 d_x / the i32 8·Σ codes out of four (d_x, sum) pairs in two vectors. */
export const PAIR_SCALES = '0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27';
export const PAIR_SUMS = '4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31';

/** Pushes [Σ a, Σ b, Σ c, Σ d] for the i32x4 locals $d0 … $d3 (the 4×4 transpose-add of quant-groups.ts). */
export const transposeAdd4 = `${pairSum('$d0', '$d1', ZIP_LOW_32, ZIP_HIGH_32)}
      local.set $sum01${pairSum('$d2', '$d3', ZIP_LOW_32, ZIP_HIGH_32)}
      local.set $d0${pairSum('$sum01', '$d0', LOW_64, HIGH_64)}`;

/** Pushes the four bytes of i32 local `word` as an i32x4 (unsigned). */
export const bytesToI32x4 = (word: string): string => `
      local.get ${word}
      i32x4.splat
      i16x8.extend_low_i8x16_u
      i32x4.extend_low_i16x8_u`;
